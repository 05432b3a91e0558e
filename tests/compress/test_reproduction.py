"""The shipped examples' documented commands still produce what the old code produced.

Every shipped config, preset (``examples/*.config.yml``) and staged (``examples/strategies/``),
is run through its documented command (``fpgac compress --config FILE``, the same CLI code
path) on a cut-down budget; the files it writes must have the SHA-256 in
``fixtures/reproduction.json``. Like the shipped files, the bytes depend on the torch version,
the thread count and the CPU's float kernels, so the fixture holds one digest set per
environment: torch version, CPU vendor (``vendor_id`` of ``/proc/cpuinfo``: MKL and oneDNN
dispatch by it too, below), CPU kernel level (``torch.backends.cpu.get_cpu_capability()``) and
torch threads (always :data:`THREADS` here). A run compares with its environment's set; on an
environment with no set the comparison is skipped with a reason naming the recorded ones.

The recorded sets, all made on this project's 2-core test machine with torch 2.13.0+cpu:

* ``AVX2`` (AMD EPYC, 2026-11-30): made by the code of commit e36b6c1, before the
  single-pipeline restructuring (25ac84c, issue 15: ``run_compress`` and the staged
  ``run_config`` were separate functions); the one pipeline (256aace) wrote the same bytes.
* ``AVX512`` (Intel Xeon, 2026-12-01): made by the same old code of e36b6c1 and by main
  f61a778 (one pipeline); all 15 files of the 7 configs agreed byte for byte. Every digest
  differs from the AVX2 set's.
* ``AVX512`` (AMD EPYC, 2026-12-01): made by main fed9150 and by the old code of e36b6c1
  (its package installed into a separate virtual environment, this file and fixture copied
  beside it); the two wrote the same 15 digests. CI's machine is of this kind (its run on
  0aa2bfb skipped these tests for want of the set).

So every set pins the one pipeline to the old code's results. Add or replace the set of the
current environment (only for a new environment or an intended change of results; the other
sets are kept, and every set must cover every shipped config) with::

    python tests/compress/test_reproduction.py --write

The kernel level alone does not fix the bytes: MKL and oneDNN pick their own kernels. Measured
on the AVX512 Xeon, ``ATEN_CPU_CAPABILITY=avx2`` (reported level AVX2) wrote neither set's
bytes, and with ``MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2`` added it wrote yet
other bytes. A mismatch on a recorded environment is therefore either a change of results or a
machine whose libraries dispatch differently at the same level; rerunning the old code (e36b6c1)
there tells which. The vendor is in the key for that reason: an Intel machine at AVX2 finds no
set (the AVX2 set is AMD's) and skips instead of failing.

The full runs take 48 training epochs each (``bench/compress_bench.py --check`` compares them
with the shipped files).
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


def _vendor() -> str:
    """The CPU vendor (``GenuineIntel``, ``AuthenticAMD``; ``unknown`` without
    ``/proc/cpuinfo``)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    for line in text.splitlines():
        if line.startswith("vendor_id"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _environment() -> dict:
    """The keys of this run's digest set."""
    return {"torch": torch.__version__, "vendor": _vendor(),
            "cpu": torch.backends.cpu.get_cpu_capability(), "threads": THREADS}


def _key(digest_set: dict) -> tuple:
    return tuple(digest_set[key] for key in _environment())


def _label(digest_set: dict) -> str:
    return (f"torch {digest_set['torch']}, {digest_set['vendor']} {digest_set['cpu']}, "
            f"{digest_set['threads']} threads")


def merged(sets: list[dict], new: dict) -> list[dict]:
    """``sets`` with ``new`` in place of the set of its environment (or added), sorted by
    environment."""
    return sorted([s for s in sets if _key(s) != _key(new)] + [new], key=_key)


def _recorded_sets() -> list[dict]:
    return json.loads(FIXTURE.read_text())["sets"]


def _this_environments_cases() -> dict[str, dict[str, str]]:
    """The recorded digests of this environment; skips (naming the recorded ones) if none."""
    sets = _recorded_sets()
    for digest_set in sets:
        if _key(digest_set) == _key(_environment()):
            return digest_set["cases"]
    recorded = "; ".join(_label(s) for s in sets)
    pytest.skip(f"{FIXTURE.name} has no digest set for this environment "
                f"({_label(_environment())}); recorded: {recorded}; add one with "
                f"`python tests/compress/test_reproduction.py --write`")


def test_fixture_has_one_set_per_environment_covering_every_shipped_config():
    sets = _recorded_sets()
    keys = [_key(s) for s in sets]
    assert keys == sorted(set(keys)), "one digest set per environment, sorted"
    for digest_set in sets:
        assert set(digest_set) == {*_environment(), "cases"}, _label(digest_set)
        assert set(digest_set["cases"]) == set(_cases()), _label(digest_set)


def test_write_replaces_only_the_current_environments_set():
    env = _environment()
    other = {**env, "cpu": "OTHER", "cases": {"a": {"a.yml": "1"}}}
    old = {**env, "cases": {"a": {"a.yml": "2"}}}
    new = {**env, "cases": {"a": {"a.yml": "3"}}}
    assert merged([other, old], new) == sorted([other, new], key=_key)
    assert merged([other], new) == sorted([other, new], key=_key)
    assert merged([], new) == [new]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_cases()))
def test_cut_down_runs_match_the_fixture(name, tmp_path):
    expected = _this_environments_cases()[name]
    got = produce(name, _cases()[name], tmp_path / "out")
    differ = sorted(f for f in {*got, *expected} if got.get(f) != expected.get(f))
    assert got == expected, (f"{name}: {differ} differ from the {_label(_environment())} set "
                             f"(see the module docstring on kernel dispatch)")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    cases = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case, config in _cases().items():
            cases[case] = produce(case, config, Path(tmp) / case / "out")
    current = {**_environment(), "cases": cases}
    sets = merged(_recorded_sets() if FIXTURE.exists() else [], current)
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps({"sets": sets}, indent=1) + "\n")
    print(f"wrote the {_label(current)} set into {FIXTURE} ({len(sets)} sets: "
          f"{'; '.join(_label(s) for s in sets)})")
