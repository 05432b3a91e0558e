"""choose_mapping: the channel slots with the fewest estimated cycles, ties to fewer slots;
rectangles priced with the exact issue / hazard rules, chosen only where they win; one-window
slices priced the same way (a round costs its channels' longest sub-list)."""

from __future__ import annotations

import pytest

from fpgac.compiler.passes.choose_mapping import (Mapping, choose_mapping, layer_cycles,
                                                  mapping_cost, rect_cost, slice_order,
                                                  slice_rounds)


def _lists(lengths):
    return [[(1, 0, 0)] * n for n in lengths]


def test_cost_counts_steps_or_writer_drain_per_group():
    lists = _lists([5, 3, 2, 1])
    # a = 2 (b = 2 window slots), 3 windows: rounds {5, 3} and {2, 1}; groups of 2 and 1 window
    assert mapping_cost(4, lists, 3, 1, 2) == (max(5, 4) + max(5, 2)) + (max(2, 4) + max(2, 2))
    # one window, a = 4: one round of count 5, 4 results to write
    assert mapping_cost(4, lists, 1, 1, 4) == 5


@pytest.mark.parametrize("pes,lengths,windows,phases", [
    (1, [4, 4], 9, 4), (4, [7, 2, 2, 1, 1], 1, 1), (8, [3] * 6, 25, 4), (6, [9, 1, 1], 4, 1)])
def test_the_choice_is_the_cheapest_and_ties_go_to_fewer_slots(pes, lengths, windows, phases):
    lists = _lists(lengths)
    a = choose_mapping(pes, lists, windows, phases).a
    costs = {k: mapping_cost(pes, lists, windows, phases, k)
             for k in range(1, min(pes, len(lists)) + 1)}
    assert costs[a] == min(costs.values())
    assert a == min(k for k, c in costs.items() if c == costs[a])


def test_single_window_layers_use_many_channel_slots():
    assert choose_mapping(8, _lists([30] * 16), 1, 1) == Mapping(8)
    assert choose_mapping(1, _lists([30] * 16), 1, 1) == Mapping(1)
    # one window: no rectangle is priced even with a shape
    assert choose_mapping(8, _lists([30] * 16), 1, 1, shape=(1, 1)) == Mapping(8)


def test_layer_cycles_follow_the_issue_and_hazard_rules():
    # groups (steps, n_valid): the last step of a group waits n_valid of the group before
    assert layer_cycles([(3, 1)]) == 2 + 1       # last step in cycle 2, then 1 result
    # 2nd group: its 2 steps would end in cycle 4, but the hazard holds it to 2 + 5 = 7
    assert layer_cycles([(3, 5), (2, 1)]) == 7 + 1
    assert layer_cycles([(4, 2), (4, 2), (4, 2)]) == 11 + 2


def test_rect_cost_counts_valid_lanes_of_partial_rectangles():
    lists = _lists([2, 2])
    # 3 x 5 windows, 2 x 2 rectangles, a = 2: groups valid 4, 4, 2 / 2, 2, 1 per channel
    valid = [4, 4, 2, 2, 2, 1]
    assert rect_cost(lists, (3, 5), 4, 2, 2, 2) == layer_cycles([(8, 2 * v) for v in valid])


def test_rectangles_win_a_row_end_and_are_chosen():
    """5 x 5 windows at P = 16, two channels of 3 steps and 4 phases (12 steps a group):
    raster a = 1 takes groups of 16 and 9 windows per channel, writer-bound (16 > 12);
    3 x 5 rectangles (15 lanes) drain 15 and 10: fewer cycles, so they are chosen."""
    lists = _lists([3, 3])
    got = choose_mapping(16, lists, 25, 4, shape=(5, 5))
    assert got == Mapping(1, 3, 5)
    assert rect_cost(lists, (5, 5), 4, 1, 3, 5) < layer_cycles(
        [(12, 16), (12, 9), (12, 16), (12, 9)])
    # without the shape (or a one-window layer) it is today's raster mapping
    assert choose_mapping(16, lists, 25, 4) == Mapping(1)


@pytest.mark.parametrize("pes,lengths,shape,phases", [
    (8, [3, 3], (5, 7), 4), (16, [9, 4, 4, 1], (6, 6), 1), (12, [2] * 5, (7, 3), 4),
    (32, [20] * 6, (14, 14), 4), (64, [20] * 6, (14, 14), 4), (54, [20] * 6, (14, 14), 4)])
