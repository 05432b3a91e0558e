"""``fpgac compress``: train -> prune -> fine-tune -> quantize -> export, with a report.

The fixed run is the preset stage list of :mod:`fpgac.compress.config`; flags override the
values of ``--config FILE.yml``, which override the defaults (the ``lenet5_g90_8b`` example).
A config with a top-level ``stages:`` list runs those stages instead (only ``--out-dir`` and
``--no-progress`` apply to it). Prints the accuracy table (dense float,
pruned float, pruned integer in torch integer mode and in the golden model), sparsity and MAC
counts per layer, and writes ``<out-dir>/<name>.run.json`` next to the exported models.
"""

from __future__ import annotations

import argparse
import sys

from fpgac.errors import FpgacError

#: flag -> (config section, key)
_FLAGS = {
    "method": ("prune", "method"), "amount": ("prune", "amount"),
    "iterations": ("prune", "iterations"), "threshold": ("prune", "threshold"),
    "bits": ("quant", "bits"), "epochs": ("train", "epochs"),
    "finetune_epochs": ("finetune", "epochs"), "calib": ("quant", "calib"),
    "percentile": ("quant", "percentile"), "seed": ("train", "seed"),
    "limit_test": ("data", "test_limit"), "limit_train": ("data", "train_limit"),
    "data_dir": ("data", "dir"),
    "out_dir": ("export", "out_dir"), "layout": ("export", "layout"),
}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compress", help="train, prune, fine-tune, quantize and export a CNN",
        description=__doc__.split("\n\n")[0] + " Flags override --config values.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--config", metavar="FILE.yml", help="run configuration (YAML)")
    p.add_argument("--name", help="run name (output file prefix)")
    p.add_argument("--method", choices=["global-l1", "l1", "random", "ln-structured", "custom"],
                   help="pruning method (custom: ThresholdPruning with --threshold)")
    p.add_argument("--amount", type=float, help="fraction of weights to prune, in [0, 1)")
    p.add_argument("--iterations", type=int, help="pruning steps (masks compose)")
    p.add_argument("--threshold", type=float, help="|w| threshold of --method custom")
    p.add_argument("--bits", type=int, help="n_bits of weights and activations (2..16)")
    p.add_argument("--epochs", type=int, help="training epochs")
    p.add_argument("--finetune-epochs", type=int, help="fine-tune epochs per pruning step")
    p.add_argument("--calib", type=int, help="calibration images (training set)")
    p.add_argument("--percentile", type=float, help="activation range percentile, e.g. 99.99")
    p.add_argument("--seed", type=int, help="seed of weights, data order, augmentation")
    p.add_argument("--limit-test", type=int, help="evaluate on the first N test images only")
    p.add_argument("--limit-train", type=int,
                   help="train on N training images only (a seeded random subset)")
    p.add_argument("--data-dir", help="directory of MNIST IDX files (default: shipped)")
    p.add_argument("--out-dir", help="output directory")
    p.add_argument("--layout", choices=["dense", "coo", "csr", "csc"],
                   help="weight layout of NAME.fpgac.yml")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _warn(message, category, filename, lineno, file=None, line=None) -> None:
    """Deprecation notes (old config spellings) as one line on stderr."""
    print(f"fpgac compress: warning: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    import warnings

    with warnings.catch_warnings():            # restores the warning filters and printer
        warnings.simplefilter("always", FutureWarning)
        warnings.showwarning = _warn
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from fpgac.compress.config import load_config
    from fpgac.compress.pipeline import print_summary, run_compress

    if args.config:
        # a staged config (top-level ``stages``) runs its own stage list
        from fpgac.compress.runner import run_config_file

        rc = run_config_file(args.config, out_dir=args.out_dir, progress=not args.no_progress)
        if rc is not None:
            return rc
    overrides: dict = {}
    for flag, (section, key) in _FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    if args.name is not None:
        overrides["name"] = args.name
    cfg = load_config(args.config, overrides)
    record = run_compress(cfg, progress=not args.no_progress)
    print_summary(record)
    if record["golden_mismatches"]:
        raise FpgacError(f"integer mode and golden model disagree on "
                         f"{record['golden_mismatches']} images: expected 0")
    return 0
