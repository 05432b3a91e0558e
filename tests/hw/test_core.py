"""The whole core (:class:`fpgac.hw.core.Accelerator`) in the Amaranth simulator against the
golden functions and the cycle model; the published latencies (core, writer) against
:mod:`fpgac.compiler.analysis.cycles` and the plan.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Fragment

from fpgac.compiler.analysis import cycles
from fpgac.compiler.plan import plan_hardware
from fpgac.hw.core import Accelerator
from fpgac.hw.writer import Writer
from fpgac.sim import golden
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model


def test_published_latencies_match_cycle_model():
    model = random_model(5)
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    acc = Accelerator(plan)
    assert acc.rom_latency == cycles.ROM_LATENCY
    assert acc.lane_latency == cycles.LANE_LATENCY
    assert acc.writer_latency == cycles.WRITER_LATENCY
    assert acc.result_latency == cycles.RESULT_LATENCY
    assert acc.barrier_latency == cycles.BARRIER_LATENCY
    assert acc.group_latency == cycles.GROUP_LATENCY
    assert acc.tree_latency == plan.tree_latency == 0           # no sliced layer: no tree
    assert acc.write_latency == cycles.WRITE_LATENCY
    # the plan carries the same ones, and the core refuses one that differs
    import dataclasses
    for name in ("rom", "lane", "writer", "result", "barrier", "group", "tree", "write"):
        assert getattr(plan, f"{name}_latency") == getattr(acc, f"{name}_latency")
    with pytest.raises(ValueError, match="plan.write_latency: expected 1"):
        Fragment.get(Accelerator(dataclasses.replace(plan, write_latency=0)), None)
    writer = Writer(plan)
    assert writer.latency == cycles.WRITER_LATENCY
    Fragment.get(writer, None)                 # it elaborates (and is not left unused)



def _assert_exact(model, plan, images) -> None:
    """The core (Amaranth simulator) on ``images``: every logit and class equal to golden's,
    every image's compute cycles equal to ``predict``."""
    from fpgac.hw.amsim import simulate

    runs = simulate(plan, images.reshape(len(images), -1))
    logits, klass = golden.predict(model, images)
    want = cycles.predict(plan).compute_cycles
    for i, r in enumerate(runs):
        assert list(r.logits) == list(logits[i]) and r.klass == klass[i], i
        assert r.compute_cycles == want

@pytest.mark.parametrize("seed,pes,ports,fanout", [(5, 3, 1, 8), (21, 2, 1, 1), (5, 5, 2, 2),
                                                   (21, 3, 2, 8)])
def test_core_in_amaranth_sim_vs_golden_and_cycles(seed, pes, ports, fanout):
    """Whole core (controller, banks, lanes, writer, loader, result unit) on a small random
    model, with one ROM per bank and with banks paired in two-read-port ROMs; the step
    registers at the lanes one copy for all lanes or per group of ``fanout`` lanes."""
    import dataclasses

    model = random_model(seed, size=(6, 8), max_convs=2, max_conv_channels=3,
                         max_features=6)
    plan = plan_hardware(model, pes=pes, bank_ports=ports, pixel_lut=pixel_table(model))
    plan = dataclasses.replace(plan, fanout_lanes=fanout)
    if ports == 2:          # and activation copies split into a body and a tail
        assert plan.mem_depth > 1 << (plan.addr_bits - 1)
        plan = dataclasses.replace(plan, act_body=1 << (plan.addr_bits - 1))
    c, h, w = plan.input_shape
    rng = np.random.default_rng(seed)
    images = np.concatenate([np.zeros((1, c, h, w), np.uint8), np.full((1, c, h, w), 255,
                                                                      np.uint8),
                             rng.integers(0, 256, (1, c, h, w), dtype=np.uint8)])
    _assert_exact(model, plan, images)



