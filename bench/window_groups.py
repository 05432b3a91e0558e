"""Window-group mappings per layer and P: the mapping ``choose_mapping`` picks (raster groups
of ``b`` windows or ``br x bc`` rectangles, ``docs/architecture.md`` build-order step 1;
``a x s slices`` for a sliced one-window layer, step 2), its MAC steps and the layer's cycles,
and the compute cycles per image (``compiler.analysis.cycles.predict`` on the board's plan,
``boards.plan_for_board``).

``--no-slices`` plans without one-window slices (the mapping before step 2), ``--raster``
with raster groups only and no slices (before step 1), for the before -> after figures::

    python bench/window_groups.py --pes 16,32,54,64
    python bench/window_groups.py --pes 16,32,54,64 --no-slices
    python bench/window_groups.py --pes 16,32,54,64 --raster
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fpgac.boards.platforms import get_board
from fpgac.compiler.analysis.cycles import predict
from fpgac.compiler.analysis.resources import plan_for_board
from fpgac.compiler.frontend import load_model
from fpgac.sim.preprocess import pixel_table

ROOT = Path(__file__).resolve().parent.parent


def _mapping(plan, li: int) -> str:
    d = plan.descriptors[li]
    if d.br:
        return f"{d.slots} x {d.br}x{d.bc}"
    if d.slices > 1:
        return f"{d.slots} x {d.slices} slices"
    return f"{d.slots} x {d.width}" if d.windows > 1 else f"{d.slots} ch"


def rows(model_path, pes_list, board: str = "ulx3s", raster: bool = False,
         slices: bool = True) -> list[dict]:
    """One row per P: compute cycles and per layer ``(name, mapping, steps, cycles)``
    (``raster``: raster groups only and no slices; ``slices=False``: no slices)."""
    import fpgac.compiler.passes.lower_to_plan as lower

    model = load_model(model_path)
    real = lower.choose_mapping

    def raster_only(pes, lists, windows, phases, shape=None, fits=None, slices=None):
        return real(pes, lists, windows, phases)

    def no_slices(pes, lists, windows, phases, shape=None, fits=None, slices=None):
        return real(pes, lists, windows, phases, shape, fits)

    out = []
    for pes in pes_list:
        lower.choose_mapping = raster_only if raster else real if slices else no_slices
        try:
            plan = plan_for_board(model, pes, get_board(board), pixel_table(model))
        finally:
            lower.choose_mapping = real
        rep = predict(plan)
        layers = []
        for li, lc in enumerate(rep.per_layer):
            steps = sum(g.phases * g.count for g in plan.program if g.layer == li)
            layers.append((lc.name, _mapping(plan, li), steps, int(lc.cycles)))
        out.append({"pes": pes, "compute": int(rep.compute_cycles), "layers": layers})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "examples" / "lenet5_g90_8b.yml"))
    ap.add_argument("--pes", default="16,32,54,64")
    ap.add_argument("--board", default="ulx3s")
    ap.add_argument("--raster", action="store_true",
                    help="raster window groups only, no slices (the mapping before rectangles)")
    ap.add_argument("--no-slices", action="store_true",
                    help="no one-window slices (the mapping before build-order step 2)")
    args = ap.parse_args(argv)
    pes_list = [int(p) for p in args.pes.split(",")]
    for r in rows(args.model, pes_list, args.board, args.raster, not args.no_slices):
        cells = " | ".join(f"{n} {m}: {s:,} steps, {c:,} cyc" for n, m, s, c in r["layers"])
        print(f"| {r['pes']} | {r['compute']:,} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
