"""``fpgac ip``: AXI4-Stream and Wishbone wrappers of the core, their cocotb tests, lint, CLI.

The cocotb tests run are the ones ``fpgac ip`` writes into the IP directory (``run_test.py``),
on golden vectors, on Verilator and Icarus: AXI4-Stream (random backpressure on both sides,
images back to back, an early ``tlast``) and Wishbone through its register map.
A corrupted golden vector must make the shipped test fail.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fpgac.cli import main
from fpgac.compiler.frontend import save_model
from fpgac.compiler.plan import plan_hardware
from fpgac.ip.generate import write_ip
from fpgac.ip.runtest import run
from fpgac.ip.wishbone import REGISTERS, check_plan
from fpgac.errors import FpgacError
from fpgac.sim import tools
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model

WAIVERS = Path(__file__).resolve().parents[2] / "hw" / "lint.vlt"


def _model():
    return random_model(4, size=(6, 6), channels=(1, 1), n_bits=(4, 12), max_convs=2,
                        max_linears=2, strides=False, square=True)     # 12 classes, 10 bits


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.fpgac.yml"
    save_model(_model(), path)
    return path


@pytest.fixture(scope="module")
def axis_dir(model_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("axis")
    write_ip(model_path, "axi-stream", out, pes=2, images=4)
    return out


@pytest.fixture(scope="module")
def wishbone_dir(model_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("wishbone")
    write_ip(model_path, "wishbone", out, pes=2, images=3)
    return out


def _lint(path: Path, top: str) -> list[str]:
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", top,
                           str(WAIVERS), str(path)], env=tools.simulator_env("verilator"),
                          capture_output=True, text=True, timeout=300)
    return [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%")]


def test_ip_directories_and_ports(axis_dir, wishbone_dir):
    for name in ("fpgac_axis.v", "package_ip.tcl", "vectors.json", "run_test.py",
                 "test_fpgac_axis.py", "fpgac_ip.vlt", "README.md", "ip.json"):
        assert (axis_dir / name).is_file(), name
    header = (axis_dir / "fpgac_axis.v").read_text()
    head = header[header.index("module fpgac_axis("):].split(";")[0]
    for port in ("aclk", "aresetn", "s_axis_tdata", "s_axis_tvalid", "s_axis_tready",
                 "s_axis_tlast", "m_axis_tdata", "m_axis_tvalid", "m_axis_tready",
                 "m_axis_tlast"):
        assert port in head, port
    assert " clk" not in head and " rst" not in head
    tcl = (axis_dir / "package_ip.tcl").read_text()
    assert "ipx::package_project" in tcl and "ipx::save_core" in tcl
    vec = json.loads((axis_dir / "vectors.json").read_text())
    assert len(vec["images"]) == 4 and len(vec["logits"][0]) == vec["classes"] == 12
    readme = (wishbone_dir / "README.md").read_text()
    for _, name, _, _ in REGISTERS:
        assert f"| {name} |" in readme, name


@pytest.mark.parametrize("bus,top", [("axis", "fpgac_axis"), ("wishbone", "fpgac_wishbone")])
def test_ip_lint_clean(axis_dir, wishbone_dir, bus, top):
    d = axis_dir if bus == "axis" else wishbone_dir
    found = _lint(d / f"{top}.v", top)
    assert found == [], "\n".join(found[:30])


@pytest.mark.slow
@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_axis_ip_bit_exact_under_backpressure(axis_dir, simulator, tmp_path):
    results = run(axis_dir, simulator, seed=3, build_dir=tmp_path / "b")
    assert results == {"images_back_to_back_under_backpressure": True,
                       "early_tlast_drops_the_partial_image": True}


@pytest.mark.slow
@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_wishbone_ip_bit_exact_through_register_map(wishbone_dir, simulator, tmp_path):
    results = run(wishbone_dir, simulator, seed=5, build_dir=tmp_path / "b")
    assert results == {"images_through_the_register_map": True}


@pytest.mark.slow
def test_shipped_test_fails_on_a_wrong_golden_logit(axis_dir, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in axis_dir.iterdir():
        if f.is_file():
            (bad / f.name).write_bytes(f.read_bytes())
    vec = json.loads((bad / "vectors.json").read_text())
    vec["logits"][2][0] += 1
    (bad / "vectors.json").write_text(json.dumps(vec))
    results = run(bad, "icarus", build_dir=tmp_path / "b")
    assert results["images_back_to_back_under_backpressure"] is False


def test_wishbone_refuses_plans_beyond_the_register_map():
    model = _model()
    plan = plan_hardware(model, pes=1, pixel_lut=pixel_table(model))

    class Big:
        input_pixels, classes, out_bits = 9000, plan.classes, plan.out_bits

    with pytest.raises(FpgacError, match="expected at most 8192 input pixels, found 9000"):
        check_plan(Big)


def test_cli_ip(model_path, tmp_path, capsys):
    assert main(["ip", str(model_path), "--bus", "wishbone", "-o", str(tmp_path / "wb")]) == 0
    assert "fpgac_wishbone.v" in capsys.readouterr().out
    assert (tmp_path / "wb" / "fpgac_wishbone.v").is_file()
    assert main(["ip", str(model_path), "--bus", "wishbone", "--images", "1",
                 "-o", str(tmp_path / "x")]) == 2
    assert "--images: expected at least 2" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["ip", str(model_path), "--bus", "pcie", "-o", str(tmp_path / "y")])
    assert exc.value.code == 2


def test_amaranth_api():
    """docs/ip.md's Amaranth pattern: a stream source into the core, the result out."""
    from amaranth.back import verilog
    from amaranth.hdl import Module
    from amaranth.lib import stream, wiring
    from amaranth.lib.wiring import In, Out

    from fpgac.hw.core import Accelerator

    model = _model()
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))

    class User(wiring.Component):
        def __init__(self):
            super().__init__({"pixels": In(stream.Signature(8)),
                              "klass": Out(plan.class_bits), "valid": Out(1)})

        def elaborate(self, platform):
            m = Module()
            m.submodules.cnn = core = Accelerator(plan)
            wiring.connect(m, wiring.flipped(self.pixels), core.pixels)
            m.d.comb += [self.valid.eq(core.result.valid),
                         self.klass.eq(core.result.payload.klass), core.result.ready.eq(1)]
            return m

    text = verilog.convert(User(), name="user", emit_src=False)
    assert "module user(" in text and "pixels__ready" in text
