"""Analyses: widths (exact bounds), the cycle model's rules, shapes against the golden model."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from fpgac.compiler import ir
from fpgac.compiler.analysis import cycles, widths
from fpgac.compiler.analysis.shapes import infer_shapes
from fpgac.compiler.passes.fuse_activations import fuse_activations
from fpgac.compiler.passes.place_layers import place_layers
from fpgac.compiler.plan import plan_hardware
from fpgac.errors import FpgacError, UnsupportedError
from fpgac.sim import golden
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model


@pytest.mark.parametrize("bound,bits", [(0, 2), (1, 2), (2, 3), (3, 3), (4, 4), (127, 8),
                                        (128, 9), (2**40, 42)])
def test_signed_bits_exact(bound, bits):
    assert widths.signed_bits(bound) == bits
    assert -(2 ** (bits - 1)) <= -bound and bound <= 2 ** (bits - 1) - 1
    if bits > 2:      # minimal: one bit fewer does not hold the bound
        assert bound > 2 ** (bits - 2) - 1


@pytest.mark.parametrize("value,bits", [(0, 1), (1, 1), (2, 2), (255, 8), (256, 9)])
def test_unsigned_bits_exact(value, bits):
    assert widths.unsigned_bits(value) == bits


def test_negative_bounds_rejected():
    with pytest.raises(ValueError, match="expected a bound >= 0, found -1"):
        widths.signed_bits(-1)
    with pytest.raises(ValueError, match="expected a value >= 0, found -3"):
        widths.unsigned_bits(-3)


def _linear(weight, bias, inz, wz, n):
    q = ir.QuantParams(scale=1.0, zero_point=inz)
    return ir.Linear(name="fc", weight=np.asarray(weight, dtype=np.int64),
                     bias=None if bias is None else np.asarray(bias, dtype=np.int64),
                     in_q=q, out_q=ir.QuantParams(1.0, 0), w_scale=1.0, w_zero_point=wz,
                     mn=0, mqm0=1, n_bits=n)


@pytest.mark.parametrize("inz,wz", [(0, 0), (3, 1), (7, 7), (5, 2)])
def test_acc_bound_is_the_exhaustive_maximum(inz, wz):
    """3-bit, 3-input layer, every input vector: never above the bound, reached when tight."""
    n = 3
    weight = [[0, 7, 3], [wz, wz, wz], [7, 0, 1]]
    bias = [5, -9, 0]
    op = _linear(weight, bias, inz, wz, n)
    bounds = widths.acc_bound(op)
    worst = [0, 0, 0]
    for x in itertools.product(range(2 ** n), repeat=3):
        acc = golden.linear_acc(np.array([x]), op.weight, op.bias, inz, wz, n_bits=n)[0] \
            if "n_bits" in golden.linear_acc.__code__.co_varnames else \
            golden.linear_acc(np.array([x]), op.weight, op.bias, inz, wz)[0]
        worst = [max(w, abs(int(a))) for w, a in zip(worst, acc)]
    assert all(w <= b for w, b in zip(worst, bounds))
    if inz in (0, 2 ** n - 1):         # one-sided inputs: the bound is reached exactly
        assert worst == bounds
    assert widths.layer_acc_bits(op) == widths.signed_bits(max(bounds))


def test_acc_bound_over_limit_is_rejected():
    op = _linear([[65535] * 4], [2 ** 62 - 1 - 4 * 65535 ** 2], 0, 0, 16)
    assert widths.acc_bound(op) == [2 ** 62 - 1]         # just inside
    op.bias = np.array([2 ** 62 - 4 * 65535 ** 2], dtype=np.int64)
    with pytest.raises(UnsupportedError, match=r"fc: accumulator bound of output 0 is \d+, "
                                        r"expected < 2\*\*62"):
        widths.acc_bound(op)


@pytest.mark.parametrize("seed,pes", [(0, 1), (1, 4), (2, 8), (6, 3)])
def test_cycle_model_rules(seed, pes):
    model = random_model(seed)
    plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
    sched = cycles.schedule(plan)
    rep = cycles.predict(plan)
    last_write_prev_layer = 0
    t = 1
    for k, (g, (s, u, w, last)) in enumerate(zip(plan.program, sched)):
        n = g.phases * g.count
        assert s >= t                                      # one step per cycle, in order
        if g.layer_first and k:
            assert s >= last_write_prev_layer + cycles.BARRIER_LATENCY   # layer barrier
            assert s == max(t, last_write_prev_layer + cycles.BARRIER_LATENCY)
        else:
            assert s == t
        assert u >= s + n - 1                              # all steps issued
        if k:
            pu, pn = sched[k - 1][1], max(plan.program[k - 1].n_valid, cycles.GROUP_LATENCY)
            assert u >= pu + pn                            # hazard rule
            assert u == max(s + n - 1, pu + pn)            # and no wait beyond the rules
        assert w == u + cycles.ROM_LATENCY + cycles.LANE_LATENCY + plan.tree_latency
        assert last == w + g.n_valid - 1 + cycles.WRITER_LATENCY
        t = u + 1
        if k + 1 < len(plan.program) and plan.program[k + 1].layer_first:
            last_write_prev_layer = last
    assert rep.compute_cycles == sched[-1][3] + cycles.RESULT_LATENCY
    smax = max(d.slices for d in plan.descriptors)
    assert 2 ** plan.tree_latency == smax               # the tree: log2 of the largest s
    assert sum(la.cycles for la in rep.per_layer) == rep.compute_cycles
    assert rep.total_cycles == rep.compute_cycles + plan.input_pixels + plan.input_fill
    assert rep.load_cycles == plan.input_pixels + plan.input_fill
    assert rep.utilization == pytest.approx(plan.nnz_macs / pes / rep.compute_cycles)
    assert 0 < rep.utilization <= 1


def test_write_latency_does_not_move_cycles_within_the_barrier_bound():
    """The activation memory's write latency changes no cycle count up to ``barrier_latency +
    rom_latency + 1`` (a layer's first read is presented ``rom_latency + 2`` cycles after its
    issue), and a plan beyond it is refused, naming the bound."""
    import dataclasses

    model = random_model(1)
    plan = plan_hardware(model, pes=4, pixel_lut=pixel_table(model))
    assert plan.write_latency == cycles.WRITE_LATENCY == 1
    bound = plan.barrier_latency + plan.rom_latency + 1
    for wl in (0, 1, bound):
        assert cycles.schedule(dataclasses.replace(plan, write_latency=wl)) == \
            cycles.schedule(plan)
    with pytest.raises(ValueError, match=rf"plan.write_latency: expected at most "
                                         rf"barrier_latency \+ rom_latency \+ 1 = {bound}"):
        cycles.schedule(dataclasses.replace(plan, write_latency=bound + 1))


@pytest.mark.parametrize("seed", range(4))
def test_slice_bound_is_the_largest_tree_node(seed):
    """``widths.slice_bound``: the largest ``sum |w - wz| * x_max`` over the adder tree's nodes
    (one slice, two adjacent aligned slices, ...), checked against an explicit walk, and never
    above the accumulator bound of the whole channel (what lower_to_plan asserts)."""
    from fpgac.compiler.analysis.widths import slice_bound

    rng = np.random.default_rng(seed)
    total, wz, xmax = int(rng.integers(5, 40)), int(rng.integers(0, 256)), 255
    taps = sorted(rng.choice(total, int(rng.integers(0, total)), replace=False).tolist())
    weights = [(int((wz + rng.integers(1, 256)) % 256), t) for t in taps]
    s = int(2 ** rng.integers(1, 4))
    starts = [int(e) for e in np.linspace(0, total, s + 1).astype(int)][:-1]
    per = [sum(abs(w - wz) * xmax for w, t in weights
               if starts[i] <= t < (starts + [total])[i + 1]) for i in range(s)]
    nodes = [sum(per[i:i + 2 ** k]) for k in range(s.bit_length()) for i in range(0, s, 2 ** k)]
    assert slice_bound(weights, wz, xmax, starts, total) == max(nodes)
    assert max(nodes) <= sum(abs(w - wz) * xmax for w, _ in weights)


def test_more_lanes_never_more_cycles_on_a_spatial_model():
    model = random_model(2)
    lut = pixel_table(model)
    got = [cycles.predict(plan_hardware(model, pes=p, pixel_lut=lut)).compute_cycles
           for p in (1, 2, 4, 8)]
    assert got == sorted(got, reverse=True)


@pytest.mark.parametrize("seed", range(6))
def test_infer_shapes_matches_golden_outputs(seed):
    model = random_model(seed)
    shapes = infer_shapes(model)
    c, h, w = model.input.shape
    x = np.zeros((1, c, h, w), dtype=np.int64) + model.input.quant.zero_point
    _, outs = golden.run(model, x, intermediates=True)
    for shape, out in zip(shapes, outs):
        assert tuple(out.shape[1:]) == tuple(shape)
    # a wrong in_features is reported with its key path
    bad = replace(model)
    bad.ops = list(model.ops)
    lin = next(i for i, op in enumerate(bad.ops) if isinstance(op, ir.Linear))
    op = bad.ops[lin]
    bad.ops[lin] = replace(op, weight=np.zeros((op.out_features, op.in_features + 1),
                                               dtype=np.int64))
    with pytest.raises(Exception, match=rf"layers\[{lin}\]"):
        infer_shapes(bad)


def _interval_by_cycles(plan) -> int:
    """An independent cycle-by-cycle walk of the loader of ``plan.overlap`` against the
    schedule: pending register, writer priority, start no earlier than the hand-over."""
    sched = cycles.schedule(plan)
    compute = sched[-1][3] + plan.result_latency
    wr = [0] * (compute + 2)
    for (_, _, w, _), g in zip(sched, plan.program):
        for i in range(g.n_valid):
            wr[w + plan.writer_latency + i] += 1
    assert max(wr) <= 1                                 # one writer write per cycle
    s1 = min(s for (s, _, _, _), g in zip(sched, plan.program) if g.layer == 1)
    taken, pending, c = 0, False, 0
    while True:
        writer = c < len(wr) and wr[c]
        if pending and not writer:
            pending = False                             # the taken pixel is written now
        last = taken == plan.input_pixels - 1
        if c > s1 + 1 and not pending and (not last or c >= compute + 1):   # free: s1 + 2
            taken += 1
            pending = True
            if last:
                return c
        c += 1


@pytest.mark.parametrize("seed,pes", [(0, 1), (1, 4), (2, 8), (6, 3), (9, 2), (12, 5)])
def test_interval_cycles(seed, pes):
    model = random_model(seed)
    plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
    rep = cycles.predict(plan)
    assert rep.interval_cycles == rep.load_cycles + rep.compute_cycles == rep.total_cycles
    if len(plan.layers) < 2:
        with pytest.raises(FpgacError, match="overlap: expected a model with at least two"):
            plan_hardware(model, pes=pes, pixel_lut=pixel_table(model), overlap=True)
        return
    ov = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model), overlap=True)
    rov = cycles.predict(ov)
    assert ov.input_fill == 0 and rov.load_cycles == ov.input_pixels
    assert rov.compute_cycles == rep.compute_cycles     # same schedule
    assert rov.interval_cycles == _interval_by_cycles(ov)
    assert rov.compute_cycles < rov.interval_cycles <= rov.total_cycles


def test_interval_is_bounded_by_compute_or_by_the_load():
    """Both cases of ``max(compute + 1, f_{N-1})`` occur over random models (a big input and
    little compute: the load; else the compute)."""
    kinds = set()
    for seed in range(30):
        model = random_model(seed)
        if len(place_layers(fuse_activations(model))) < 2:
            continue
        plan = plan_hardware(model, pes=8, pixel_lut=pixel_table(model), overlap=True)
        rep = cycles.predict(plan)
        assert rep.interval_cycles == _interval_by_cycles(plan)
        kinds.add(rep.interval_cycles == rep.compute_cycles + 1)
    assert kinds == {True, False}


@pytest.mark.parametrize("pes", [16, 64])
def test_lenet5_interval(pes):
    """LeNet-5: the load (784 pixels from layer 1's first issue, around conv2's writes) ends
    before the compute, so an image every ``compute + 1`` cycles instead of ``load +
    compute``."""
    from pathlib import Path

    from fpgac.compiler.frontend import load_model

    model = load_model(Path(__file__).resolve().parents[3] / "examples" / "lenet5_g90_8b.yml")
    plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model), overlap=True)
    rep = cycles.predict(plan)
    assert plan.mem_depth == 2600 and rep.load_cycles == 784
    compute = rep.compute_cycles
    assert rep.interval_cycles == compute + 1 == _interval_by_cycles(plan)
    plain = cycles.predict(plan_hardware(model, pes=pes, pixel_lut=pixel_table(model)))
    # without overlap: the 784 pixels and the 48 ring cells conv2's output covers
    assert plain.compute_cycles == compute and plain.interval_cycles == compute + 784 + 48
