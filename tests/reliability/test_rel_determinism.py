"""Determinism: the same model and options give byte-identical Verilog, ROM files and reports.

The only fields allowed to differ between two builds are wall-clock times: ``times_s`` in
``report.json`` and the ``* <step>_s: ...`` lines of ``report.md`` (section "Tools and times").
"""

from __future__ import annotations

import json
import re

import pytest

from fpgac.flows.build import build
from fpgac.compiler.frontend import save_model
from fpgac.compiler.plan import plan_hardware
from fpgac.hw.emit import to_verilog
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model

#: report.json keys that hold wall-clock measurements (non-deterministic by nature)
TIMING_KEYS = {"times_s"}
_TIMING_LINE = re.compile(r"^\* \w+_s: [0-9.]+$")


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _normalise(name, data):
    if name == "report.json":
        report = json.loads(data)
        for key in TIMING_KEYS:
            report.pop(key, None)
        return json.dumps(report, sort_keys=True).encode()
    if name == "report.md":
        return b"\n".join(ln for ln in data.split(b"\n")
                          if not _TIMING_LINE.match(ln.decode()))
    return data


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4])
def test_emitted_verilog_is_byte_identical(seed):
    model = random_model(seed)
    a = to_verilog(plan_hardware(model, pes=3, pixel_lut=pixel_table(model)), name="fpgac_core")
    again = random_model(seed)
    b = to_verilog(plan_hardware(again, pes=3, pixel_lut=pixel_table(again)), name="fpgac_core")
    assert a == b
    assert "/" not in "".join(re.findall(r"\(\* src = \"([^\"]*)\"", a)), "machine paths"


@pytest.mark.slow
def test_build_outputs_are_byte_identical(tmp_path):
    model = random_model(4, legacy=True, max_conv_channels=2, max_linears=1)
    path = tmp_path / "m.fpgac.yml"
    save_model(model, path)
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        build(path, "icebreaker", pes=2, out_dir=out, pnr=False)
        outs.append(_files(out))
    a, b = outs
    assert sorted(a) == sorted(b)
    assert any(n.endswith(".v") for n in a) and "report.json" in a
    differ = [n for n in a if _normalise(n, a[n]) != _normalise(n, b[n])]
    assert differ == []
    # the timing fields really are the only thing set aside
    assert set(json.loads(a["report.json"])) - set(json.loads(_normalise(
        "report.json", a["report.json"]))) == TIMING_KEYS
