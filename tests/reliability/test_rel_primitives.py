"""Requantizer primitive vectors: golden and PyTorch integer mode vs the big-int reference.

CI runs 1e5 accumulators per implementation (seeded); ``fpgac selftest --long`` runs 1e6.
"""

from __future__ import annotations

import numpy as np

from fpgac.sim import bigint
from fpgac.compiler.analysis.widths import signed_bits
from fpgac.sim.selftest import (accumulate_vectors, check_accumulate_rtl, check_requant_golden,
                                check_requant_rtl, check_requant_torch, run_lane)

CI_COUNT = 100_000
#: accumulators through the Amaranth-simulated Requantizer in CI (the bench runs 1e6)
CI_RTL_COUNT = 4096


def test_bigint_reference_by_hand():
    """Hand-worked values of semantics.md section 2 (so the reference itself is pinned)."""
    rq = bigint.requantize
    # floor: -3 * 1 // 2 = -2 ; half_up: (-3 + 1) // 2 = -1
    assert rq(-3, mqm0=1, shift=1, out_zero_point=10, relu=False, n_bits=8) == 8
    assert rq(-3, mqm0=1, shift=1, out_zero_point=10, relu=False, n_bits=8,
              rounding="half_up") == 9
    # ties round towards +inf in half_up: 5/2 -> 3, -5/2 -> -2
    assert rq(5, mqm0=1, shift=1, out_zero_point=0, relu=False, n_bits=8,
              rounding="half_up") == 3
    assert rq(-5, mqm0=1, shift=1, out_zero_point=100, relu=False, n_bits=8,
              rounding="half_up") == 98
    # relu at the zero point, then saturation
    assert rq(-1000, mqm0=3, shift=2, out_zero_point=7, relu=True, n_bits=4) == 7
    assert rq(10 ** 6, mqm0=3, shift=2, out_zero_point=7, relu=False, n_bits=4) == 15
    # shift 0 with half_up adds nothing; huge shifts leave only the sign
    assert rq(7, mqm0=2, shift=0, out_zero_point=0, relu=False, n_bits=8,
              rounding="half_up") == 14
    assert rq(-1, mqm0=1, shift=80, out_zero_point=5, relu=False, n_bits=8) == 4
    assert rq(-1, mqm0=1, shift=80, out_zero_point=5, relu=False, n_bits=8,
              rounding="half_up") == 5


def test_vectors_cover_edges():
    vs = list(bigint.requant_vectors(3, 20_000))
    assert sum(len(v.accs) for v in vs) == 20_000
    kinds = {v.kind for v in vs}
    assert kinds == {"random", "tie", "max", "shift", "small"}
    shifts = {v.shift for v in vs}
    assert {0, 63, 64}.issubset(shifts) and max(shifts) >= 70
    assert any(v.mqm0 == 0 for v in vs) and any(v.mqm0 == 1 << v.n_bits for v in vs)
    ties = 0
    for v in vs:
        for a in v.accs:
            assert abs(a * v.mqm0) < bigint.ACC_LIMIT
            if v.shift and (a * v.mqm0) % (1 << v.shift) == 1 << (v.shift - 1):
                ties += 1
    assert ties > 100
    # the same seed gives the same vectors
    assert vs[:50] == list(bigint.requant_vectors(3, 50 * 64))[:50]


def test_golden_requantize_matches_bigint():
    res = check_requant_golden(seed=20261123, count=CI_COUNT)
    assert res.cases == CI_COUNT
    assert res.failures == 0, res.line()


def test_torch_requantize_matches_bigint_common_shifts():
    """Shifts 0..63: the range every legacy and trained model uses."""
    res = check_requant_torch(seed=20261124, count=CI_COUNT, max_shift=63)
    assert res.cases == CI_COUNT
    assert res.failures == 0, res.line()


def test_torch_requantize_matches_bigint_all_shifts():
    """Shifts up to 64 + n (mn = 64). Found: half_up with shift >= 64 used to wrap/overflow."""
    res = check_requant_torch(seed=20261125, count=20_000)
    assert res.failures == 0, res.line()


def test_checker_detects_a_wrong_requantizer(monkeypatch):
    """Mutation check: an off-by-one rounding in the golden must be caught."""
    from fpgac.sim import golden
    real = golden.requantize

    def broken(acc, **kw):
        y = real(acc, **kw)
        return np.where(np.asarray(acc) % 97 == 5, y ^ 1, y)
    monkeypatch.setattr(golden, "requantize", broken)
    res = check_requant_golden(seed=1, count=5_000)
    assert res.failures > 0


def test_requantizer_rtl_matches_bigint():
    """hw.requant.Requantizer (32 parameter sets per instance, like a 32-layer core)."""
    res = check_requant_rtl(seed=20261126, count=CI_RTL_COUNT)
    assert res.cases == CI_RTL_COUNT
    assert res.failures == 0, res.line()


def test_requantizer_rtl_at_the_largest_shifts():
    res = check_requant_rtl(seed=20261127, count=1024, n_bits=(14, 16), max_shift=80)
    assert res.failures == 0, res.line()


def test_lane_accumulation_matches_bigint():
    """hw.lane.Lane at the compiler's accumulator width, including vectors at the bound."""
    res = check_accumulate_rtl(seed=20261128, count=40)
    assert res.cases == 40
    assert res.failures == 0, res.line()


def test_accumulate_vectors_reach_the_bound():
    vs = list(accumulate_vectors(5, 200))
    hits = [v for v in vs if v.kind == "max" and abs(v.expected()) == v.bound() > 0]
    assert len(hits) > 20


def test_a_too_narrow_accumulator_is_caught():
    """Mutation check: one bit less than the compiler's width overflows on a bound vector."""
    vec = next(v for v in accumulate_vectors(5, 200)
               if v.kind == "max" and v.expected() == v.bound() > 0 and len(v.xs) > 2)
    assert run_lane(vec) == vec.expected()
    assert run_lane(vec, acc_bits=signed_bits(vec.bound()) - 1) != vec.expected()
