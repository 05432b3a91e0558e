"""``fpgac eval MODEL``: the golden integer model on the MNIST test set.

Parses the arguments, runs :func:`fpgac.flows.eval.evaluate` and prints the accuracy, the speed
and the confusion matrix. ``--save-logits`` writes the ``int64`` logits ``(N, classes)`` in
test-set order (a ``.npy`` file), the reference every other path (PyTorch integer mode, RTL) is
compared with. For a legacy file it also prints the topology reading it was loaded with and
the exporting tool's own quantized-mode accuracy (:mod:`fpgac.sim.toolmode`, float64, not the
hardware arithmetic); when that is more than 0.5 points higher it explains the gap and gives
the round-half-up figure and the commands. Exit status 0 on success, 2 with a one-line message for a user error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .args import positive_int

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="accuracy of the golden integer model on the MNIST test set",
        description="Run the bit-exact golden integer model of MODEL on the MNIST test set; "
                    "print accuracy, images/s and the confusion matrix.")
    p.add_argument("model", help="model file (YAML, fpgac or legacy int_values format)")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="MNIST directory (t10k-* IDX files, gz or not); default: shipped copy")
    p.add_argument("--limit", type=positive_int, default=None, metavar="N",
                   help="evaluate only the first N test images")
    p.add_argument("--save-logits", default=None, metavar="FILE.npy",
                   help="write the int64 logits (N, classes), in test-set order, to FILE.npy")
    p.add_argument("--confusion", default=None, metavar="FILE.png",
                   help="write the confusion matrix as a figure (PNG, SVG or PDF by suffix)")
    p.add_argument("--html", default=None, metavar="FILE.html",
                   help="write a self-contained HTML report (accuracy, confusion figure)")
    p.add_argument("--mean", type=float, default=None, metavar="M",
                   help="preprocessing mean, x = (p/255 - M)/S (default: the model's, "
                        "legacy 0.5)")
    p.add_argument("--std", type=float, default=None, metavar="S",
                   help="preprocessing std (default: the model's, legacy 0.5)")
    p.set_defaults(func=run)


def _confusion_table(confusion: np.ndarray):
    from rich.table import Table

    table = Table(title="confusion (rows: true label, columns: predicted class)",
                  title_justify="left")
    table.add_column("true", justify="right", style="bold")
    for c in range(confusion.shape[1]):
        table.add_column(str(c), justify="right")
    table.add_column("recall", justify="right")
    for t, row in enumerate(confusion):
        total = int(row.sum())
        cells = [f"[green]{v}[/green]" if c == t else (f"[red]{v}[/red]" if v else "·")
                 for c, v in enumerate(row.tolist())]
        recall = f"{row[t] / total:.1%}" if total and t < row.size else "-"
        table.add_row(str(t), *cells, recall)
    return table


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from fpgac.errors import FpgacError
    from fpgac.flows.eval import evaluate

    out_path = None
    if args.save_logits is not None:
        out_path = Path(args.save_logits)
        if not out_path.parent.is_dir():
            raise FpgacError(f"--save-logits: expected a file in an existing directory, "
                             f"found {str(out_path)!r}")
    result = evaluate(args.model, data_dir=args.data, limit=args.limit, mean=args.mean,
                      std=args.std, progress=True)
    console = Console(highlight=False)
    console.print(f"model {result['model']}: {result['images']} MNIST test images")
    legacy = result.get("legacy")
    if legacy:
        console.print(f"legacy file, topology: {legacy['topology']} (the one reading of the "
                      "LeNet-style family that chains)")
    console.print(f"accuracy {result['accuracy']:.2%} ({result['correct']}/{result['images']})"
                  f"  golden: {result['seconds']:.2f} s, {result['images_per_s']:.0f} images/s")
    if legacy:
        console.print(f"exporting tool's quantized mode: {legacy['tool_accuracy']:.2%} (float64 "
                      "reference of its floating-point division, not the hardware arithmetic; "
                      f"gap {legacy['gap_points']:+.2f} points)")
        if "advice" in legacy:
            console.print(f"[yellow]note:[/yellow] {legacy['advice']}")
    console.print(_confusion_table(result["confusion"]))
    errors = result["confusion"].copy()
    diag = np.arange(min(errors.shape))
    errors[diag, diag] = 0
    worst = [(int(errors[t, p]), t, p) for t, p in zip(*np.nonzero(errors))]
    worst.sort(key=lambda item: (-item[0], item[1], item[2]))
    if worst:
        console.print("most confused: " + ", ".join(f"{t}->{p} x{n}" for n, t, p in worst[:5]))
    if out_path is not None:
        try:
            with open(out_path, "wb") as fh:
                np.save(fh, result["logits"].astype(np.int64))
        except OSError as exc:
            raise FpgacError(f"--save-logits: expected a writable file, found "
                             f"{exc.strerror or exc} ({str(out_path)!r})") from None
        console.print(f"logits {result['logits'].shape[0]}x{result['logits'].shape[1]} int64 "
                      f"-> {out_path}")
    if args.confusion or args.html:
        from fpgac.reports import confusion_figure, eval_page, write_page

        try:
            if args.confusion:
                fig = confusion_figure(result["confusion"], args.confusion)
                console.print(f"confusion -> {fig}")
            if args.html:
                console.print(f"report -> {write_page(eval_page(result), args.html)}")
        except (OSError, ValueError) as exc:
            raise FpgacError(f"--confusion/--html: expected a writable file with a known "
                             f"suffix, found {exc}") from None
    return 0
