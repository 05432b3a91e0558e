"""The shared verdict of an RTL run (:func:`fpgac.sim.compare.compare`): what counts as a
mismatch, on made-up RTL results against golden's real outputs for LeNet-5."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from fpgac.compiler.analysis import cycles
from fpgac.compiler.frontend import load_model
from fpgac.compiler.plan import plan_hardware
from fpgac.sim import golden, rtl
from fpgac.sim.compare import compare
from fpgac.sim.mnist import load_mnist
from fpgac.sim.preprocess import pixel_table

LENET5 = Path(__file__).resolve().parents[2] / "examples" / "lenet5_g90_8b.yml"


@pytest.fixture(scope="module")
def case():
    model = load_model(LENET5)
    plan = plan_hardware(model, pes=4, pixel_lut=pixel_table(model))
    images = load_mnist("test")[0][:6]
    logits, klass = golden.predict(model, images)
    want = int(cycles.predict(plan).compute_cycles)
    res = rtl.RtlResult(logits=logits.copy(), klass=klass.copy(),
                        compute_cycles=np.full(len(images), want, np.int64), total_cycles=1,
                        build_seconds=0.0, sim_seconds=1.0, simulator="verilator",
                        cached_build=True)
    return model, plan, images, res, want


def test_a_faithful_run_is_exact(case):
    model, plan, images, res, want = case
    verdict = compare(model, plan, images, res)
    assert verdict.exact and verdict.message == "" and verdict.predicted_cycles == want
    assert verdict.mismatches.size == 0 and verdict.cycle_bad.size == 0


def test_one_lsb_one_class_one_cycle_are_each_caught(case):
    model, plan, images, res, want = case
    logits, klass = res.logits.copy(), res.klass.copy()
    logits[2, 7] += 1                                   # one logit, one LSB
    klass[4] = (klass[4] + 1) % logits.shape[1]         # one class alone
    steps = res.compute_cycles.copy()
    steps[5] += 1                                       # one image one cycle late
    bad = dataclasses.replace(res, logits=logits, klass=klass, compute_cycles=steps)
    verdict = compare(model, plan, images, bad, want=golden.predict(model, images))
    assert not verdict.exact
    assert verdict.mismatches.tolist() == [2, 4]
    assert verdict.logit_bad.tolist() == [False, False, True, False, False, False]
    assert verdict.class_bad.tolist() == [False, False, False, False, True, False]
    assert verdict.cycle_bad.tolist() == [5]
    assert "2 of 6 images mismatch, first 2" in verdict.message
    assert f"[{want + 1}], predicted {want}" in verdict.message


def test_the_upload_must_match_the_weight_store(case):
    model, plan, images, res, _ = case
    taken = rtl.WeightUpload(done=True, crc_ok=True, early=False, cycles=10)
    assert not compare(model, plan, images, dataclasses.replace(res, weights=taken)).exact
    loaded = dataclasses.replace(plan, weight_store="loaded")
    assert not compare(model, loaded, images, res).exact          # no upload ran
    bad_crc = dataclasses.replace(taken, crc_ok=False)
    verdict = compare(model, loaded, images, dataclasses.replace(res, weights=bad_crc))
    assert not verdict.exact and "weight upload (loaded store)" in verdict.message
    assert compare(model, loaded, images, dataclasses.replace(res, weights=taken)).exact


def test_overlap_runs_check_every_interval(case):
    model, _, images, res, _ = case
    plan = plan_hardware(model, pes=4, pixel_lut=pixel_table(model), overlap=True)
    rep = cycles.predict(plan)
    starts = np.arange(len(images), dtype=np.int64) * rep.interval_cycles + 100
    good = dataclasses.replace(res, start_cycles=starts,
                               compute_cycles=np.full(len(images), rep.compute_cycles))
    assert compare(model, plan, images, good).exact
    late = starts.copy()
    late[3:] += 1                                        # interval 2 -> 3 one cycle long
    verdict = compare(model, plan, images, dataclasses.replace(good, start_cycles=late))
    assert not verdict.exact and verdict.interval_bad.tolist() == [2]
    assert f"[{rep.interval_cycles + 1}], predicted {rep.interval_cycles}" in verdict.message
    missing = compare(model, plan, images, dataclasses.replace(good, start_cycles=None))
    assert not missing.exact and "no start cycles" in missing.message
