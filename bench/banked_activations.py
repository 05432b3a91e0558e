"""Design prototype: one banked activation memory instead of one copy per lane (issue 13).

Usage::

    python bench/banked_activations.py [--model M] [--pes 16,54,64] [--bits 8]

The design is in docs/architecture.md ("Next: banked activations"). For every weighted layer
of the model this prints the mapping the design would choose at each ``P``, its MAC steps
against today's mapping's (ideal: no pipeline fill, no barriers), and the words every lane's
bank holds, against today's one full copy per lane (``plan.mem_depth``). Every layout it
prices is checked first (:func:`check_window_layout`): injective, and every lane group reads
distinct banks for every tap and pool phase. Nothing here is built hardware; the figures are
what a build of the design would have to reproduce.

* **Window layers** (a conv with more than one output window): lane groups are rectangles of
  ``br x bc`` pooled windows, ``a`` channel slots, one copy of the input map per slot. A
  padded input pixel ``(ch, y, x)`` lies in cell ``(Y, X) = (y div R, x div R)`` with
  ``R = stride * pool``; its bank is ``(Y mod br) * bc + X mod bc`` and its word in the bank
  ``((ch * Ybn + Y div br) * Xbn + X div bc) * R * R + (y mod R) * R + x mod R``. Lane
  ``(u, v)`` of window ``(r0 + u, c0 + v)`` at tap offset ``(oy, ox)`` (kernel tap plus pool
  phase) reads cell ``(r0 + u + oy div R, c0 + v + ox div R)``: the banks of one group are a
  rotation of the lanes, the same for every lane.
* **One-window layers** (fc, or a conv whose kernel covers its input): the flattened input is
  cut into ``s`` contiguous slices; lane ``(q, i)`` of channel slot ``q`` holds slice ``i`` of
  copy ``q`` and runs channel ``q``'s weights in that slice; an ``s``-input adder tree sums the
  slices. A round costs the longest (channel, slice) list of its channels.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "examples" / "lenet5_g90_8b.yml"


@dataclass(frozen=True)
class Geometry:
    """One weighted layer as the design sees it (square kernels, pool size == pool stride)."""

    name: str
    nnz: np.ndarray          # int [C_out, C_in * K * K]: non-zero weights per (channel, tap)
    c_in: int
    hp: int                  # padded input height / width
    wp: int
    k: int
    stride: int
    pool: int
    hq: int                  # pooled output windows per column / row
    wq: int

    @property
    def one_window(self) -> bool:
        return self.hq * self.wq == 1

    @property
    def r(self) -> int:
        return self.stride * self.pool


def geometries(model) -> list[Geometry]:
    """The model's weighted layers with their input geometry (golden IR order)."""
    from fpgac.compiler import ir

    out, h = [], model.input.shape[1]
    ops = list(model.ops)
    for i, op in enumerate(ops):
        if isinstance(op, ir.MaxPool2d) and h is not None:
            h = (h - op.kernel) // op.stride + 1
        if not isinstance(op, (ir.Conv2d, ir.Linear)):
            continue
        w = np.asarray(op.weight)
        wz = np.asarray(op.w_zero_point).reshape((-1,) + (1,) * (w.ndim - 1))
        nnz = (w != wz).reshape(w.shape[0], -1)
        if isinstance(op, ir.Linear):
            out.append(Geometry(op.name, nnz, w.shape[1], 1, 1, 1, 1, 1, 1, 1))
            h = None
            continue
        pool = next((o.kernel for o in ops[i + 1:i + 3] if isinstance(o, ir.MaxPool2d)), 1)
        hp, k = h + 2 * op.padding, w.shape[2]
        ho = (hp - k) // op.stride + 1
        out.append(Geometry(op.name, nnz, w.shape[1], hp, hp, k, op.stride, pool,
                            ho // pool, ho // pool))
        h = ho
    return out


def window_layout(g: Geometry, br: int, bc: int):
    """``(bank, word)`` of every padded input pixel, ``int [C_in, Hp, Wp]`` each."""
    ch, y, x = np.meshgrid(np.arange(g.c_in), np.arange(g.hp), np.arange(g.wp), indexing="ij")
    R = g.r
    yb, xb = -(-g.hp // R), -(-g.wp // R)
    ybn, xbn = -(-yb // br), -(-xb // bc)
    Y, X = y // R, x // R
    bank = (Y % br) * bc + X % bc
    word = ((ch * ybn + Y // br) * xbn + X // bc) * R * R + (y % R) * R + x % R
    return bank, word, g.c_in * ybn * xbn * R * R


def check_window_layout(g: Geometry, br: int, bc: int, layout=None) -> int:
    """Raise ``AssertionError`` unless the layout (default :func:`window_layout`) is injective
    and every ``br x bc`` window group reads distinct banks at every tap and pool phase;
    returns the words per bank."""
    bank, word, depth = layout if layout is not None else window_layout(g, br, bc)
    keys = bank.astype(np.int64) * depth + word
    assert len(np.unique(keys)) == keys.size, "two pixels share a word"
    assert word.max() < depth
    s, R = g.stride, g.r
    for r0 in range(0, g.hq, br):
        for c0 in range(0, g.wq, bc):
            rows = [r0 + u for u in range(br) if r0 + u < g.hq]
            cols = [c0 + v for v in range(bc) if c0 + v < g.wq]
            for py in range(g.pool):
                for px in range(g.pool):
                    for ky in range(g.k):
                        ys = [R * r + s * py + ky for r in rows]
                        for kx in range(g.k):
                            xs = [R * c + s * px + kx for c in cols]
                            banks = bank[0][np.ix_(ys, xs)]
                            assert len(np.unique(banks)) == banks.size, (
                                f"{g.name}: group ({r0}, {c0}) tap ({ky}, {kx}) conflicts")
    return depth


def window_steps(g: Geometry, a: int, groups: int) -> int:
    """MAC steps of a window layer: per round of ``a`` channels, its longest list, times the
    window groups and pool phases."""
    lengths = g.nnz.sum(1)
    rounds = [max(1, int(lengths[q:q + a].max())) for q in range(0, len(lengths), a)]
    return sum(rounds) * groups * g.pool * g.pool


def sliced_steps(g: Geometry, a: int, s: int) -> int:
    """MAC steps of a one-window layer cut into ``s`` input slices, ``a`` channels a round."""
    n = g.nnz.shape[1]
    edges = np.linspace(0, n, s + 1).astype(int)
    per = np.stack([g.nnz[:, edges[i]:edges[i + 1]].sum(1) for i in range(s)], 1).max(1)
    return sum(max(1, int(per[q:q + a].max())) for q in range(0, len(per), a))


#: The chooser trades up to this fraction of extra MAC steps for a smaller bank.
STEP_SLACK = 0.05


def choose(g: Geometry, pes: int) -> dict:
    """The design's mapping of one layer at ``pes`` lanes: the smallest bank among the
    mappings within :data:`STEP_SLACK` of the fewest MAC steps."""
    c_out = g.nnz.shape[0]
    options = []
    if g.one_window:
        n = g.nnz.shape[1]
        for s in (2 ** e for e in range(int(math.log2(pes)) + 1)):
            a = min(pes // s, c_out)
            options.append({"kind": f"{a} x {s} slices", "a": a, "lanes": a * s,
                            "steps": sliced_steps(g, a, s), "words": -(-n // s)})
    else:
        for br in range(1, g.hq + 1):
            for bc in range(1, min(g.wq, pes // br) + 1):
                a = min(pes // (br * bc), c_out)
                groups = -(-g.hq // br) * -(-g.wq // bc)
                options.append({"kind": f"{a} x {br}x{bc}", "a": a, "br": br, "bc": bc,
                                "lanes": a * br * bc, "words": window_layout(g, br, bc)[2],
                                "steps": window_steps(g, a, groups)})
    fewest = min(o["steps"] for o in options)
    near = [o for o in options if o["steps"] <= fewest * (1 + STEP_SLACK)]
    return min(near, key=lambda o: (o["words"], o["steps"]))


def today_steps(g: Geometry, layer, pes: int) -> int:
    """MAC steps of today's mapping (``b`` = the plan's lanes per stream, ``a = P div b``
    channel slots; ``layer.rect`` rectangles of ``b = br * bc`` windows; ``layer.slices``
    one-window slices, ``a = min(P div s, channels)``), counted the same ideal way."""
    b = max(1, layer.lanes_per_stream)
    a = min(max(1, pes // b), g.nnz.shape[0])
    if g.one_window:
        # (the ideal count over the kernel-space cut; the plan cuts the padded tap range)
        s = getattr(layer, "slices", 1)
        return sliced_steps(g, min(pes // s, g.nnz.shape[0]), s)
    br, bc = layer.rect
    if br:
        return window_steps(g, a, -(-g.hq // br) * -(-g.wq // bc))
    return window_steps(g, a, -(-(g.hq * g.wq) // b))


def rows(model_path, pes_list, bits: int) -> list[dict]:
    """One row per (P, layer): the design's mapping and bank words against today's."""
    from fpgac.compiler.frontend import load_model
    from fpgac.compiler.plan import plan_hardware
    from fpgac.sim.preprocess import pixel_table

    model = load_model(model_path)
    geos = geometries(model)
    out = []
    for pes in pes_list:
        plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
        picks = [choose(g, pes) for g in geos]
        for g, pick in zip(geos, picks):
            if not g.one_window:
                check_window_layout(g, pick["br"], pick["bc"])
        # a lane's bank holds its layer's input slice and the next layer's (the output)
        words = [p["words"] for p in picks] + [int(plan.layers[-1].out_shape[0])]
        depth = max(words[i] + words[i + 1] for i in range(len(picks)))
        for g, pick, layer in zip(geos, picks, plan.layers):
            out.append({"pes": pes, "layer": g.name, "mapping": pick["kind"],
                        "lanes": pick["lanes"], "steps": pick["steps"],
                        "steps_today": today_steps(g, layer, pes), "bank_words": pick["words"],
                        "lane_depth": depth, "today_depth": int(plan.mem_depth),
                        "bits_today": pes * int(plan.mem_depth) * bits,
                        "bits_banked": pes * depth * bits})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--pes", default="16,54,64")
    ap.add_argument("--bits", type=int, default=8, help="activation bits (default 8)")
    args = ap.parse_args(argv)
    table = rows(args.model, [int(p) for p in args.pes.split(",")], args.bits)
    print("| P | layer | mapping | lanes | MAC steps (today) | words per bank | lane depth "
          "(today) | activation bits (today) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['pes']} | {r['layer']} | {r['mapping']} | {r['lanes']} | "
              f"{r['steps']:,} ({r['steps_today']:,}) | {r['bank_words']:,} | "
              f"{r['lane_depth']:,} ({r['today_depth']:,}) | "
              f"{r['bits_banked']:,} ({r['bits_today']:,}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
