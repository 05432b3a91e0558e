"""Legacy variants end to end: what fpgac does with each, and exactness on the whole test set.

Usage::

    python bench/legacy_bench.py                         # bits 2..16, all three variants
    python bench/legacy_bench.py --bits 4 8 --images 2000 --variants nopad

For each variant of ``tests/fixtures/legacy/variants.py`` (seed LeNet-5, 1998 no-padding
LeNet-5, PyTorch-tutorial LeNet) and bit width it writes the legacy ``int_values`` file as the
exporting tool lays it out, then:

* loads it as a user would (``load_model``): the reading it was loaded with, or "refused"
  with the number of candidates;
* converts it with the topology the variant was trained with (``fpgac convert --padding ..
  --pool ..``), evaluates the converted file with the golden model on ``--images`` test images
  and compares every logit with the independent evaluation of ``tests/fixtures/legacy/
  reference.py`` (``identical`` = images whose logits are all equal);
* reports the integer accuracy, the exporting tool's quantized-mode accuracy (float64
  reference) and the accuracy with round-half-up requantization (``--rounding half_up``), and
  the input integer of a white pixel (``2^n`` where the calibration puts it there).

It prints a Markdown table (the figures of the issue's closing note) and the elapsed time.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "legacy"))

import reference  # noqa: E402
import variants  # noqa: E402

TRUE = {"seed": ([2, 0, 0], ["conv1", "conv2"]), "nopad": ([0, 0, 0], ["conv1", "conv2"]),
        "tutorial": ([0, 0], ["conv1", "conv2"])}


def main(argv=None) -> int:
    from fpgac.flows.convert import convert
    from fpgac.compiler.frontend import load_model
    from fpgac.compiler.frontend.legacy import TopologyError
    from fpgac.sim import golden
    from fpgac.sim.mnist import load_mnist
    from fpgac.sim.preprocess import pixel_table
    from fpgac.sim.toolmode import tool_predict

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bits", type=int, nargs="+", default=list(range(2, 17)))
    ap.add_argument("--variants", nargs="+", default=list(variants.SPECS))
    ap.add_argument("--images", type=int, default=10_000, help="test images (default all)")
    args = ap.parse_args(argv)

    pixels, labels = load_mnist("test")
    pixels, labels = pixels[:args.images], labels[:args.images].astype(np.int64)
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, Progress(transient=True) as bar:
        task = bar.add_task("legacy variants", total=len(args.variants) * len(args.bits))
        for variant in args.variants:
            for n in args.bits:
                path = variants.legacy_file(variant, n, tmp)
                try:
                    loaded = load_model(path)
                    did = f"loads: {loaded.topology}"
                except TopologyError as exc:
                    did = f"refused: {len(exc.outcomes)} candidates"
                padding, pool = TRUE[variant]
                out = Path(tmp) / f"{variant}{n}.fpgac.yml"
                topology = convert(path, out, padding=padding, pool=pool).topology
                model = load_model(out)
                logits, classes = golden.predict(model, pixels)
                ref = reference.logits(path, pixels, padding,
                                       [name in pool for name in
                                        [f"conv{i + 1}" for i in range(len(padding))]])
                same = int((logits == ref).all(axis=1).sum())
                acc = float((classes == labels).mean())
                tool = float((tool_predict(model, pixels) == labels).mean())
                half = dataclasses.replace(model, rounding="half_up")
                half_acc = float((golden.predict(half, pixels)[1] == labels).mean())
                white = int(pixel_table(model.input)[255])
                rows.append((variant, n, did, topology, acc, tool, half_acc, same, white))
                bar.advance(task)
    seconds = time.perf_counter() - start
    print(f"| variant | bits | `fpgac eval LEGACY` | converted topology | integer acc | "
          f"tool mode acc | half_up acc | identical logits / {len(labels)} | white pixel |")
    print("|---|---|---|---|---|---|---|---|---|")
    for variant, n, did, topo, acc, tool, half, same, white in rows:
        print(f"| {variant} | {n} | {did} | {topo} | {acc:.2%} | {tool:.2%} | {half:.2%} | "
              f"{same} | {white} |")
    print(f"\n{len(rows)} files, {seconds:.0f} s")
    bad = [r for r in rows if r[7] != len(labels)]
    if bad:
        print(f"NOT IDENTICAL: {[(r[0], r[1]) for r in bad]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
