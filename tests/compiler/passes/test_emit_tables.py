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
