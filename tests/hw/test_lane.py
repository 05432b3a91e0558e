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
