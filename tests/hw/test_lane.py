"""Amaranth-simulator testbench of :class:`fpgac.hw.lane.Lane` against a direct Python model of
the lane contract; the published latency against :mod:`fpgac.compiler.analysis.cycles`.
"""

from __future__ import annotations

import numpy as np

from fpgac.compiler.analysis import cycles
from fpgac.hw.amsim import run_testbench as run
from fpgac.hw.lane import Lane


def test_lane_mac_pool_latch_and_latency():
    """Two groups with pooled phases against a Python model of the lane contract."""
    act_bits, w_bits, acc_bits = 8, 9, 24
    dut = Lane(act_bits=act_bits, w_bits=w_bits, tap_bits=6, addr_bits=8, acc_bits=acc_bits)
    assert dut.latency == cycles.LANE_LATENCY
    rng = np.random.default_rng(3)
    mem = [int(v) for v in rng.integers(0, 256, 256)]
    groups = []        # (inz, in_base, phase offsets, entries [(d, tap)])
    for inz, phases, count in ((0, [0, 1, 16, 17], 5), (200, [0], 1), (37, [0, 2, 40], 3)):
        entries = [(int(rng.integers(-255, 256)), int(rng.integers(0, 64)))
                   for _ in range(count)]
        groups.append((inz, int(rng.integers(0, 100)), phases, entries))
    entries_extreme = [(-255, 0), (255, 1), (-255, 2)]
    groups.append((255, 0, [0, 3], entries_extreme))
    steps, want = [], []
    for inz, base, phases, entries in groups:
        pooled = None
        for pi, off in enumerate(phases):
            acc = sum((mem[base + off + t] - inz) * d for d, t in entries)
            pooled = acc if pooled is None else max(pooled, acc)
            for e, (d, t) in enumerate(entries):
                last = e == len(entries) - 1
                steps.append(dict(valid=1, first=int(e == 0), last=int(last),
                                  phase0=int(pi == 0), latch=int(last and pi == len(phases) - 1),
                                  inz=inz, d=d, tap=t, in_base=base, phase_off=off))
        want.append(pooled)
    seen = []

    async def bench(ctx):
        # the activation memory's registered read: rd_data is the word at the rd_addr of
        # READ_LATENCY cycles before
        addrs = [0] * dut.READ_LATENCY
        latch_at = []
        for k in range(len(steps) + dut.latency + 3):
            step = steps[k] if k < len(steps) else dict(valid=0, latch=0)
            for key, val in step.items():
                ctx.set(getattr(dut, key), val)
            if step.get("latch"):
                latch_at.append(k)
            addrs.append(ctx.get(dut.rd_addr))
            ctx.set(dut.rd_data, mem[addrs[-1 - dut.READ_LATENCY]])
            await ctx.tick()
            # the latched value is visible from cycle latch + latency (now we are in k + 1)
            for j, c in enumerate(latch_at):
                if k + 1 == c + dut.latency:
                    seen.append(ctx.get(dut.result))

    run(dut, bench)
    assert seen == want


def _pool_run(phase_values, count):
    """The lane on one group of ``len(phase_values)`` phases of ``count`` steps (the first
    reads the phase's value with ``d = 1``, the rest are fillers, ``d = 0``), issued back to
    back; returns the latched result."""
    dut = Lane(act_bits=8, w_bits=9, tap_bits=6, addr_bits=8, acc_bits=24)
    mem = [0] * 256
    for k, v in enumerate(phase_values):
        mem[10 + k] = v
    steps = []
    for pi in range(len(phase_values)):
        for e in range(count):
            last = e == count - 1
            steps.append(dict(valid=1, first=int(e == 0), last=int(last), phase0=int(pi == 0),
                              latch=int(last and pi == len(phase_values) - 1), inz=0,
                              d=int(e == 0), tap=0, in_base=10, phase_off=pi))
    out = []

    async def bench(ctx):
        addrs = [0] * dut.READ_LATENCY
        for k in range(len(steps) + dut.latency + 2):
            step = steps[k] if k < len(steps) else dict(valid=0, latch=0)
            for key, val in step.items():
                ctx.set(getattr(dut, key), val)
            addrs.append(ctx.get(dut.rd_addr))
            ctx.set(dut.rd_data, mem[addrs[-1 - dut.READ_LATENCY]])
            await ctx.tick()
        out.append(ctx.get(dut.result))

    run(dut, bench)
    return out[0]


# every order of four distinct phase sums, and ties
_ORDERS = [tuple(p) for p in __import__("itertools").permutations((5, 50, 20, 1))] + [
    (7, 7, 7, 7), (0, 9, 9, 0), (3, 1)]


def test_pool_exact_at_the_compilers_least_count():
    """Pooled phases of ``MIN_POOLED_COUNT`` steps back to back (the shortest the compiler
    emits): the latched value is the maximum over the phases for every order of the phase
    sums."""
    from fpgac.compiler.plan import MIN_POOLED_COUNT

    for values in _ORDERS:
        assert _pool_run(values, MIN_POOLED_COUNT) == max(values), values


def test_pool_needs_two_steps_a_phase():
    """Why the compiler pads pooled rounds (``MIN_POOLED_COUNT``): with one step a phase, a
    phase's compare reads the pool of two phases before, so a phase sum between that pool and
    the previous phase's sum replaces the maximum (here 20 after 50)."""
    assert _pool_run((5, 50, 20, 1), 1) == 20
    assert _pool_run((5, 50, 20, 1), 2) == 50
