"""Design measurement: what activation zero-skipping could save on real images (issue 14).

Usage::

    python bench/skip_potential.py [--model M] [--pes 16] [--images 200]

Nothing here is built hardware. For the plan ``fpgac`` builds (its mapping of every
layer: rounds of ``a`` output channels dealt in descending list length, groups of ``b``
windows, pool phases; without one-window slices, ``plan_hardware(..., slices=False)``: the
replay reads each channel's whole list in one lane) this replays, on golden activations of real MNIST test images, which
MAC steps multiply a non-zero weight by an input that is *not* at its zero point, and prices
three ways of spending cycles on those only:

* **today**: every group runs ``phases * count`` lockstep steps (``count``: the round's
  longest list, fillers included; ``plan.program``), or the writer's ``n_valid`` drain
  cycles when they are more;
* **lockstep skip**: a step (a list position ``e`` of a pool phase) is skipped when no valid
  lane's product is non-zero; lanes stay in lockstep, so no FIFOs; a group then costs the
  steps left, but not less than the ``n_valid`` results the writer drains (one per cycle);
* **per-lane skip**: every lane runs only its own non-zero products (lanes decoupled, e.g.
  by FIFOs between the banks and the lanes; ideal: no FIFO stalls); a group costs its
  slowest lane, again not less than ``n_valid``.

Fillers (address jumps, all-zero filters) are counted free in both skip forms (a bank that
decodes ahead of the lanes drops them). conv1 (the first layer) is priced with the
background fold of ``docs/architecture.md`` ("Room left for activation skipping"): an input
equal to the background pixel's value ``pixel_lut[0]`` counts as zero, and so does the
padding ring (stored as background, its correction in the bias). The other layers' zero is
their input zero point (ReLU zeros; padding holds it too).

The projected compute cycles keep today's overheads (pipeline fill, barriers, writer tails):
``predict(plan).compute_cycles - today's steps + the form's steps``. Issue 14's target is
``<= 0.70 x`` the weight-sparsity bound (non-zero MACs / P) at P = 16.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "examples" / "lenet5_g90_8b.yml"


def layer_operands(model, q_images: np.ndarray, bg: int | None):
    """Per weighted layer ``(w_nz [C_out, T], x_nz [N, positions, T], pool, (hq, wq, wo))``:
    which weights are non-zero, and which input taps are not at the layer's zero (im2col
    over the padded input, position = conv output pixel in raster order, ``wo`` conv output
    pixels a row; one position for a linear layer). ``bg`` (not None): the first layer's
    zero is that background input value (the fold)."""
    from fpgac.compiler import ir
    from fpgac.sim import golden

    _, outs = golden.run(model, q_images, intermediates=True)
    ops = list(model.ops)
    x = q_images.astype(np.int64)
    first, out = True, []
    for i, op in enumerate(ops):
        if isinstance(op, (ir.Conv2d, ir.Linear)):
            inz = int(op.in_q.zero_point)
            zero = bg if (first and bg is not None) else inz
            w = np.asarray(op.weight)
            wz = np.asarray(op.w_zero_point).reshape((-1,) + (1,) * (w.ndim - 1))
            w_nz = (w != wz).reshape(w.shape[0], -1)
            pool = next((o.kernel for o in ops[i + 1:i + 3] if isinstance(o, ir.MaxPool2d)), 1)
            if isinstance(op, ir.Linear):
                x_nz = (x.reshape(x.shape[0], 1, -1) != zero)
                out.append((w_nz, x_nz, 1, (1, 1, 1)))
            else:
                p, k, s = op.padding, w.shape[2], op.stride
                xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=zero)
                n, c, hp, wp = xp.shape
                ho, wo = (hp - k) // s + 1, (wp - k) // s + 1
                cols = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
                cols = cols[:, :, ::s, ::s][:, :, :ho, :wo]          # [N, C, ho, wo, k, k]
                cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n, ho * wo, c * k * k)
                out.append((w_nz, cols != zero, pool, (ho // pool, wo // pool, wo)))
            first = False
        x = outs[i]
    return out


def rank_order(plan, layer: int) -> list[int]:
    """The output channel of each rank of ``layer`` (the order its rounds take them), read
    back from the channel table's output bases."""
    desc, lp = plan.descriptors[layer], plan.layers[layer]
    per_chan = int(lp.out_shape[1]) * int(lp.out_shape[2])     # words of one output channel
    n = int(lp.out_map_shape[0])
    order = [(plan.chan_table[desc.rank_base + r][0] - lp.out_offset) // per_chan
             for r in range(n)]
    assert sorted(order) == list(range(n)), order
    return order