def _one_weight_filters(model, seed):
    """``model`` with every filter of its convs cut to one non-zero weight (a random tap and
    value), so every round of a pooled conv has one-entry lists."""
    import dataclasses

    from fpgac.compiler import ir

    rng = np.random.default_rng(seed)
    ops = []
    for op in model.ops:
        if isinstance(op, ir.Conv2d):
            wz = op.w_zero_point
            w = np.full_like(op.weight, wz)
            for o in range(w.shape[0]):
                tap = tuple(int(rng.integers(0, n)) for n in w.shape[1:])
                w[(o, *tap)] = (wz + int(rng.integers(1, 1 << op.n_bits))) % (1 << op.n_bits)
            op = dataclasses.replace(op, weight=w)
        ops.append(op)
    return dataclasses.replace(model, ops=type(model.ops)(ops))


@pytest.mark.parametrize("seed,pes", [(10, 3), (16, 4), (11, 2)])
def test_pooled_one_entry_rounds_take_two_steps_a_phase(seed, pes):
    """Pooled convs whose filters have one non-zero weight each: the compiler gives their
    rounds ``MIN_POOLED_COUNT`` steps per phase (the lane compares with the pool a cycle
    before it selects, so a phase end must not follow the previous one in the next cycle);
    bit-exact with golden on random images, cycles == ``predict``. With one step a phase
    the lane's compare reads the pool of two phases before and this test fails."""
    from fpgac.compiler.plan import MIN_POOLED_COUNT

    model = _one_weight_filters(random_model(seed, size=(6, 8), max_convs=2,
                                             max_conv_channels=3, max_features=6), seed)
    plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
    pooled = [g for g in plan.program if g.phases > 1]
    assert pooled and all(g.count == MIN_POOLED_COUNT for g in pooled)
    assert all(g.count >= 1 for g in plan.program)
    c, h, w = plan.input_shape
    rng = np.random.default_rng(seed)
    _assert_exact(model, plan, rng.integers(0, 256, (4, c, h, w), dtype=np.uint8))


