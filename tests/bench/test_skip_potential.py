"""``bench/skip_potential.py``: the replay of the plan's schedule on golden activations."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import skip_potential  # noqa: E402  (bench/ is a folder of scripts)


def _lenet(pes: int, images: int):
    from fpgac.compiler.frontend import load_model
    from fpgac.compiler.plan import plan_hardware
    from fpgac.sim.mnist import load_mnist
    from fpgac.sim.preprocess import pixel_table, quantize_images

    model = load_model(skip_potential.DEFAULT_MODEL)
    lut = pixel_table(model)
    plan = plan_hardware(model, pes=pes, pixel_lut=lut, slices=False)   # as the bench
    imgs = load_mnist("test")[0][:images].reshape((images,) + tuple(model.input.shape))
    q = quantize_images(imgs, model)
    return model, plan, q, int(lut[0])


def test_operands_are_the_layers_taps():
    """The im2col masks name the right input pixels: recomputed by explicit loops for conv1
    (padded, background fold) and conv2 (pooled input) at a few output positions."""
    from fpgac.sim import golden

    model, plan, q, bg = _lenet(16, 2)
    ops = skip_potential.layer_operands(model, q, bg)
    _, outs = golden.run(model, q, intermediates=True)
    conv1, conv2 = model.ops[0], model.ops[3]
    for (w_nz, x_nz, pool, (hq, wq, wo)), op, x, zero in (
            (ops[0], conv1, q.astype(np.int64), bg),
            (ops[1], conv2, outs[2], int(conv2.in_q.zero_point))):
        p, k = op.padding, op.weight.shape[2]
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=zero)
        assert pool == 2 and wo == 2 * wq
        for pos in (0, 5, wo + 3, x_nz.shape[1] - 1):
            oy, ox = divmod(pos, wo)
            want = (xp[:, :, oy:oy + k, ox:ox + k] != zero).reshape(x.shape[0], -1)
            assert (x_nz[:, pos] == want).all()
        assert w_nz.shape == (op.weight.shape[0], x_nz.shape[2])


def test_skip_forms_bracket_today_and_reach_their_limits():
    """Per layer: per-lane <= lockstep <= today's steps; with every input non-zero the skip
    forms equal the steps of the non-zero weights (no fillers), with every input zero only
    the writer drain (``n_valid`` per group) is left."""
    model, plan, q, bg = _lenet(16, 3)
    ops = skip_potential.layer_operands(model, q, bg)
    for k, (w_nz, x_nz, pool, geo) in enumerate(ops):
        groups = [g for g in plan.program if g.layer == k]
        st = skip_potential.layer_steps(plan, k, w_nz, x_nz, pool, geo)
        assert (st["per_lane"] <= st["lockstep"]).all() and (st["lockstep"] <= st["today"]).all()
        full = skip_potential.layer_steps(plan, k, w_nz, np.ones_like(x_nz), pool, geo)
        nnz = w_nz.sum(1)
        order = skip_potential.rank_order(plan, k)
        want = sum(max(g.phases * max(1, max(int(nnz[order[r]])
                                                for r in range(g.rank, g.rank + g.nch))),
                       g.n_valid) for g in groups)
        assert (full["lockstep"] == want).all(), (k, full["lockstep"], want)
        empty = skip_potential.layer_steps(plan, k, w_nz, np.zeros_like(x_nz), pool, geo)
        drain = sum(g.n_valid for g in groups)
        assert (empty["lockstep"] == drain).all() and (empty["per_lane"] == drain).all()


def test_rows_total_projects_the_compute_cycles():
    table = skip_potential.rows(skip_potential.DEFAULT_MODEL, 16, 4)
    total = table[-1]
    assert total["today"] == sum(r["today"] for r in table[:-1])
    assert total["per_lane_cycles"] == total["compute"] - total["today"] + total["per_lane"]
    assert total["per_lane_cycles"] < total["lockstep_cycles"] < total["compute"]