def test_the_choice_is_the_exact_cheapest_and_ties_go_to_raster(pes, lengths, shape, phases):
    lists = _lists(lengths)
    windows = shape[0] * shape[1]
    got = choose_mapping(pes, lists, windows, phases, shape=shape)
    a0 = choose_mapping(pes, lists, windows, phases).a
    b0 = pes // a0
    rounds = [max(lengths[r:r + a0]) for r in range(0, len(lengths), a0)]
    nchs = [len(lengths[r:r + a0]) for r in range(0, len(lengths), a0)]
    raster = layer_cycles([(phases * c, n * min(b0, windows - g)) for c, n in zip(rounds, nchs)
                           for g in range(0, windows, b0)])
    rects = {(br, bc): rect_cost(lists, shape, phases, min(pes // (br * bc), len(lists)), br,
                                 bc)
             for br in range(1, shape[0] + 1) for bc in range(1, min(shape[1], pes // br) + 1)}
    best = min(rects.values())
    if best < raster:
        assert (got.br, got.bc) in rects and rects[(got.br, got.bc)] == best
        assert got.a == min(pes // (got.br * got.bc), len(lists))
    else:
        assert got == Mapping(a0)


def test_rectangles_that_do_not_fit_are_not_chosen():
    lists = _lists([20] * 6)
    got = choose_mapping(64, lists, 25, 4, shape=(5, 5))
    assert got == Mapping(6, 2, 5)
    assert choose_mapping(64, lists, 25, 4, shape=(5, 5), fits=lambda br, bc: False) == (
        choose_mapping(64, lists, 25, 4))
    banned = choose_mapping(64, lists, 25, 4, shape=(5, 5),
                            fits=lambda br, bc: (br, bc) != (got.br, got.bc))
    assert (banned.br, banned.bc) != (got.br, got.bc)


def _sub(lengths):
    """Sub-lists of the given lengths per channel: ``lengths[o][i]`` entries in slice ``i``."""
    return [[[(1, 0, 0)] * n for n in row] for row in lengths]


def test_slice_rounds_cost_the_longest_sub_list_of_their_channels():
    sub = _sub([[1, 6], [4, 4], [2, 1], [0, 3]])
    # descending longest sub-list, stable: 0 (6), 1 (4), 3 (3), 2 (2)
    assert slice_order(sub) == [0, 1, 3, 2]
    assert list(slice_rounds(sub, 2)) == [(6, 2), (3, 2)]
    assert list(slice_rounds(sub, 3)) == [(6, 3), (2, 1)]
    # all sub-lists empty: a round still takes one step
    assert list(slice_rounds(_sub([[0, 0]]), 1)) == [(1, 1)]


def test_slices_are_chosen_only_when_strictly_faster():
    # 2 channels of 40 entries at P = 8: channel-parallel a = 2 takes 40 steps a round;
    # 4 slices of 10 per channel (a = 2) take 10
    lists = _lists([40, 40])
    even = {2: _sub([[20, 20]] * 2), 4: _sub([[10] * 4] * 2), 8: _sub([[5] * 8] * 2)}
    assert choose_mapping(8, lists, 1, 1, slices={2: even[2], 4: even[4]}) == Mapping(2, 0, 0, 4)
    # a = min(P // s, channels): s = 8 leaves one channel slot, 2 rounds of 5 steps
    assert layer_cycles(slice_rounds(even[8], 1)) < layer_cycles(slice_rounds(even[4], 2))
    assert choose_mapping(8, lists, 1, 1, slices=even) == Mapping(1, 0, 0, 8)
    # every weight in one slice: no slice count is faster, ties go to s = 1 (today's)
    lop = {2: _sub([[40, 0]] * 2), 4: _sub([[40, 0, 0, 0]] * 2)}
    assert choose_mapping(8, lists, 1, 1, slices=lop) == Mapping(2)
    # pool phases or several windows: never sliced (max over phases of partial sums differs)
    assert choose_mapping(8, lists, 1, 4, slices=even).s == 1
    assert choose_mapping(8, lists, 3, 1, slices=even).s == 1


def test_slice_choice_is_the_exact_cheapest():
    import numpy as np

    rng = np.random.default_rng(3)
    for _ in range(30):
        pes, oc = int(rng.choice([4, 8, 16])), int(rng.integers(1, 12))
        lengths = rng.integers(0, 12, (oc, pes))
        slices = {}
        for s in (2, 4, 8, 16):
            if s <= pes:
                parts = np.add.reduceat(lengths, np.arange(0, pes, pes // s), axis=1)
                slices[s] = _sub(parts.tolist())
        lists = _lists(lengths.sum(1).tolist())
        got = choose_mapping(pes, lists, 1, 1, slices=slices)
        base = choose_mapping(pes, lists, 1, 1)
        costs = {1: layer_cycles((max(1, max(len(lists[o]) for o in r)), len(r))
                                 for r in _chunks(lists, base.a))}
        costs.update({s: layer_cycles(slice_rounds(sub, min(pes // s, oc)))
                      for s, sub in slices.items()})
        best = min(costs.values())
        assert costs[got.s] == best
        assert got.s == min(s for s, c in costs.items() if c == best)
        assert got.a == (base.a if got.s == 1 else min(pes // got.s, oc))


def _chunks(lists, a):
    order = sorted(range(len(lists)), key=lambda o: -len(lists[o])) if a > 1 else list(
        range(len(lists)))
    return [order[r:r + a] for r in range(0, len(order), a)]


def test_pooled_rounds_are_priced_at_their_padded_count():
    """One-entry lists of a pooled layer cost ``MIN_POOLED_COUNT`` steps a phase, as emitted;
    a one-phase layer one step."""
    from fpgac.compiler.plan import MIN_POOLED_COUNT

    lists = _lists([1, 1])
    # a = 2, one window: one round; a = 1: two rounds, one result each
    assert mapping_cost(2, lists, 1, 4, 2) == max(4 * MIN_POOLED_COUNT, 2)
    assert mapping_cost(2, lists, 1, 4, 1) == 2 * 4 * MIN_POOLED_COUNT
    assert mapping_cost(2, lists, 1, 1, 1) == 2 * 1