@pytest.mark.parametrize("seed,pes,fanout", [(7, 5, 8), (19, 8, 3), (12, 5, 2), (34, 8, 8)])
def test_core_with_rectangle_groups_vs_golden_and_cycles(seed, pes, fanout):
    """Rectangle window groups forced on random models (``rect_plans``: partial rectangles at
    the right and / or bottom edges, invalid lanes in the middle of the lane order, unused
    lanes): bit-exact against golden and ``compute_cycles == predict`` (the writer drains the
    valid lanes only, as the cycle model counts)."""
    import dataclasses

    from rect_plans import rect_picker, rect_plan

    model = random_model(seed, size=(10, 12), max_convs=2, max_conv_channels=3,
                         max_features=6, square=False)
    plan = dataclasses.replace(rect_plan(model, pes, rect_picker(seed)), fanout_lanes=fanout)
    rects = [(d.br, d.bc, d.windows // d.win_w, d.win_w) for d in plan.descriptors if d.br]
    assert any(h % br or w % bc for br, bc, h, w in rects), rects
    assert any(g.n_valid < g.nch * plan.descriptors[g.layer].width for g in plan.program
               if plan.descriptors[g.layer].br)
    c, h, w = plan.input_shape
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (2, c, h, w), dtype=np.uint8)
    _assert_exact(model, plan, images)


@pytest.mark.parametrize("seed,pes,fanout", [(8, 5, 8), (8, 16, 3), (9, 8, 2), (31, 16, 8),
                                             (32, 8, 8)])
def test_core_with_slices_vs_golden_and_cycles(seed, pes, fanout):
    """One-window slices forced on random models (``rect_plans.slice_plan``: the largest ``s``
    in the first sliceable layer, a random one after; unused lanes when ``a * s < P``, ``s``
    not dividing the taps): bit-exact against golden and ``compute_cycles == predict`` (the
    adder tree's ``tree_latency`` in the writer's start); the core refuses a plan whose
    ``tree_latency`` is not its tree's."""
    import dataclasses

    from rect_plans import slice_picker, slice_plan

    model = random_model(seed, size=(6, 8), max_convs=2, max_conv_channels=3,
                         max_features=6)
    plan = dataclasses.replace(slice_plan(model, pes, slice_picker(seed)), fanout_lanes=fanout)
    assert plan.tree_latency == max(d.slices for d in plan.descriptors).bit_length() - 1 >= 1
    # (these seeds' logits vary over the images and stay below saturation)
    c, h, w = plan.input_shape
    rng = np.random.default_rng(seed)
    images = np.concatenate([np.full((1, c, h, w), 255, np.uint8),
                             rng.integers(0, 256, (2, c, h, w), dtype=np.uint8)])
    _assert_exact(model, plan, images)
    with pytest.raises(ValueError, match="plan.tree_latency"):
        Fragment.get(Accelerator(dataclasses.replace(plan, tree_latency=0)), None)


@pytest.mark.slow
def test_reused_regions_refill_the_input_ring_every_image():
    """The tiny MNIST model (padded input, its region reused by conv2's output): the loader
    rewrites the ring cells that conv2's output covers (18 of the 116) before each image, so
    every image (not only the first, which sees ``mem_init``) is bit-exact; without the fill
    the second image reads conv2's values as padding and differs."""
    import dataclasses

    from fpgac.compress.tiny import tiny_model
    from fpgac.hw.amsim import simulate
    from fpgac.sim.mnist import load_mnist

    model = tiny_model(0, train_images=500, epochs=1, sparsity=0.6)
    plan = plan_hardware(model, pes=16, pixel_lut=pixel_table(model))
    assert plan.input_pad and (plan.input_fill_first, plan.input_fill) == (59, 18)
    debug = plan_hardware(model, pes=16, pixel_lut=pixel_table(model), reuse_activations=False)
    assert plan.mem_depth < debug.mem_depth and debug.input_fill == 0
    images = load_mnist("test")[0][:2].reshape(2, 1, 28, 28)
    logits, klass = golden.predict(model, images)
    runs = simulate(plan, images.reshape(len(images), -1))
    for i, r in enumerate(runs):
        assert list(r.logits) == list(logits[i]) and r.klass == klass[i], i
        assert r.compute_cycles == cycles.predict(plan).compute_cycles
    broken = simulate(dataclasses.replace(plan, input_fill=0), images.reshape(len(images), -1))
    assert list(broken[0].logits) == list(logits[0])        # mem_init's ring
    assert list(broken[1].logits) != list(logits[1])


def _stream_case(seed, pes, overlap):
    from fpgac.hw.amsim import simulate_back_to_back

    model = random_model(seed, size=(6, 8), max_convs=2, max_conv_channels=3,
                         max_features=6)
    plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model), overlap=overlap)
    c, h, w = plan.input_shape
    rng = np.random.default_rng(seed)
    images = np.concatenate([rng.integers(0, 256, (3, c, h, w), dtype=np.uint8),
                             np.zeros((1, c, h, w), np.uint8)])
    runs = simulate_back_to_back(plan, images.reshape(len(images), -1))
    return model, plan, images, runs


@pytest.mark.parametrize("seed,pes,overlap", [(0, 3, True), (2, 2, True), (11, 3, True),
                                              (10, 3, True), (0, 3, False), (11, 3, False)])
def test_back_to_back_images_interval_and_bit_exact(seed, pes, overlap):
    """Images streamed back to back (pixels always valid, result always ready): every image
    bit-exact, its compute cycles == predict, and the start-to-start interval ==
    ``predict(plan).interval_cycles``: with ``overlap`` the next image loads during the
    compute (around the writer's writes: cases bound by the load, seeds 0, 10, 11, and by the
    compute, seed 2), without it ``load + compute``."""
    model, plan, images, runs = _stream_case(seed, pes, overlap)
    rep = cycles.predict(plan)
    logits, klass = golden.predict(model, images)
    assert len(runs) == len(images)
    for i, r in enumerate(runs):
        assert list(r.logits) == list(logits[i]) and r.klass == klass[i], i
        assert r.compute_cycles == rep.compute_cycles, i
    starts = [r.start for r in runs]
    assert starts[0] == plan.input_pixels + plan.input_fill - 1    # from reset
    assert all(b - a == rep.interval_cycles for a, b in zip(starts, starts[1:])), starts
    if overlap:
        assert rep.interval_cycles < rep.load_cycles + rep.compute_cycles


