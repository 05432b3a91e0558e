"""lower_to_plan: the plan's ROMs hold exactly the non-zero weights, widths cover the worst case,
the program covers every output once, and the figures (MACs, ROM bits) are what they claim."""

from __future__ import annotations

import numpy as np
import pytest

from fpgac.compiler import ir
from fpgac.compiler.analysis import cycles, widths
from fpgac.compiler.passes.fuse_activations import fuse_activations
from fpgac.compiler.passes.encode_weights import decode_list
from fpgac.compiler.plan import CHANNEL_PARALLEL, plan_hardware
from fpgac.errors import FpgacError, UnsupportedError
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model
from rect_plans import rect_picker, rect_plan, slice_picker, slice_plan

CASES = [(s, p) for s in (0, 1, 2, 5, 9, 13) for p in (1, 3, 8)]
#: Rectangle window groups forced (random ``br x bc``, partial ones preferred).
RECT_CASES = [(s, p) for s in (0, 3, 7, 11, 13, 19) for p in (3, 5, 8)]
#: One-window slices forced (random ``s``, the largest first: ``rect = "slices"``).
SLICE_CASES = [(s, p) for s in (0, 1, 4, 6, 9, 13) for p in (4, 8, 16)]


def _plan(seed, pes, rect):
    model = random_model(seed)
    if rect == "slices":
        plan = slice_plan(model, pes, slice_picker(seed))
        assert any(la.slices > 1 for la in plan.layers)
        return model, plan
    if rect:
        return model, rect_plan(model, pes, rect_picker(seed))
    return model, plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))


def _weighted(model):
    return [op for op in fuse_activations(model).ops if isinstance(op, (ir.Conv2d, ir.Linear))]


def _bank_lists(plan):
    """Replay the bank commands of the program: per group, {bank: its list of entries}.

    Checks the bank contract on the way: a list ends at its ``last`` entry, *next* starts the
    following list, *rewind* keeps the current one, a list is never longer than its group's
    count and, in a bank without a ``last`` column, exactly as long.
    """
    nb = len(plan.banks)
    cur = [None] * nb          # (start, end) of the list each bank holds
    out = []
    for gi, g in enumerate(plan.program):
        assert len(g.bank_cmd) >= nb and not any(g.bank_cmd[nb:])
        lists = {}
        for k in range(nb):
            cmd = g.bank_cmd[k]
            if cmd == 0:
                continue
            if cmd == 1:
                start = 0 if cur[k] is None else cur[k][1]
                end = start
                while plan.banks[k][end][2] != 1:
                    end += 1
                cur[k] = (start, end + 1)
            assert cur[k] is not None, f"group {gi}: bank {k} rewinds before any list"
            lst = plan.banks[k][cur[k][0]:cur[k][1]]
            assert len(lst) <= g.count
            if not plan.bank_last[k]:
                assert len(lst) == g.count
            lists[k] = lst
        out.append(lists)
    for k in range(nb):       # every entry of every bank is read
        assert cur[k] is not None and cur[k][1] == len(plan.banks[k])
    return out


