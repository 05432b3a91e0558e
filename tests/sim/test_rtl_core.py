"""The emitted accelerator RTL, simulated (cocotb + Verilator / Icarus), against the golden model.

Every test compares every logit and the class bit-exactly with :mod:`fpgac.sim.golden` and the
simulated compute cycles of every image with :func:`fpgac.compiler.analysis.cycles.predict`.
Builds are cached per design in one module-wide directory, so each (model, P) builds once.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fpgac.compiler import ir
from fpgac.compiler.plan import plan_hardware
from fpgac.sim import golden, rtl
from fpgac.sim.compare import compare
from fpgac.sim.mnist import load_mnist
from fpgac.sim.preprocess import pixel_table, quantize_images

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mnist():
    images, labels = load_mnist("test")
    return images, labels


def golden_layer_outputs(model: ir.Model, per_op: list[np.ndarray]) -> list[np.ndarray]:
    """Per hardware layer (weighted op + fused ReLU / max-pool): its golden output map."""
    outs: list[np.ndarray] = []
    for op, value in zip(model.ops, per_op):
        if isinstance(op, (ir.Conv2d, ir.Linear)):
            outs.append(value)
        elif isinstance(op, (ir.ReLU, ir.MaxPool2d)):
            outs[-1] = value
    return outs


@pytest.mark.parametrize("pes", [1, 3, 8, 16])
def test_tiny_bit_exact_real_and_corner_images(tiny, mnist, build_dir, special_images, pes):
    images = np.concatenate([mnist[0][:12].reshape(12, 1, 28, 28), special_images((1, 28, 28))])
    # P = 8 pairs the weight banks in two-read-port ROMs (the ECP5 / Xilinx build plans)
    plan = plan_hardware(tiny, pes=pes, bank_ports=2 if pes == 8 else 1,
                         pixel_lut=pixel_table(tiny))
    if pes == 8:
        # and splits each activation copy into a body and a tail (LeNet-5's 2,200 words split
        # by themselves; the tiny model's 1,684 do not: forced, 1,024 + 660)
        assert plan.act_body == 0 and plan.mem_depth == 1684
        plan = dataclasses.replace(plan, act_body=1 << (plan.addr_bits - 1))
        assert plan.act_tail == 660
    dump = 2 if pes == 3 else 0
    res = rtl.simulate(plan, images, build_dir=build_dir, dump_layers=dump)
    verdict = compare(tiny, plan, images, res)
    assert verdict.exact, verdict.message
    if dump:
        _, per_op = golden.run(tiny, quantize_images(images[:dump], tiny.input),
                               intermediates=True)
        want = golden_layer_outputs(tiny, per_op)
        assert len(res.layers) == len(want) == len(plan.layers)
        # regions are reused: the maps that survive the image are dumped (the logits always);
        # the debug plan's dumps of every layer: tests/test_reports.py (first_difference)
        assert [got is not None for got in res.layers] == [la.out_survives
                                                           for la in plan.layers]
        assert res.layers[-1] is not None and not all(la.out_survives for la in plan.layers)
        for layer, got, exp in zip(plan.layers, res.layers, want):
            if got is None:
                continue
            exp = exp.reshape(got.shape)
            assert (got == exp).all(), f"layer {layer.name}: {np.sum(got != exp)} values differ"


def test_tiny_stalls_and_random_x_identical(tiny, mnist, build_dir, special_images):
    images = np.concatenate([mnist[0][20:24].reshape(4, 1, 28, 28),
                             special_images((1, 28, 28), n_random=2, seed=5)])
    plan = plan_hardware(tiny, pes=8, pixel_lut=pixel_table(tiny))
    base = rtl.simulate(plan, images, build_dir=build_dir)
    stalled = rtl.simulate(plan, images, build_dir=build_dir, stalls=1234)
    x_rand = rtl.simulate(plan, images, build_dir=build_dir, x_seed=99)
    verdict = compare(tiny, plan, images, base)
    assert verdict.exact, verdict.message
    for other in (stalled, x_rand):
        assert (other.logits == base.logits).all() and (other.klass == base.klass).all()
        assert (other.compute_cycles == base.compute_cycles).all()
    assert stalled.total_cycles > base.total_cycles      # the stalls really happened


def test_icarus_matches_verilator(tiny, mnist, build_dir, special_images):
    images = np.concatenate([mnist[0][:2].reshape(2, 1, 28, 28),
                             special_images((1, 28, 28), n_random=0)[:1]])
    plan = plan_hardware(tiny, pes=16, pixel_lut=pixel_table(tiny))
    ica = rtl.simulate(plan, images, simulator="icarus", build_dir=build_dir)
    ver = rtl.simulate(plan, images, simulator="verilator", build_dir=build_dir)
    verdict = compare(tiny, plan, images, ica)
    assert verdict.exact, verdict.message
    assert (ica.logits == ver.logits).all() and (ica.compute_cycles == ver.compute_cycles).all()


def _fixed_picker(rects):
    """``pick`` for ``rect_plans.rect_plan``: the rectangle ``rects[(Hq, Wq)]`` for a window
    layer of that shape (``a = min(P // (br * bc), channels)``), the compiler's choice else."""
    from fpgac.compiler.passes.choose_mapping import Mapping

    def pick(shape, pes, channels, fits):
        if tuple(shape) not in rects:
            return None
        br, bc = rects[tuple(shape)]
        assert fits(br, bc)
        return Mapping(min(pes // (br * bc), channels), br, bc)
    return pick


@pytest.mark.parametrize("pes,rects", [
    (54, None),                                 # the compiler's own choice: conv1 7 x 7
    (32, {(14, 14): (3, 5), (5, 5): (5, 1)})])   # forced (conv1 partial at both edges)
def test_lenet5_rectangle_groups_bit_exact_and_cycles(mnist, build_dir, special_images, pes,
                                                     rects):
    """LeNet-5 (8-bit) with rectangle window groups: at P = 54 ``choose_mapping`` picks 7 x 7
    rectangles for conv1 (fewer cycles than raster groups); at P = 32 rectangles are forced
    on conv1 (3 x 5, two channel slots: partial at the right and bottom edges) and conv2 (5 x
    1, six slots: two unused lanes; its input region ends too near the memory's end for a
    partial rectangle's overhanging reads, ``lower_to_plan._rect_fits``). Every logit
    bit-exact, compute cycles == ``predict``."""
    from pathlib import Path

    from fpgac.compiler.frontend import load_model
    from rect_plans import rect_plan

    model = load_model(Path(__file__).resolve().parents[2] / "examples" / "lenet5_g90_8b.yml")
    if rects is None:
        plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
        assert plan.layers[0].rect == (7, 7)
    else:
        plan = rect_plan(model, pes, _fixed_picker(rects))
        assert [la.rect for la in plan.layers[:2]] == [(3, 5), (5, 1)]
    images = np.concatenate([mnist[0][:3].reshape(3, 1, 28, 28),
                             special_images((1, 28, 28), n_random=1)])
    res = rtl.simulate(plan, images, build_dir=build_dir)
    verdict = compare(model, plan, images, res)
    assert verdict.exact, verdict.message


@pytest.mark.parametrize("seed,pes", [(19, 8), (7, 5)])
def test_random_model_rectangle_groups_bit_exact_and_cycles(build_dir, special_images, seed,
                                                            pes):
    """A random model with rectangle groups forced (``rect_plans``; partial rectangles, so
    the writer skips invalid lanes in the middle of the lane order): bit-exact, cycles ==
    ``predict``."""
    from fpgac.sim.randmodel import random_model
    from rect_plans import rect_picker, rect_plan

    model = random_model(seed, size=(10, 12), max_convs=2, max_conv_channels=3,
                         max_features=6, square=False)
    plan = rect_plan(model, pes, rect_picker(seed))
    assert any(d.br and ((d.windows // d.win_w) % d.br or d.win_w % d.bc)
               for d in plan.descriptors)
    images = special_images(plan.input_shape, n_random=2, seed=seed)
    res = rtl.simulate(plan, images, build_dir=build_dir)
    verdict = compare(model, plan, images, res)
    assert verdict.exact, verdict.message


@pytest.mark.parametrize("pes", [32])
def test_lenet5_slices_bit_exact_and_cycles(mnist, build_dir, special_images, pes):
    """LeNet-5 (8-bit) at a P where ``choose_mapping`` slices the one-window layers (conv3,
    fc1, fc2: build-order step 2) and the adder tree runs (``tree_latency`` > 0): every
    logit bit-exact, compute cycles == ``predict`` (with the tree's stages)."""
    from pathlib import Path

    from fpgac.compiler.frontend import load_model

    model = load_model(Path(__file__).resolve().parents[2] / "examples" / "lenet5_g90_8b.yml")
    plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
    assert [la.slices for la in plan.layers][2:] == [2, 4, 4] and plan.tree_latency == 2
    images = np.concatenate([mnist[0][:3].reshape(3, 1, 28, 28),
                             special_images((1, 28, 28), n_random=1)])
    res = rtl.simulate(plan, images, build_dir=build_dir)
    verdict = compare(model, plan, images, res)
    assert verdict.exact, verdict.message


@pytest.mark.parametrize("seed,pes", [(8, 5)])
def test_random_model_slices_bit_exact_and_cycles(build_dir, special_images, seed, pes):
    """A random model with one-window slices forced (``rect_plans.slice_plan``: a conv cut in
    4 slices with an unused lane, two linear layers in 2 and 4 slices): bit-exact, cycles ==
    ``predict``."""
    from fpgac.sim.randmodel import random_model
    from rect_plans import slice_picker, slice_plan

    model = random_model(seed, size=(6, 8), max_convs=2, max_conv_channels=3,
                         max_features=6)
    plan = slice_plan(model, pes, slice_picker(seed))
    assert [la.slices for la in plan.layers] == [4, 2, 4]
    images = special_images(plan.input_shape, n_random=2, seed=seed)
    res = rtl.simulate(plan, images, build_dir=build_dir)
    verdict = compare(model, plan, images, res)
    assert verdict.exact, verdict.message
