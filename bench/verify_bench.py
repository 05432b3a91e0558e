"""RTL verification benchmark: P sweep, dense vs sparse, and the whole MNIST test set.

For each P in ``--pes`` (default 8, 16, 32) it runs ``fpgac verify`` on the default example
(``examples/lenet5_g90_8b*.yml``) with ``--sweep-images`` images (mismatches, simulated and
predicted compute cycles, PE utilization, build and simulation time) and the same on the dense
twin (``examples/lenet5_dense_8b*.yml``) with ``--dense-images`` images, giving the measured
dense/sparse cycle speedup. Then it runs the full ``--images`` (default 10,000) through the
default P and reports the wall time of that run (the target: under 3 minutes on 2 cores).

Prints a table and writes every figure to ``--json`` (default ``bench/verify_bench.json``).

    python bench/verify_bench.py [--pes 8 16 32] [--images 10000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fpgac.flows.verify import DEFAULT_PES, verify


def _example(pattern: str) -> Path | None:
    import fpgac.examples

    found = sorted(Path(fpgac.examples.__file__).parent.glob(pattern))
    return found[0] if found else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="sparse model (default: shipped LeNet-5 g90)")
    ap.add_argument("--dense", default=None, help="dense twin (default: shipped dense LeNet-5)")
    ap.add_argument("--pes", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--sweep-images", type=int, default=500)
    ap.add_argument("--dense-images", type=int, default=50)
    ap.add_argument("--images", type=int, default=10000, help="full run (0: skip)")
    ap.add_argument("--full-pes", type=int, default=DEFAULT_PES)
    ap.add_argument("--simulator", default="verilator")
    ap.add_argument("--build-dir", default=None)
    ap.add_argument("--json", default=str(Path(__file__).with_suffix(".json")))
    args = ap.parse_args(argv)

    model = args.model or _example("lenet5_g90_8b*.yml")
    dense = args.dense or _example("lenet5_dense_8b*.yml")
    if model is None:
        print("no model given and no shipped examples/lenet5_g90_8b*.yml", file=sys.stderr)
        return 2
    console = Console(stderr=True)
    common = dict(simulator=args.simulator, build_dir=args.build_dir)
    rows = []
    with console.status("verify bench") as status:
        def progress(text: str) -> None:
            status.update(text)

        for p in args.pes:
            status.update(f"P={p}: sparse")
            t0 = time.perf_counter()
            sparse = verify(model, images=args.sweep_images, pes=p, progress=progress, **common)
            sparse["total_seconds"] = time.perf_counter() - t0
            row = {"pes": p, "sparse": sparse}
            if dense is not None:
                status.update(f"P={p}: dense")
                t0 = time.perf_counter()
                d = verify(dense, images=args.dense_images, pes=p, progress=progress, **common)
                d["total_seconds"] = time.perf_counter() - t0
                row["dense"] = d
                row["speedup"] = (d["simulated_compute_cycles_mean"]
                                  / sparse["simulated_compute_cycles_mean"])
                row["mac_ratio"] = d["nnz_macs"] / sparse["nnz_macs"]
            rows.append(row)
        full = None
        if args.images:
            status.update(f"full run: {args.images} images at P={args.full_pes}")
            t0 = time.perf_counter()
            full = verify(model, images=args.images, pes=args.full_pes, progress=progress,
                          **common)
            full["total_seconds"] = time.perf_counter() - t0

    table = Table(title=f"fpgac verify bench: {Path(model).name} ({args.simulator})")
    for col in ("P", "images", "mismatches", "cycles sim", "cycles pred", "PE util",
                "dense cycles", "speedup", "MAC ratio", "build s", "sim img/s", "Mcyc/s"):
        table.add_column(col, justify="right")
    for row in rows:
        s, d = row["sparse"], row.get("dense")
        table.add_row(
            str(row["pes"]), str(s["images"]),
            f"{s['mismatches']}+{d['mismatches']}" if d else str(s["mismatches"]),
            f"{s['simulated_compute_cycles_mean']:.0f}", str(s["predicted_compute_cycles"]),
            f"{100 * s['pe_utilization']:.1f} %",
            f"{d['simulated_compute_cycles_mean']:.0f}" if d else "-",
            f"{row['speedup']:.2f}x" if d else "-",
            f"{row['mac_ratio']:.2f}x" if d else "-",
            "cached" if s["cached_build"] else f"{s['build_seconds']:.1f}",
            f"{s['sim_images_per_second']:.0f}", f"{s['sim_cycles_per_second'] / 1e6:.2f}")
    Console().print(table)
    layers = Table(title="predicted per-layer utilization (sparse model)")
    layers.add_column("P", justify="right")
    for lc in rows[0]["sparse"]["per_layer"]:
        layers.add_column(f"{lc['name']} ({lc['nnz_macs']} MACs)", justify="right")
    for row in rows:
        layers.add_row(str(row["pes"]), *(f"{100 * lc['utilization']:.1f} % {lc['cycles']} c"
                                          for lc in row["sparse"]["per_layer"]))
    Console().print(layers)
    if full is not None:
        print(f"full run: {full['images']} images at P={full['pes']}: {full['mismatches']} "
              f"mismatches, {full['cycle_mismatches']} cycle mismatches, accuracy "
              f"{100 * full['accuracy_rtl']:.2f} %, {full['total_seconds']:.1f} s total "
              f"(simulation {full['sim_seconds']:.1f} s = "
              f"{full['sim_images_per_second']:.0f} images/s, build "
              f"{'cached' if full['cached_build'] else '%.1f s' % full['build_seconds']})")
    doc = {"model": str(model), "dense": str(dense) if dense else None, "sweep": rows,
           "full": full}
    Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.json}")
    ok = all(r["sparse"]["passed"] and r.get("dense", {"passed": True})["passed"] for r in rows)
    return 0 if ok and (full is None or full["passed"]) else 1


if __name__ == "__main__":
    sys.exit(main())
