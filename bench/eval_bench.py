"""Accuracy and speed of ``fpgac eval`` (the golden integer model) on the MNIST test set.

Usage::

    python bench/eval_bench.py                      # every model in examples/ (not *.config.yml)
    python bench/eval_bench.py a.yml b.yml --limit 2000

For each model: load time (YAML parse + validation), golden time on the images (preprocessing
included, as ``fpgac eval`` reports it), images per second and accuracy, with the machine's
core count and load average so numbers from a busy machine can be recognised. ``--check``
also runs the ``int64`` matmul path and asserts identical logits (the float BLAS path is exact
by construction; this shows it on real models).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]


def example_models() -> list[Path]:
    return sorted(p for p in (ROOT / "examples").glob("*.yml")
                  if not p.name.endswith(".config.yml"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, help="model files (default: examples)")
    parser.add_argument("--limit", type=int, default=None, help="first N test images only")
    parser.add_argument("--check", action="store_true",
                        help="also run the int64 path and compare logits")
    args = parser.parse_args(argv)

    from fpgac.flows.eval import evaluate
    from fpgac.compiler.frontend import load_model
    from fpgac.sim import golden
    from fpgac.sim.mnist import load_mnist
    from fpgac.sim.preprocess import quantize_images

    models = args.models or example_models()
    if not models:
        print("no models: pass model files or add examples/*.yml", file=sys.stderr)
        return 2
    console = Console(highlight=False, width=max(Console().width, 110))
    console.print(f"{os.cpu_count()} cores, load average "
                  + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    table = Table(title="fpgac eval: golden integer model on the MNIST test set",
                  title_justify="left")
    for column in ("model", "format", "weights != wz", "images", "accuracy", "load s",
                   "golden s", "images/s"):
        table.add_column(column, justify="left" if column in ("model", "format") else "right")
    for path in models:
        start = time.perf_counter()
        model = load_model(path)
        load_s = time.perf_counter() - start
        result = evaluate(path, limit=args.limit)
        nnz = sum(int((op.weight != op.w_zero_point).sum()) for op in model.weighted)
        total = sum(int(op.weight.size) for op in model.weighted)
        table.add_row(path.name, model.source_format, f"{nnz}/{total} ({nnz / total:.1%})",
                      str(result["images"]), f"{result['accuracy']:.2%}", f"{load_s:.2f}",
                      f"{result['seconds']:.2f}", f"{result['images_per_s']:.0f}")
        if args.check:
            images = load_mnist("test")[0][: result["images"]]
            q = quantize_images(images, model.input)
            exact = golden.run(model, q, method="int64")
            if not np.array_equal(exact, result["logits"]):
                console.print(f"[red]{path.name}: int64 and auto paths differ[/red]")
                return 1
            console.print(f"{path.name}: int64 path gives identical logits")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
