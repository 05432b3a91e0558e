"""The shipped examples' documented commands still produce what the old code produced.

Every shipped config, preset (``examples/*.config.yml``) and staged (``examples/strategies/``),
is run through its documented command (``fpgac compress --config FILE``, the same CLI code
path) on a cut-down budget; the files it writes must have the SHA-256 in
``fixtures/reproduction.json``. That fixture was made on this project's 2-core test machine by
the code before the single-pipeline restructuring (commit e36b6c1, issue 15: ``run_compress``
and the staged ``run_config`` as separate functions), so this test pins both kinds of config
files to their old results. Regenerate (only for an intended change of results) with::

    python tests/compress/test_reproduction.py --write

The full runs take 48 training epochs each (``bench/compress_bench.py --check`` compares them
with the shipped files). Like the shipped files, the bytes depend on the torch version, the
thread count and the CPU's kernels: both runs use 2 torch threads, and the fixture records the
torch version and the CPU kernel level (``torch.backends.cpu.get_cpu_capability()``) it was made
with; on another torch or kernel level the hash comparison is skipped with the reason.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
import torch
import yaml

from fpgac.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FIXTURE = Path(__file__).parent / "fixtures" / "reproduction.json"
THREADS = 2

#: preset configs: the documented command plus these flags (1 training epoch on all 5,000
#: training images, 1 fine-tune epoch per pruning step, 100 calibration and 300 test images)
CUT = ["--epochs", "1", "--finetune-epochs", "1", "--calib", "100", "--limit-test", "300"]

#: staged configs: the shipped file with these changes (every epoch count 1, 500 training
#: and 300 test images, at most 100 calibration / sensitivity images, low-rank energy 0.5)
STAGED_CUT = {"data": {"train_limit": 500, "test_limit": 300}}
_IMAGES = {"quantize": "calib", "qat": "calib", "sensitivity": "eval"}


def _staged_cut(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    doc.update(STAGED_CUT)
    for stage in doc["stages"]:
        (kind, params), = stage.items()
        for key in ("epochs", "teacher_epochs", "finetune_epochs"):
            if key in params:
                params[key] = 1
        if kind in _IMAGES:
            params[_IMAGES[kind]] = min(params.get(_IMAGES[kind], 100), 100)
        if kind == "lowrank" and params.get("energy") is not None:
            params["energy"] = 0.5     # a briefly trained layer needs too high a rank for 0.9
    return doc


def _cases() -> dict[str, Path]:
    found = {p.name[:-len(".config.yml")]: p for p in EXAMPLES.glob("*.config.yml")}
    found.update({p.stem: p for p in (EXAMPLES / "strategies").glob("*.yml")})
    return dict(sorted(found.items()))


def _digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.iterdir()) if p.suffix == ".yml"}


def produce(name: str, config: Path, out: Path) -> dict[str, str]:
    """Run ``name``'s cut-down command into ``out``; return ``file name -> sha256``."""
    out.mkdir(parents=True, exist_ok=True)
    args = ["compress", "--config", str(config), "--out-dir", str(out), "--no-progress"]
    if config.parent.name == "strategies":
        cut = out.parent / f"{name}.cut.yml"
        cut.write_text(yaml.safe_dump(_staged_cut(config)))
        args[2] = str(cut)
    else:
        args += CUT
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        assert main(args) == 0
    finally:
        torch.set_num_threads(threads)
    return _digests(out)


def _environment() -> dict[str, str]:
    return {"torch": torch.__version__, "cpu": torch.backends.cpu.get_cpu_capability()}


def _skip_if_other_environment(fixture: dict) -> None:
    made = {key: fixture[key] for key in _environment()}
    if made != _environment():
        pytest.skip(f"fixture made with {made}, this is {_environment()}")


def test_fixture_covers_every_shipped_config():
    fixture = json.loads(FIXTURE.read_text())
    assert set(fixture["cases"]) == set(_cases())
    _skip_if_other_environment(fixture)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_cases()))
def test_cut_down_runs_match_the_fixture(name, tmp_path):
    fixture = json.loads(FIXTURE.read_text())
    _skip_if_other_environment(fixture)
    got = produce(name, _cases()[name], tmp_path / "out")
    assert got == fixture["cases"][name]


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    cases = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case, config in _cases().items():
            cases[case] = produce(case, config, Path(tmp) / case / "out")
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps({**_environment(), "threads": THREADS,
                                   "cases": cases}, indent=1) + "\n")
    print(f"wrote {FIXTURE}")
