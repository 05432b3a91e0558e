"""lower_to_plan: the plan's ROMs hold exactly the non-zero weights, widths cover the worst case,
the program covers every output once, and the figures (MACs, ROM bits) are what they claim."""

from __future__ import annotations

import numpy as np
import pytest

from fpgac.compiler import ir
from fpgac.compiler.analysis import cycles, widths
from fpgac.compiler.passes.fuse_activations import fuse_activations
from fpgac.compiler.plan import LANES, SPATIAL, plan_hardware
from fpgac.errors import FpgacError, UnsupportedError
from fpgac.sim.randmodel import random_model

CASES = [(s, p) for s in (0, 1, 2, 5, 9, 13) for p in (1, 3, 8)]


def _weighted(model):
    return [op for op in fuse_activations(model).ops if isinstance(op, (ir.Conv2d, ir.Linear))]


def _rebuild(plan, li, op):
    """Weights of layer ``li`` read back from the ROMs: ``(dense w, dummies, entries)``.

    Every copy of a channel's list (shared ROM, or a lane ROM column) must decode to that
    channel's weights exactly; ``entries`` counts one copy per channel, ``dummies`` the
    all-zero entries of distinct shared-ROM lists.
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
    seen = set()
    dummies = entries = 0
    ohp, owp = layer.out_shape[1], layer.out_shape[2]
    for g in (g for g in plan.program if g.layer == li):
        outs = plan.out_table[g.out_base:g.out_base + g.n_valid]
        for lane in sorted({e[0] for e in outs}):
            addrs = [e[1] for e in outs if e[0] == lane]
            chans = {(a - layer.out_offset) // (ohp * owp) for a in addrs}
            assert len(chans) == 1, "a lane writes one output channel per group"
            o = chans.pop()
            if g.mode == SPATIAL:
                key = ("shared", g.rom_start)
                lst = plan.shared_rom[g.rom_start:g.rom_start + g.count]
            else:
                key = ("lane", g.rom_start, lane)
                lst = [plan.lane_rom[g.rom_start + e][lane] for e in range(g.count)]
            if key in seen:
                continue
            seen.add(key)
            row = np.full(len(flat), wz, dtype=np.int64)
            n_real = 0
            for d, tap in lst:
                if d == 0:
                    assert tap == 0, "dummy entries are (0, 0)"
                    dummies += g.mode == SPATIAL
                    continue
                n_real += 1
                assert row[flat[tap]] == wz, f"weight ({o}, {tap}) twice in one list"
                row[flat[tap]] = d + wz
            if got[o, 0] == -1:
                got[o] = row
                entries += n_real
            else:
                assert np.array_equal(got[o], row), f"copies of channel {o} differ"
    return got, dummies, entries


@pytest.mark.parametrize("seed,pes", CASES)
def test_roms_hold_exactly_the_nonzero_weights(seed, pes):
    model = random_model(seed)
    plan = plan_hardware(model, pes=pes)
    for li, op in enumerate(_weighted(model)):
        wmat = np.asarray(op.weight, dtype=np.int64).reshape(op.weight.shape[0], -1)
        got, dummies, entries = _rebuild(plan, li, op)
        assert np.array_equal(got, wmat), f"layer {li}: ROM contents differ from the weights"
        nnz = int(np.sum(wmat != int(op.w_zero_point)))
        assert entries == nnz == plan.layers[li].nnz_weights
        layer = plan.layers[li]
        # only documented dummies: one per all-zero filter in a shared-ROM list
        zero_filters = int(np.sum(~(wmat != int(op.w_zero_point)).any(axis=1)))
        assert dummies <= zero_filters
        assert layer.dense_weights == wmat.size


@pytest.mark.parametrize("seed,pes", CASES)
def test_program_writes_every_output_once_and_figures(seed, pes):
    model = random_model(seed)
    plan = plan_hardware(model, pes=pes)
    written = [e[1] for e in plan.out_table]
    assert len(written) == len(set(written)), "an output address is written twice"
    want = set()
    for layer in plan.layers:
        c, hp, wp = layer.out_shape
        pad = layer.out_pad
        want |= {layer.out_offset + ci * hp * wp + (y + pad) * wp + x + pad
                 for ci in range(c) for y in range(layer.out_map_shape[1])
                 for x in range(layer.out_map_shape[2])}
    assert set(written) == want
    # lanes never exceed P and the writer drain matches the table
    assert all(0 <= e[0] < pes for e in plan.out_table)
    assert sum(g.n_valid for g in plan.program) == len(plan.out_table)
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
    entry = plan.w_bits + plan.tap_bits
    assert plan.rom_bits == (len(plan.shared_rom) + len(plan.lane_rom) * pes) * entry
    assert plan.dense_rom_bits == sum(la.dense_weights * la.requant.n_bits
                                      for la in plan.layers)
    # output-parallel layers: rounds are dealt in descending non-zero count
    for li, layer in enumerate(plan.layers):
        groups = [g for g in plan.program if g.layer == li]
        assert groups[0].layer_first and not any(g.layer_first for g in groups[1:])
        if layer.mode == LANES and pes // layer.lanes_per_stream > 1:
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


@pytest.mark.parametrize("seed", range(12))
def test_widths_cover_the_worst_case(seed):
    model = random_model(seed)
    plan = plan_hardware(model, pes=2)
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
    assert max(abs(e[2]) for e in plan.out_table) < 2 ** (plan.bias_bits - 1)
    for d, _tap in plan.shared_rom:
        assert -(2 ** (plan.w_bits - 1)) <= d < 2 ** (plan.w_bits - 1)
    assert plan.w_bits == plan.act_bits + 1


def test_bad_pes_and_unsupported_topology():
    model = random_model(1)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(FpgacError, match="pes: expected a positive integer"):
            plan_hardware(model, pes=bad)
    conv_last = random_model(2, max_convs=2)
    conv_last.ops = [op for op in conv_last.ops if isinstance(op, ir.Conv2d)][:1]
    if conv_last.ops:
        with pytest.raises(UnsupportedError):
            plan_hardware(conv_last, pes=2)
