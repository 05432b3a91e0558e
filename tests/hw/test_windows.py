"""Amaranth-simulator testbench of :class:`fpgac.hw.windows.LaneWindows` against a Python model
of its contract (the window-counter rules of :class:`fpgac.compiler.plan.LayerDesc`), over the
group order of real plans, with advances back to back and with idle cycles in between.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from fpgac.compiler.frontend.load import load_model
from fpgac.compiler.plan import plan_hardware
from fpgac.hw.amsim import run_testbench
from fpgac.hw.windows import LaneWindows
from fpgac.sim.preprocess import pixel_table
from rect_plans import rect_picker, rect_plan

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "models" / "tiny_int.yml"
LENET = ROOT / "examples" / "lenet5_g90_8b.yml"


def _groups(plan):
    """The inputs of every group's advance, in program order: (layer, final, glast, rlast)."""
    for li, d in enumerate(plan.descriptors):
        for r in range(d.rounds):
            for g in range(d.groups):
                yield li, int(d.final), int(g == d.groups - 1), int(r == d.rounds - 1)


def _model(plan, state, item):
    """The counters after one advance (the docstring's rules)."""
    layer, final, glast, rlast = item
    d = plan.descriptors[layer]
    mask = (1 << plan.addr_bits) - 1
    if glast:
        nxt = (0 if final else layer + 1) if rlast else layer
        return [tuple(row) for row in plan.lane_init[nxt]]
    out = []
    for base, px, j in state:
        # rectangles: j stays (0: a used lane, 1: unused), px is the group's column
        j += 0 if d.br else d.width
        if j < (1 if d.br else d.windows):
            px += d.step_px
            base = (base + d.step_base) & mask
            if px >= d.grp_w:
                px -= d.grp_w
                base = (base + d.wrap_base) & mask
        out.append((base, px, j))
    return out


@pytest.mark.parametrize("path,pes,gaps,seed,fanout,rect", [
    (TINY, 1, (1,), 1, 8, False), (TINY, 3, (1, 2, 3), 2, 1, False),
    (TINY, 7, (1, 1, 4), 3, 2, False), (LENET, 16, (1, 2), 4, 8, False),
    (LENET, 16, (1,), 5, 3, False), (TINY, 7, (1, 2), 6, 3, True),
    (LENET, 32, (1, 3), 7, 8, True)])
def test_window_counters_follow_the_rules_back_to_back_and_with_gaps(path, pes, gaps, seed,
                                                                      fanout, rect):
    """Inputs ``LaneWindows.AHEAD`` (3) cycles ahead, the new bases ``AHEAD + 1`` cycles after
    the advance is presented; advances as close as the controller makes them (one idle cycle
    between two: ``group_latency`` = 2) and further apart; the
    program is run twice (the last group reloads layer 0). Idle cycles carry a random layer
    (the counters must ignore it). Spatial layers with many window groups (row wraps). One
    register copy per group of ``fanout`` lanes (``plan.fanout_lanes``; 3 leaves a short
    last group). ``rect``: rectangle window groups forced (group-level row wraps, partial
    rectangles, unused lanes that keep their base)."""
    model = load_model(path)
    if rect:
        plan = rect_plan(model, pes, rect_picker(seed))
        assert any(d.br for d in plan.descriptors)
    else:
        plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
    plan = dataclasses.replace(plan, fanout_lanes=fanout)
    dut = LaneWindows(plan)
    rng = np.random.default_rng(seed)
    nl = len(plan.descriptors)
    items = list(_groups(plan)) * 2
    schedule = []                       # per cycle: an advance's inputs, or None (idle)
    for item in items:
        schedule += [None] * int(rng.choice(gaps)) + [item]
    schedule += [None] * (LaneWindows.AHEAD + 1)
    state = [tuple(row) for row in plan.lane_init[0]]
    expected = []                       # in_base after each tick
    applied = [state]
    for item in schedule:
        if item is not None:
            state = _model(plan, state, item)
        applied.append(state)
    for n in range(len(schedule)):      # after tick n: the advances presented up to n - AHEAD
        expected.append([b for b, _, _ in applied[max(0, n + 1 - LaneWindows.AHEAD)]])
    got = []

    async def bench(ctx):
        assert [ctx.get(dut.in_base[p]) for p in range(pes)] == [b for b, _, _ in applied[0]]
        for item in schedule:
            if item is None:
                ctx.set(dut.advance, 0)
                ctx.set(dut.layer, int(rng.integers(nl)))
            else:
                layer, final, glast, rlast = item
                ctx.set(dut.advance, 1)
                ctx.set(dut.layer, layer)
                ctx.set(dut.final, final)
                ctx.set(dut.glast, glast)
                ctx.set(dut.rlast, rlast)
            await ctx.tick()
            got.append([ctx.get(dut.in_base[p]) for p in range(pes)])

    run_testbench(dut, bench)
    assert sum(1 for i in items if not i[2]) > 0       # some in-round moves were exercised
    for n, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"after tick {n}: in_base {g}, expected {e}"


def test_window_counters_refuse_back_to_back_advances():
    """The counters' decisions are registered between two advances, so a plan whose groups'
    last steps could be adjacent (``group_latency`` < 2) is refused."""
    model = load_model(TINY)
    plan = plan_hardware(model, pes=3, pixel_lut=pixel_table(model))
    with pytest.raises(ValueError, match="plan.group_latency: expected >= 2 .* found 1"):
        LaneWindows(dataclasses.replace(plan, group_latency=1))
