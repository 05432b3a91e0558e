"""Amaranth-simulator testbenches of :class:`fpgac.hw.requant.Requantizer` against
:func:`fpgac.sim.golden.requantize`; the published latency against
:mod:`fpgac.compiler.analysis.cycles`.
"""

from __future__ import annotations

import numpy as np
import pytest

from fpgac.compiler.analysis import cycles
from fpgac.compiler.plan import Requant
from fpgac.hw.amsim import pipeline, run_testbench as run
from fpgac.hw.requant import Requantizer
from fpgac.sim import golden


def _rq(mqm0, shift, outz, relu, n, half_up=False):
    return Requant(mqm0=mqm0, shift=shift, rnd=2 ** (shift - 1) if half_up and shift else 0,
                   outz=outz, relu=relu, n_bits=n)


REQUANT_SETS = [
    # edges: mqm0 0 and 2^n, shift 0 and far beyond the product width, outz at both ends
    [_rq(0, 0, 0, False, 2), _rq(4, 0, 3, True, 2), _rq(3, 1, 1, False, 2, True)],
    [_rq(8, 3, 0, True, 3), _rq(5, 2, 7, False, 3, True), _rq(1, 40, 2, False, 3),
     _rq(8, 40, 5, True, 3, True)],
    [_rq(16, 4, 8, False, 4, True), _rq(9, 7, 15, True, 4), _rq(0, 3, 15, False, 4),
     _rq(13, 0, 0, False, 4)],
    [_rq(200, 9, 128, True, 8), _rq(256, 12, 0, False, 8, True), _rq(129, 15, 255, False, 8)],
]


@pytest.mark.parametrize("params", REQUANT_SETS, ids=lambda p: f"n{p[0].n_bits}")
def test_requantizer_exhaustive_vs_golden(params):
    in_bits = 9
    dut = Requantizer(tuple(params), in_bits=in_bits, tag_bits=16)
    assert dut.latency == cycles.WRITER_LATENCY - 3      # the writer adds its 2 read and sum registers
    values = range(-2 ** (in_bits - 1), 2 ** (in_bits - 1))
    vec = [(v, s) for s in range(len(params)) for v in values]
    got = {}

    async def bench(ctx):
        payloads = [{"value": v, "sel": s, "tag": k} for k, (v, s) in enumerate(vec)]
        for k, out in await pipeline(ctx, dut.i, dut.o, payloads, drain=dut.latency):
            assert k - out.tag == dut.latency - 1, "latency differs from the published one"
            got[out.tag] = out.value

    run(dut, bench)
    assert len(got) == len(vec)
    for s, q in enumerate(params):
        acc = np.array(list(values), dtype=np.int64)
        want = golden.requantize(acc, mqm0=q.mqm0, shift=q.shift, out_zero_point=q.outz,
                                 relu=q.relu, n_bits=q.n_bits,
                                 rounding="half_up" if q.rnd else "floor")
        base = s * len(acc)
        rtl = np.array([got[base + i] for i in range(len(acc))])
        bad = np.flatnonzero(rtl != want)
        assert bad.size == 0, (f"{q}: acc {acc[bad[0]]}: rtl {rtl[bad[0]]}, "
                               f"golden {want[bad[0]]}")


@pytest.mark.parametrize("in_bits", [18, 19, 36])
def test_requantizer_extreme_accumulators(in_bits):
    """Wide accumulators at the range ends with 16-bit constants: 18 bits (one product), 19 and
    36 bits (two partial products, ``Requantizer.SPLIT``)."""
    params = (_rq(2 ** 16, 30, 0, False, 16, True), _rq(40000, 20, 65535, True, 16),
              _rq(1, 0, 32768, False, 16))
    lo, hi = -2 ** (in_bits - 1), 2 ** (in_bits - 1) - 1
    rng = np.random.default_rng(1)
    accs = [lo, lo + 1, -1, 0, 1, hi - 1, hi] + [int(v) for v in rng.integers(lo, hi, 40)]
    dut = Requantizer(params, in_bits=in_bits, tag_bits=12)
    vec = [(v, s) for s in range(len(params)) for v in accs]
    got = {}

    async def bench(ctx):
        payloads = [{"value": v, "sel": s, "tag": k} for k, (v, s) in enumerate(vec)]
        for _, out in await pipeline(ctx, dut.i, dut.o, payloads, drain=dut.latency):
            got[out.tag] = out.value

    run(dut, bench)
    for k, (v, s) in enumerate(vec):
        q = params[s]
        want = golden.requantize(v, mqm0=q.mqm0, shift=q.shift, out_zero_point=q.outz,
                                 relu=q.relu, n_bits=q.n_bits,
                                 rounding="half_up" if q.rnd else "floor")
        assert got[k] == int(want), (q, v, got[k], int(want))