def _group_windows(d, g):
    """Per window slot of group ``g`` of a layer: its window ``(row, column)``, or ``None``
    for an invalid lane (past the last window; rectangles: past the map's last row or
    column), independently of the plan's counters (``LayerDesc`` docstring)."""
    hq = d.windows // d.win_w
    if not d.br:
        return [divmod(g * d.width + wi, d.win_w) if g * d.width + wi < d.windows else None
                for wi in range(d.width)]
    gy, gx = divmod(g, -(-d.win_w // d.bc))
    out = []
    for k in range(d.width):
        u, v = divmod(k, d.bc)
        y, x = gy * d.br + u, gx * d.bc + v
        out.append((y, x) if y < hq and x < d.win_w else None)
    return out


def _replay(plan):
    """Run the descriptors' loop and window counters as the controller, the lanes' window
    counters and the writer do (``LayerDesc`` docstring), independently of ``plan.program``.

    Returns per group ``(layer, count, in_bases, outs)``: the lanes' input bases and the
    written outputs ``[(lane, addr, bias)]`` in drain order. Checks on the way that the
    expanded program has the same groups.
    """
    out = []
    k = 0
    mask = (1 << plan.addr_bits) - 1
    for li, d in enumerate(plan.descriptors):
        init = plan.lane_init[li]
        owp = d.win_w + d.out_wrap
        for r in range(d.rounds):
            nch = d.last_slots if r == d.rounds - 1 else d.slots
            count = plan.round_counts[d.round_base + r]
            lanes = [list(e) for e in init]                     # (base, px, j) per lane
            off0, px0 = d.out_first, 0
            for g in range(d.groups):
                wins = _group_windows(d, g)
                nvw = sum(w is not None for w in wins)
                grp = plan.program[k]
                assert (grp.layer, grp.count, grp.n_valid, grp.phases) == (
                    li, count, nch * nvw, d.phases)
                assert nvw == (d.last_width if g == d.groups - 1 else nvw)
                assert grp.layer_first == (r == 0 and g == 0)
                bases = [b for b, _, _ in lanes]
                outs = []
                for ci in range(nch):
                    base, bias = plan.chan_table[d.rank_base + r * d.slots + ci]
                    for wi, win in enumerate(wins):
                        if win is None:
                            continue
                        # the group's offset + the lane's constant (rectangles: u * Wop + v)
                        y0, x0 = divmod(wi, d.bc) if d.br else (0, wi)
                        lane_off = y0 * owp + x0 if d.br else _raster_off(d, px0, wi)
                        outs.append((ci * d.width + wi, base + off0 + lane_off, bias))
                out.append((li, count, bases, outs))
                k += 1
                wrap = px0 + d.step_px >= d.grp_w
                for lane in lanes:                              # next window group
                    lane[2] += 0 if d.br else d.width
                    if lane[2] < (1 if d.br else d.windows):
                        lane[1] += d.step_px
                        lane[0] = (lane[0] + d.step_base) & mask
                        if lane[1] >= d.grp_w:
                            lane[1] -= d.grp_w
                            lane[0] = (lane[0] + d.wrap_base) & mask
                off0, px0 = ((off0 + d.grp_wrap, px0 + d.step_px - d.grp_w) if wrap
                             else (off0 + d.out_step, px0 + d.step_px))
    assert k == len(plan.program)
    return out


def _raster_off(d, px0, wi):
    """Raster order: the offset of window slot ``wi`` from the group's first window at column
    ``px0`` (one per window, ``out_wrap`` more per row wrap)."""
    rows = (px0 + wi) // d.win_w
    return wi + rows * d.out_wrap


def _rebuild(plan, li, op):
    """Weights of layer ``li`` read back from the banks: ``(dense w, fillers, weights)``.

    Every lane that writes an output of channel ``o`` must read a list decoding to that
    channel's weights exactly.
    """
    layer = plan.layers[li]
    wz = int(op.w_zero_point)
    c, h, w = layer.in_shape
    hp, wp = h + 2 * layer.in_pad, w + 2 * layer.in_pad
    if isinstance(op, ir.Conv2d):
        k = op.kernel
        flat = {ci * hp * wp + ky * wp + kx: (ci * k + ky) * k + kx
                for ci in range(c) for ky in range(k) for kx in range(k)}
    else:
        flat = {t: t for t in range(op.in_features)}
    oc = int(op.weight.shape[0])
    got = np.full((oc, len(flat)), -1, dtype=np.int64)
    ohp, owp = layer.out_shape[1], layer.out_shape[2]
    replay = _bank_lists(plan)
    fillers = weights = 0
    seen = set()
    replay_out = _replay(plan)
    sel = plan.sel_rows[plan.descriptors[li].sel_row]
    for gi, g in enumerate(plan.program):
        if g.layer != li:
            continue
        assert g.wz == wz
        outs = replay_out[gi][3]
        for lane in sorted({e[0] for e in outs}):
            addrs = [e[1] for e in outs if e[0] == lane]
            chans = {(a - layer.out_offset) // (ohp * owp) for a in addrs}
            assert len(chans) == 1, "a lane writes one output channel per group"
            o = chans.pop()
            row = np.full(len(flat), wz, dtype=np.int64)
            lists = []
            # slices: the writer's lane q * s holds the adder tree's sum of lanes q * s + i,
            # each its own bank's sub-list from its window base (the slice start)
            ns = plan.descriptors[li].slices
            for i in range(ns):
                bank = sel[lane + i]
                start = plan.lane_init[li][lane + i][0] - layer.in_offset if ns > 1 else 0
                lst = replay[gi][bank]
                lists.append((bank, lst))
                for wv, tap in decode_list(lst, wz, plan.gap_bits):
                    assert row[flat[tap + start]] == wz, f"weight ({o}, {tap}) twice"
                    row[flat[tap + start]] = wv
            if got[o, 0] == -1:
                got[o] = row
            else:
                assert np.array_equal(got[o], row), f"lanes of channel {o} read different lists"
            for bank, lst in lists:
                if (bank, o) not in seen:
                    seen.add((bank, o))
                    fillers += sum(1 for e in lst if e[0] == wz)
                    weights += sum(1 for e in lst if e[0] != wz)
    return got, fillers, weights


@pytest.mark.parametrize("seed,pes,rect", [c + (False,) for c in CASES]
                         + [c + (True,) for c in RECT_CASES[::3]]
                         + [c + ("slices",) for c in SLICE_CASES])
def test_roms_hold_exactly_the_nonzero_weights(seed, pes, rect):
    model, plan = _plan(seed, pes, rect)
    for li, op in enumerate(_weighted(model)):
        wmat = np.asarray(op.weight, dtype=np.int64).reshape(op.weight.shape[0], -1)
        got, fillers, weights = _rebuild(plan, li, op)
        assert np.array_equal(got, wmat), f"layer {li}: bank contents differ from the weights"
        nnz = int(np.sum(wmat != int(op.w_zero_point)))
        assert weights == nnz == plan.layers[li].nnz_weights
        layer = plan.layers[li]
        assert layer.dense_weights == wmat.size
    # stored once: one list per output channel (per channel and slice in a sliced layer) in
    # all the banks together (whatever P)
    lists = sum(sum(1 for e in bk if e[2]) for bk in plan.banks)
    assert lists == sum(int(op.weight.shape[0]) * la.slices
                        for op, la in zip(_weighted(model), plan.layers))


@pytest.mark.parametrize("seed,pes,rect", [c + (False,) for c in CASES]
                         + [c + (True,) for c in RECT_CASES]
                         + [c + ("slices",) for c in SLICE_CASES])
def test_program_writes_every_output_once_and_figures(seed, pes, rect):
    model, plan = _plan(seed, pes, rect)
    if rect is True:
        assert any(la.rect != (0, 0) for la in plan.layers)
    replay = _replay(plan)
    # per layer (regions are reused across layers, never within one)
    for li, layer in enumerate(plan.layers):
        written = [e[1] for grp in replay if grp[0] == li for e in grp[3]]
        assert len(written) == len(set(written)), "an output address is written twice"
        c, hp, wp = layer.out_shape
        pad = layer.out_pad
        want = {layer.out_offset + ci * hp * wp + (y + pad) * wp + x + pad
                for ci in range(c) for y in range(layer.out_map_shape[1])
                for x in range(layer.out_map_shape[2])}
        assert set(written) == want
    # lanes never exceed P; a written output's bias is its channel's
    assert all(0 <= e[0] < pes for grp in replay for e in grp[3])
    for li, layer in enumerate(plan.layers):
        op = _weighted(model)[li]
        bias = [0] * layer.out_shape[0] if op.bias is None else [int(b) for b in op.bias]
        c, hp, wp = layer.out_shape
        for grp in replay:
            if grp[0] == li:
                for _lane, addr, b in grp[3]:
                    assert b == bias[(addr - layer.out_offset) // (hp * wp)]
    # MAC counts: non-zero weights times (conv outputs used by the pools)
    for layer in plan.layers:
        per_weight = layer.nnz_macs // max(1, layer.nnz_weights) if layer.nnz_weights else 0
        assert layer.nnz_macs == layer.nnz_weights * per_weight
        assert layer.dense_macs == layer.dense_weights * (
            layer.dense_macs // layer.dense_weights)
    assert plan.nnz_macs == sum(la.nnz_macs for la in plan.layers)
    # the lockstep steps cannot do fewer than nnz_macs / P MACs
    steps = sum(g.phases * g.count for g in plan.program)
    assert steps * pes >= plan.nnz_macs
    assert cycles.predict(plan).compute_cycles >= steps
    assert plan.rom_bits == sum(len(bk) * (plan.wraw_bits + plan.gap_bits + int(last))
                                for bk, last in zip(plan.banks, plan.bank_last))
    assert plan.dense_rom_bits == sum(la.dense_weights * la.requant.n_bits
                                      for la in plan.layers)
    # channel-parallel layers: rounds are dealt in descending non-zero count
    for li, layer in enumerate(plan.layers):
        groups = [g for g in plan.program if g.layer == li]
        assert groups[0].layer_first and not any(g.layer_first for g in groups[1:])
        if layer.mode == CHANNEL_PARALLEL and pes // layer.lanes_per_stream > 1:
            counts = [g.count for g in groups]
            assert counts == sorted(counts, reverse=True)


def _independent_bound(op):
    n = int(op.n_bits)
    inz = int(op.in_q.zero_point)
    wd = np.asarray(op.weight, dtype=object).reshape(op.weight.shape[0], -1) - int(
        op.w_zero_point)
    xmax = max(inz, 2 ** n - 1 - inz)
    bias = [0] * wd.shape[0] if op.bias is None else [int(b) for b in op.bias]
    return max(sum(abs(int(v)) for v in row) * xmax + abs(b) for row, b in zip(wd, bias))


@pytest.mark.parametrize("seed,pes,rect", [
    c + (False,) for c in CASES + [(s, p) for s in (3, 7, 11) for p in (5, 7, 16)]]
    + [c + (True,) for c in RECT_CASES])
def test_window_counters_give_the_window_bases(seed, pes, rect):
    """The lanes' window counters (``lane_init`` + the descriptor steps) give, in every group,
    each lane with a valid window the base of that window (``g * width + p % width``, raster
    order; rectangles: ``(r0 + u, c0 + v)``; pool stride times conv stride apart in the
    padded input map); the tables are per layer or per channel, never per output position."""
    model, plan = _plan(seed, pes, rect)
    replay = _replay(plan)
    k = 0
    for li, (d, layer, op) in enumerate(zip(plan.descriptors, plan.layers, _weighted(model))):
        c, h, w = layer.in_shape
        wp = w + 2 * layer.in_pad
        if isinstance(op, ir.Conv2d):
            pk, ps = layer.pool if layer.pool else (1, 1)
            step = ps * int(op.stride)
        else:
            step = 0
        for _r in range(d.rounds):
            for g in range(d.groups):
                assert replay[k][0] == li
                wins = _group_windows(d, g)
                for p in range(min(pes, d.slots * d.width)):
                    if wins[p % d.width] is not None:
                        py, px = wins[p % d.width]
                        assert replay[k][2][p] == layer.in_offset + py * step * wp + px * step
                k += 1
    assert len(plan.chan_table) == sum(la.out_shape[0] for la in plan.layers)
    assert len(plan.descriptors) == len(plan.layers) == len(plan.lane_init)
    assert len(plan.round_counts) == sum(d.rounds for d in plan.descriptors)


@pytest.mark.parametrize("seed", range(12))
def test_widths_cover_the_worst_case(seed):
    model = random_model(seed)
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    for layer, op in zip(plan.layers, _weighted(model)):
        bound = _independent_bound(op)
        assert -(2 ** (layer.acc_bits - 1)) <= -bound and bound <= 2 ** (layer.acc_bits - 1) - 1
        assert layer.acc_bits == widths.signed_bits(bound)      # and not wider than needed
        assert plan.acc_bits >= layer.acc_bits
        # the worst input really reaches the bound (x at the far end for every tap)
        n = int(op.n_bits)
        inz = int(op.in_q.zero_point)
        wd = np.asarray(op.weight, dtype=object).reshape(op.weight.shape[0], -1) - int(
            op.w_zero_point)
        bias = [0] * wd.shape[0] if op.bias is None else [int(b) for b in op.bias]
        far = 2 ** n - 1 if 2 ** n - 1 - inz >= inz else 0
        best = 0
        for row, b in zip(wd, bias):
            sgn = 1 if (far - inz) * b >= 0 else -1
            acc = sum((int(far) - inz) * int(v) if v * sgn * (far - inz) >= 0 else 0
                      for v in row) + b
            best = max(best, abs(acc))
        assert best <= bound
    # the datapath registers: bias and weight deltas fit their fields
    assert max(abs(e[1]) for e in plan.chan_table) < 2 ** (plan.bias_bits - 1)
    for bank in plan.banks:
        for w, _gap, _last in bank:
            assert 0 <= w < 2 ** plan.wraw_bits
    assert plan.w_bits == plan.act_bits + 1


def test_bad_pes_and_unsupported_topology():
    model = random_model(1)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(FpgacError, match="pes: expected a positive integer"):
            plan_hardware(model, pes=bad, pixel_lut=pixel_table(model))
    conv_last = random_model(2, max_convs=2)
    conv_last.ops = [op for op in conv_last.ops if isinstance(op, ir.Conv2d)][:1]
    if conv_last.ops:
        with pytest.raises(UnsupportedError):
            plan_hardware(conv_last, pes=2, pixel_lut=pixel_table(conv_last))


@pytest.mark.parametrize("name,limit", [("lenet5_g90_8b.yml", 0.30),
                                        ("lenet5_g90_4b.fpgac.yml", 0.50)])
def test_shipped_lenet_weight_storage_targets(name, limit):
    """Issue 13: all bank entries (weights, gaps, last bits, fillers) of the shipped 90 %-sparse
    LeNet-5 take at most 0.30x (8-bit) / 0.50x (4-bit) the dense weight bits, whatever P
    (measured for every P in 1..64 by bench/memory_bench.py's formulas: 0.18x / 0.26x)."""
    from pathlib import Path

    from fpgac.compiler.frontend import load_model

    model = load_model(Path(__file__).resolve().parents[3] / "examples" / name)
    entries, sliced = set(), []
    for pes in (1, 2, 7, 16, 54, 64):
        plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
        assert plan.rom_bits <= limit * plan.dense_rom_bits, pes
        n = sum(len(b) for b in plan.banks)
        extra = sum(la.out_shape[0] * (la.slices - 1) for la in plan.layers)
        (sliced.append((n, extra)) if extra else entries.add(n))
    assert len(entries) == 1, "stored once: the number of entries does not depend on P"
    assert sliced, "the compiler slices a LeNet-5 layer at some P"
    # slices: a sub-list's gaps start at its slice (no more fillers than the whole list's),
    # an empty sub-list is one filler
    base = entries.pop()
    assert all(base < n <= base + extra for n, extra in sliced), (base, sliced)


@pytest.mark.parametrize("total,s", [(10, 4), (12, 4), (7, 2), (33, 8), (5, 4)])
def test_slice_lists_partition_the_taps(total, s):
    """``_slice_lists``: the ``np.linspace`` cut (``s`` need not divide the taps) puts every
    non-zero weight in exactly one slice, at its tap minus the slice start; a slice without
    weights is the single filler."""
    from fpgac.compiler.passes.lower_to_plan import _slice_lists

    rng = np.random.default_rng(total * 10 + s)
    wz, gap_bits = 7, 2
    raw = []
    for o in range(4):
        taps = sorted(rng.choice(total, int(rng.integers(0, total + 1)), replace=False))
        raw.append([(int(wz + 1 + rng.integers(0, 100)), int(t)) for t in taps])
    raw.append([(wz + 3, total - 1)])           # only the last slice has a weight
    starts, sub = _slice_lists(raw, total, s, wz, gap_bits)
    edges = list(starts) + [total]
    assert starts[0] == 0 and list(starts) == sorted(set(starts)) and len(starts) == s
    assert max(edges[i + 1] - edges[i] for i in range(s)) - min(
        edges[i + 1] - edges[i] for i in range(s)) <= 1
    for o, lst in enumerate(raw):
        got = []
        for i in range(s):
            dec = decode_list(sub[o][i], wz, gap_bits)
            assert all(0 <= t < edges[i + 1] - edges[i] for _, t in dec)
            if not dec:
                assert sub[o][i] == [(wz, 0, 1)]            # the single filler
            got += [(w, t + starts[i]) for w, t in dec]
        assert got == lst
    assert all(sub[-1][i] == [(wz, 0, 1)] for i in range(s - 1))
