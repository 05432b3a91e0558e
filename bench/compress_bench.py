"""Compression benchmark: run the example configs end to end and tabulate what they measure.

For every config given (default: all ``examples/*.config.yml``) it runs the whole pipeline
(:func:`fpgac.compress.pipeline.run_compress`: train, prune, fine-tune, quantize, integer mode
and golden check on the 10,000 test images, export, reload + golden of every exported file)
into ``--out-dir`` (default: a temporary directory, so the shipped examples are not touched),
and prints per run: dense float / pruned float / pruned integer (golden) accuracy, the
integer-minus-float gap, sparsity, non-zero MACs per layer, seconds per stage, the machine load
average at start and end (other processes share the 2 cores), and the torch thread count.

``--check`` also compares every exported file with the shipped ``examples/<name>.yml`` and
``examples/<name>.fpgac.yml`` byte for byte (reproducibility of the one documented command).
Every figure goes to ``--json`` (default ``bench/compress_bench.json``).

    python bench/compress_bench.py [CONFIG.yml ...] [--epochs N] [--finetune-epochs N]
                                   [--limit-test N] [--threads N] [--check] [--json FILE]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from fpgac.compress.config import load_config
from fpgac.compress.pipeline import print_summary, run_compress

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("configs", nargs="*", help="run configs (default: examples/*.config.yml)")
    ap.add_argument("--epochs", type=int, help="override train.epochs")
    ap.add_argument("--finetune-epochs", type=int, help="override finetune.epochs")
    ap.add_argument("--limit-test", type=int, help="override data.test_limit")
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--out-dir", help="where to export (default: a temporary directory)")
    ap.add_argument("--check", action="store_true",
                    help="compare the exports with the shipped examples byte for byte")
    ap.add_argument("--progress", action="store_true", help="show progress bars")
    ap.add_argument("--json", default=str(Path(__file__).with_suffix(".json")))
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    configs = [Path(c) for c in args.configs] or sorted(EXAMPLES.glob("*.config.yml"))
    console = Console()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in configs:
            over: dict = {"export": {"out_dir": str(Path(args.out_dir or tmp) / path.stem)}}
            if args.epochs is not None:
                over["train"] = {"epochs": args.epochs}
            if args.finetune_epochs is not None:
                over["finetune"] = {"epochs": args.finetune_epochs}
            if args.limit_test is not None:
                over["data"] = {"test_limit": args.limit_test}
            cfg = load_config(path, over)
            load0 = os.getloadavg()
            t0 = time.perf_counter()
            rec = run_compress(cfg, progress=args.progress, log=console.print)
            wall = time.perf_counter() - t0
            print_summary(rec, console)
            same = None
            if args.check:
                same = {}
                for kind, f in rec["files"].items():
                    ship = EXAMPLES / Path(f).name
                    if kind != "run_record" and ship.exists():
                        same[ship.name] = filecmp.cmp(f, ship, shallow=False)
            row = {k: v for k, v in rec.items() if k not in ("model", "float_model")}
            row.update(config_file=str(path), wall_seconds=wall, load_start=load0,
                       load_end=os.getloadavg(), identical_to_shipped=same)
            results.append(row)
    tab = Table(title="compression runs (MNIST test set)")
    for col in ("run", "dense float", "pruned float", "int (golden)", "int - float",
                "sparsity", "non-zero MACs", "seconds", "load avg", "threads"):
        tab.add_column(col, justify="left" if col == "run" else "right")
    for r in results:
        a = r["accuracy"]
        tab.add_row(r["name"], f"{a['dense_float']:.2%}", f"{a['pruned_float']:.2%}",
                    f"{a['golden']:.2%}", f"{(a['golden'] - a['pruned_float']) * 100:+.2f} pt",
                    f"{r['sparsity']['total']['sparsity']:.1%}",
                    f"{r['sparsity']['total']['nonzero_macs']}/{r['sparsity']['dense_macs']}",
                    f"{r['wall_seconds']:.0f}",
                    f"{r['load_start'][0]:.1f}->{r['load_end'][0]:.1f}",
                    str(r["versions"]["threads"]))
    console.print(tab)
    for r in results:
        if r["identical_to_shipped"] is not None:
            console.print(f"{r['name']}: identical to the shipped files: "
                          f"{r['identical_to_shipped']}")
    Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    console.print(f"wrote {args.json}")
    bad = [r["name"] for r in results if r["golden_mismatches"]
           or any(r["roundtrip_mismatches"].values())]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