def layer_steps(plan, layer: int, w_nz, x_nz, pool: int, hq_wq) -> dict:
    """Steps of one layer over all images (arrays ``[N]``): today's lockstep steps (with
    fillers, from ``plan.program``), lockstep skip and per-lane skip (both floored at the
    group's ``n_valid``), and the non-zero products."""
    groups = [g for g in plan.program if g.layer == layer]
    desc = plan.descriptors[layer]
    taps = [np.flatnonzero(w_nz[o]) for o in rank_order(plan, layer)]
    hq, wq, wo = hq_wq
    n = x_nz.shape[0]
    today = sum(max(g.phases * g.count, g.n_valid) for g in groups)
    lock, lane = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for g in groups:
        chans = range(g.rank, g.rank + g.nch)          # ranks within the layer
        wins = [g.g * desc.width + wi for wi in range(g.nvw)]
        longest = max(1, max(len(taps[r]) for r in chans))
        m = np.zeros((n, g.nch * g.nvw, g.phases, longest), bool)
        for ci, r in enumerate(chans):
            t = taps[r]
            for wi, j in enumerate(wins):
                for ph in range(g.phases):
                    if hq * wq == 1:
                        pos = 0
                    else:
                        wy, wx = divmod(j, wq)
                        py, px = divmod(ph, pool)
                        pos = (wy * pool + py) * wo + wx * pool + px
                    m[:, ci * g.nvw + wi, ph, :len(t)] = x_nz[:, pos, t]
        lock += np.maximum(m.any(1).sum((1, 2)), g.n_valid)
        lane += np.maximum(m.sum((2, 3)).max(1), g.n_valid)
    return {"today": today, "lockstep": lock, "per_lane": lane, "groups": len(groups)}


def rows(model_path, pes: int, images: int) -> list[dict]:
    """One row per layer and a total row: mean steps per image in each form."""
    from fpgac.compiler.analysis.cycles import predict
    from fpgac.compiler.frontend import load_model
    from fpgac.compiler.plan import plan_hardware
    from fpgac.sim.mnist import load_mnist
    from fpgac.sim.preprocess import pixel_table, quantize_images

    model = load_model(model_path)
    plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model), slices=False)
    imgs = load_mnist("test")[0][:images].reshape((images,) + tuple(model.input.shape))
    lut = pixel_table(model)
    q = quantize_images(imgs, model)
    ops = layer_operands(model, q, int(lut[0]))
    out = []
    for k, (layer, (w_nz, x_nz, pool, hq_wq)) in enumerate(zip(plan.layers, ops)):
        st = layer_steps(plan, k, w_nz, x_nz, pool, hq_wq)
        out.append({"layer": layer.name, "today": st["today"],
                    "lockstep": float(st["lockstep"].mean()),
                    "per_lane": float(st["per_lane"].mean()),
                    "bound": layer.nnz_macs / pes})
    total = {key: sum(r[key] for r in out) for key in ("today", "lockstep", "per_lane", "bound")}
    compute = predict(plan).compute_cycles
    total.update(layer="all (steps)", compute=compute,
                 lockstep_cycles=compute - total["today"] + total["lockstep"],
                 per_lane_cycles=compute - total["today"] + total["per_lane"])
    return out + [total]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--pes", type=int, default=16)
    ap.add_argument("--images", type=int, default=200, help="MNIST test images (default 200)")
    args = ap.parse_args(argv)
    table = rows(args.model, args.pes, args.images)
    print(f"P = {args.pes}, {args.images} MNIST test images, mean steps per image")
    print("| layer | today | lockstep skip | per-lane skip | weight bound nnz/P |")
    print("|---|---|---|---|---|")
    for r in table:
        print(f"| {r['layer']} | {r['today']:,} | {r['lockstep']:,.0f} | {r['per_lane']:,.0f} "
              f"| {r['bound']:,.0f} |")
    t = table[-1]
    print(f"compute cycles: today {t['compute']:,} ({t['compute'] / t['bound']:.2f} x bound); "
          f"lockstep skip {t['lockstep_cycles']:,.0f} ({t['lockstep_cycles'] / t['bound']:.2f} x);"
          f" per-lane skip {t['per_lane_cycles']:,.0f} ({t['per_lane_cycles'] / t['bound']:.2f}"
          f" x); target 0.70 x = {0.7 * t['bound']:,.0f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
