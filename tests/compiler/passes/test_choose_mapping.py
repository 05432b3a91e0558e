"""choose_mapping: the channel slots with the fewest estimated cycles, ties to fewer slots."""

from __future__ import annotations

import pytest

from fpgac.compiler.passes.choose_mapping import choose_mapping, mapping_cost


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
    a = choose_mapping(pes, lists, windows, phases)
    costs = {k: mapping_cost(pes, lists, windows, phases, k)
             for k in range(1, min(pes, len(lists)) + 1)}
    assert costs[a] == min(costs.values())
    assert a == min(k for k, c in costs.items() if c == costs[a])


def test_single_window_layers_use_many_channel_slots():
    assert choose_mapping(8, _lists([30] * 16), 1, 1) == 8
    assert choose_mapping(1, _lists([30] * 16), 1, 1) == 1