def test_overlap_loader_must_yield_the_write_port():
    """Seed 0 at P = 3: the writer writes while the next image loads (the interval is longer
    than ``s_1 + 1 + pixels``), so a loader with priority over the writer would corrupt
    conv outputs; the exact interval above shows it waits instead."""
    model, plan, images, runs = _stream_case(0, 3, True)
    sched = cycles.schedule(plan)
    s1 = min(s for (s, _, _, _), g in zip(sched, plan.program) if g.layer == 1)
    rep = cycles.predict(plan)
    assert rep.interval_cycles > s1 + plan.input_pixels > rep.compute_cycles + 1


def _reset_then_exact(plan, first, second, reset_after: int):
    """Load ``first``, let the core compute ``reset_after`` cycles, pulse the core's reset (a
    ``ResetInserter`` on the whole core, as the harness's ``core_rst``) for one cycle, then run
    ``second``: returns its logits, class and compute cycles. The registers without a reset
    (the datapath) keep what ``first`` left in them."""
    from amaranth.hdl import ResetInserter, Signal

    from fpgac.hw.amsim import run_testbench, send, wait_high

    core = Accelerator(plan)
    rst = Signal()
    dut = ResetInserter(rst)(core)
    out = {}

    async def tb(ctx):
        for px in first:
            await send(ctx, core.pixels, int(px), name="pixels.ready")
        ctx.set(core.pixels.valid, 0)
        for _ in range(reset_after):
            await ctx.tick()
        assert not ctx.get(core.result.valid)        # still computing
        ctx.set(rst, 1)
        await ctx.tick()
        ctx.set(rst, 0)
        for px in second:
            await send(ctx, core.pixels, int(px), name="pixels.ready")
        ctx.set(core.pixels.valid, 0)
        out["cycles"] = 1 + await wait_high(ctx, core.result.valid, timeout=1_000_000,
                                            name="result.valid")
        payload = ctx.get(core.result.payload)
        out["logits"] = [int(v) for v in payload.logits]
        out["klass"] = int(payload.klass)

    run_testbench(dut, tb)
    return out


@pytest.mark.parametrize("frac", [0.1, 0.45, 0.8])
def test_core_reset_mid_compute_then_next_image_exact(frac):
    """The datapath registers have no reset (only valid bits, counters and state do: the
    core's reset reaches few flip-flops, ``docs/boards.md``): a reset while an image computes
    (early, in the middle, near the end: a sliced plan, so the adder tree holds values too)
    leaves them as they were, and the next image is still bit-exact with
    ``compute_cycles == predict``."""
    from rect_plans import slice_picker, slice_plan

    model = random_model(31, size=(6, 8), max_convs=2, max_conv_channels=3, max_features=6)
    plan = slice_plan(model, 16, slice_picker(31))
    assert plan.tree_latency >= 1
    c, h, w = plan.input_shape
    rng = np.random.default_rng(3)
    images = np.concatenate([np.full((1, c, h, w), 255, np.uint8),
                             rng.integers(0, 256, (1, c, h, w), dtype=np.uint8)])
    want = cycles.predict(plan).compute_cycles
    got = _reset_then_exact(plan, images[0].ravel(), images[1].ravel(), int(frac * want))
    logits, klass = golden.predict(model, images[1:])
    assert got["logits"] == list(logits[0]) and got["klass"] == klass[0]
    assert got["cycles"] == want
