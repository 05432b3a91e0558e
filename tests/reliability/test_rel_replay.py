"""Replay every saved failing case in ``tests/fixtures/replay/`` through every implementation.

A case is ``<name>.yml`` (fpgac own format), ``<name>.images.npy`` (uint8 images) and
``<name>.reason.txt`` (what once went wrong). The golden, the big-int reference and the PyTorch
integer mode must agree on each (0 LSB); the slow variant adds the RTL (Icarus: its build is
seconds where Verilator's is about a minute; both simulators are compared in test_rel_rtl.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fpgac.sim.selftest import compare_logits, reference_logits, replay_cases, rtl_logits

REPLAY = Path(__file__).resolve().parents[1] / "fixtures" / "replay"
CASES = replay_cases(REPLAY) if REPLAY.exists() else []


def test_replay_directory_is_consistent():
    ymls = sorted(p.stem for p in REPLAY.glob("*.yml"))
    npys = sorted(p.name[:-len(".images.npy")] for p in REPLAY.glob("*.images.npy"))
    assert ymls == npys
    assert len(CASES) == len(ymls) >= 1


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_replay_references(case):
    name, model, images = case
    problem = compare_logits(reference_logits(model, images))
    assert problem == "", f"{name}: {problem}"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_replay_rtl(case):
    name, model, images = case
    results = reference_logits(model, images)
    results["icarus"] = rtl_logits(model, images, simulator="icarus")
    problem = compare_logits(results)
    assert problem == "", f"{name}: {problem}"
