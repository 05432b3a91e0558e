"""Amaranth-simulator testbench of :class:`fpgac.hw.tree.SliceTree` (the one-window slices'
adder tree) against the contract: after ``log2 s_max`` registered stages lane ``q * s`` holds
the sum of lanes ``q * s .. q * s + s - 1`` of a layer with ``s`` slices, every lane of a
layer without slices its own value; back to back, one group per cycle."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from fpgac.hw.amsim import run_testbench as run
from fpgac.hw.tree import SliceTree, tree_stages


def _plan(pes, slices, acc_bits=14):
    return SimpleNamespace(pes=pes, acc_bits=acc_bits,
                           descriptors=[SimpleNamespace(slices=s) for s in slices])


def _want(values, s):
    if s == 1:
        return list(values)
    out = list(values)
    for q in range(0, len(values) - s + 1, s):
        out[q] = sum(values[q:q + s])
    return out


@pytest.mark.parametrize("pes,slices", [(8, (1, 2, 4, 8)), (6, (4, 1, 2)), (5, (2, 1)),
                                        (16, (16, 1, 4))])
def test_tree_sums_each_slot_and_passes_unsliced_layers(pes, slices):
    plan = _plan(pes, slices)
    dut = SliceTree(plan)
    stages = tree_stages(plan)
    assert dut.latency == stages == max(slices).bit_length() - 1
    rng = np.random.default_rng(pes)
    # values with every tree node inside 14 signed bits (the compiler's slice bound)
    lim = (1 << 13) // max(slices) - 1
    items = [(int(rng.integers(len(slices))),
              [int(v) for v in rng.integers(-lim, lim + 1, pes)]) for _ in range(12)]
    items[3] = (items[3][0], [lim] * pes)
    items[4] = (items[4][0], [-lim] * pes)
    seen = []

    async def bench(ctx):
        for t in range(len(items) + stages + 2):
            ctx.set(dut.load, int(t < len(items)))
            ctx.set(dut.layer, items[t][0] if t < len(items) else 0)
            if 1 <= t <= len(items):        # the lanes show a group's values after its load
                for p, v in enumerate(items[t - 1][1]):
                    ctx.set(dut.lanes[p], v)
            j = t - 1 - stages
            if 0 <= j < len(items):
                seen.append([ctx.get(dut.sums[p]) for p in range(pes)])
            await ctx.tick()

    run(dut, bench)
    want = [_want(vals, slices[layer]) for layer, vals in items]
    for j, (got, exp) in enumerate(zip(seen, want)):
        s = slices[items[j][0]]
        read = range(pes) if s == 1 else range(0, pes - s + 1, s)     # the writer's lanes
        assert [got[p] for p in read] == [exp[p] for p in read], (j, s)
    assert len(seen) == len(items)


def test_no_sliced_layer_no_stages():
    from amaranth.hdl import Fragment

    plan = _plan(4, (1, 1))
    tree = SliceTree(plan)
    assert tree_stages(plan) == 0 and tree.latency == 0
    Fragment.get(tree, None)                # it elaborates (a pass-through)
