"""emit_tables: banks, descriptors and per-channel tables of a layer (nothing per output)."""

from __future__ import annotations

from fpgac.compiler.passes.emit_tables import Tables, Windows


def _list(n, last=True):
    return [(1, 0, 0)] * (n - 1) + [(1, 0, int(last))]


def test_channel_parallel_layer_rounds_banks_and_tables():
    tables = Tables(4)
    lists = [_list(3), _list(1), _list(2)]
    win = Windows(count=1, width=1, row=0, col=0, phase_offs=(0,), used_outputs=1)
    mode, groups = tables.add_layer(0, final=True, lists=lists, a=2, win=win, bias=[5, -6, 7],
                                    wz=3, inz=4, in_offset=10, out_offset=100, out_pad=0)
    assert mode == "channel-parallel" and groups == 2
    d = tables.descriptors[0]
    assert (d.rounds, d.groups, d.slots, d.last_slots, d.width, d.last_width) == (2, 1, 2, 1,
                                                                                   2, 1)
    # rounds take channels in descending list length: {0, 2} then {1}
    assert tables.chan_table == [(100, 5), (102, 7), (101, -6)]
    assert tables.round_counts == [3, 1]
    assert tables.banks[0] == lists[0] + lists[1] and tables.banks[1] == lists[2]
    assert tables.bank_last[:2] == [False, True]
    assert tables.sel_rows == [(0, 0, 1, 1)]
    assert [g.bank_cmd for g in tables.program] == [(1, 1, 0, 0), (1, 0, 0, 0)]
    assert [g.n_valid for g in tables.program] == [2, 1]
    assert tables.lane_init[0] == ((10, 0, 0), (10, 0, 1), (10, 0, 0), (10, 0, 1))


def test_spatial_layer_window_counters():
    tables = Tables(3)
    # 2 x 3 windows, stride 2 in a 9-wide input: 3 lanes = one window row per group
    win = Windows(count=6, width=3, row=18, col=2, phase_offs=(0, 1, 9, 10), used_outputs=24)
    mode, groups = tables.add_layer(1, final=False, lists=[_list(4)], a=1, win=win, bias=[0],
                                    wz=0, inz=0, in_offset=50, out_offset=200, out_pad=1)
    assert mode == "spatial" and groups == 2
    d = tables.descriptors[0]
    assert (d.step_px, d.step_base, d.wrap_base) == (0, 18, 18 - 3 * 2)
    assert (d.out_first, d.out_step, d.out_wrap) == (5 + 1, 5, 2)
    assert tables.phase_table == [0, 0, 1, 9, 10] and d.phase_base == 1
    assert tables.lane_init[0] == ((50, 0, 0), (52, 1, 1), (54, 2, 2))
    assert [g.bank_cmd for g in tables.program] == [(1, 0, 0), (2, 0, 0)]


def test_sliced_layer_banks_lane_bases_and_groups():
    """One-window slices (s = 2, a = 2 at P = 5): lane q * 2 + i reads sub-list i of its
    slot's channel from bank q * 2 + i, based at the slice start; channels in descending
    longest sub-list; a round costs its longest sub-list and drains its channels."""
    tables = Tables(5)
    sub = [[_list(1), _list(2)], [_list(4), _list(1)], [_list(1), _list(1)]]
    win = Windows(count=1, width=1, row=0, col=0, phase_offs=(0,), used_outputs=1)
    mode, groups = tables.add_layer(0, final=True, lists=sub, a=2, win=win, bias=[5, -6, 7],
                                    wz=3, inz=4, in_offset=10, out_offset=100, out_pad=0,
                                    slices=(2, (0, 7)))
    assert mode == "channel-parallel" and groups == 2
    d = tables.descriptors[0]
    assert (d.slices, d.width, d.slots, d.last_slots, d.rounds) == (2, 2, 2, 1, 2)
    # order: channel 1 (4), 0 (2), 2 (1)
    assert tables.chan_table == [(101, -6), (100, 5), (102, 7)]
    assert tables.round_counts == [4, 1]
    assert tables.banks[0] == sub[1][0] + sub[2][0]
    assert tables.banks[1] == sub[1][1] + sub[2][1]
    assert tables.banks[2] == sub[0][0] and tables.banks[3] == sub[0][1]
    assert tables.banks[4] == []
    assert tables.bank_last[:4] == [False, True, True, True]
    assert tables.sel_rows == [(0, 1, 2, 3, 0)]
    assert [g.bank_cmd for g in tables.program] == [(1, 1, 1, 1, 0), (1, 1, 0, 0, 0)]
    assert [(g.n_valid, g.nch, g.nvw) for g in tables.program] == [(2, 2, 1), (1, 1, 1)]
    assert tables.lane_init[0] == ((10, 0, 0), (17, 0, 0), (10, 0, 0), (17, 0, 0),
                                   (10, 0, 1))


def test_slices_need_a_one_window_layer_and_enough_lanes():
    import pytest

    win = Windows(count=1, width=1, row=0, col=0, phase_offs=(0, 1), used_outputs=2)
    with pytest.raises(ValueError, match="one-window layer without pool phases"):
        Tables(4).add_layer(0, final=True, lists=[[_list(1), _list(1)]], a=1, win=win,
                            bias=[0], wz=0, inz=0, in_offset=0, out_offset=0, out_pad=0,
                            slices=(2, (0, 3)))
    win = Windows(count=1, width=1, row=0, col=0, phase_offs=(0,), used_outputs=1)
    with pytest.raises(ValueError, match="a \\* s <= 4"):
        Tables(4).add_layer(0, final=True, lists=[[_list(1), _list(1)]] * 3, a=3, win=win,
                            bias=[0] * 3, wz=0, inz=0, in_offset=0, out_offset=0, out_pad=0,
                            slices=(2, (0, 3)))


def test_pooled_rounds_take_at_least_two_steps_a_phase():
    """A round of a pooled layer whose longest list is one entry lasts ``MIN_POOLED_COUNT``
    steps a phase (the lane's two-stage pool, ``hw/lane.py``), its banks stopping at their
    ``last`` entry; a one-phase layer keeps one step."""
    from fpgac.compiler.plan import MIN_POOLED_COUNT

    assert MIN_POOLED_COUNT == 2
    pooled = Windows(count=1, width=1, row=0, col=0, phase_offs=(0, 1, 4, 5), used_outputs=1)
    flat = Windows(count=1, width=1, row=0, col=0, phase_offs=(0,), used_outputs=1)
    for win, want in ((pooled, [2, 3]), (flat, [1, 3])):
        tables = Tables(2)
        lists = [_list(1), _list(3)]
        tables.add_layer(0, final=True, lists=lists, a=1, win=win, bias=[0, 0], wz=3, inz=4,
                         in_offset=10, out_offset=100, out_pad=0)
        # a = 1 deals channels in order: round 0 is the one-entry list
        assert tables.round_counts == want
        assert [g.count for g in tables.program] == want
        assert tables.bank_last[0] == (win is pooled)
