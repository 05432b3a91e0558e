"""Amaranth-simulator testbench of :class:`fpgac.hw.bank.WeightBank` against the lists it
encodes (:func:`fpgac.compiler.passes.encode_weights.encode_list`).
"""

from __future__ import annotations

from fpgac.compiler.analysis import cycles
from fpgac.hw.amsim import run_testbench


def test_weight_bank_next_rewind_stop_and_restart():
    """A bank decodes its lists (d, tap) ``latency`` cycles after each step, rewinds for a new phase
    or a *rewind* group, moves on for *next*, shows zeros after a short list's last entry and
    for fillers, and starts over after ``restart``. Passes longer than a list make the bank read
    one entry past the list's end (its ``last`` bit is registered before it stops the reads):
    that read shows nothing, and a *next* or *rewind* two cycles after the last entry (a pass
    one step longer than the list) starts at the right entry."""
    from fpgac.compiler.passes.encode_weights import encode_list
    from fpgac.hw.bank import WeightBank

    wz, g = 3, 2
    l1, l2, l3 = [(5, 0), (7, 3), (1, 40)], [(9, 1)], [(4, 2), (6, 5)]
    e1, e2, e3 = (encode_list(x, wz, g) for x in (l1, l2, l3))
    dut = WeightBank(entries=e1 + e2 + e3, wraw_bits=4, gap_bits=g, has_last=True, w_bits=5,
                     tap_bits=6)
    assert dut.latency == cycles.ROM_LATENCY
    n = len(e1)
    steps = []                                      # (pass_first, group_first, cmd)
    for ph in range(2):                             # group 1: next, two phases
        steps += [(e == 0, e == 0 and ph == 0, 1) for e in range(n)]
    steps += [(e == 0, e == 0, 2) for e in range(n)]   # group 2: rewind
    steps += [(e == 0, e == 0, 1) for e in range(n)]   # group 3: next (a shorter list)
    steps += [(True, True, 2), (False, False, 2)]      # ... rewound, one step more than it
    # group 4: next right after the short list's pass, two phases; group 5: rewind, passes
    # of 1 and 2 steps
    for ph in range(2):
        steps += [(e == 0, e == 0 and ph == 0, 1) for e in range(n)]
    steps += [(True, True, 2), (True, False, 2), (False, False, 2)]
    one = [(2, 0), (4, 3), (0, 0), (0, 0), (0, 0), (-2, 40)]
    three = [(1, 2), (3, 5)] + [(0, 0)] * (n - 2)
    want = (one * 3 + [(6, 1)] + [(0, 0)] * (n - 1) + [(6, 1), (0, 0)] + three * 2
            + [(1, 2), (1, 2), (3, 5)])
    got = []

    async def tb(ctx):
        ctx.set(dut.wz, wz)
        for rnd in range(2):
            ctx.set(dut.restart, 1)
            await ctx.tick()
            ctx.set(dut.restart, 0)
            for k in range(len(steps) + dut.latency - 1):
                if k < len(steps):
                    pf, gf, cmd = steps[k]
                    ctx.set(dut.step, 1)
                    ctx.set(dut.pass_first, pf)
                    ctx.set(dut.group_first, gf)
                    ctx.set(dut.cmd, cmd)
                else:
                    ctx.set(dut.step, 0)
                await ctx.tick()
                if k >= dut.latency - 1:      # after the tick of cycle k: step k - latency + 1
                    got.append((ctx.get(dut.d), ctx.get(dut.off)))

    run_testbench(dut, tb)
    assert got == want * 2
