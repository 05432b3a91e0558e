"""``fpgac convert LEGACY.yml -o MODEL.fpgac.yml``: state a legacy file's topology once.

A legacy ``int_values`` file does not store its topology (``docs/model-format.md``). When the
loader finds several readings of the LeNet-style family that fit, or none, the user states the
network here: ``--padding`` (one integer per conv, in file order; later convs may be padded
too, which the family itself does not allow) and ``--pool`` (the names of the convs a 2x2 /
stride-2 max-pool follows, or ``none``). Whatever is not stated is enumerated as the loader
does, and must leave exactly one reading. The result is written in fpgac's own format, which
states the topology explicitly, so every later command reads it unambiguously.

``--rounding half_up`` changes the requantization to round half up (``docs/semantics.md`` §2):
a different arithmetic from the legacy file's ``floor``, closer to the exporting tool's own
floating-point quantized mode at low bit widths (see ``fpgac eval``). ``--input-clamp`` clamps
the input integer to ``[0, 2^n - 1]`` (the legacy rule is no clamp), written as
``input.clamp: true``. Exit status 0, or 2 with a one-line message.
"""

from __future__ import annotations

import argparse

__all__ = ["register", "run", "parse_padding", "parse_pool"]


def parse_padding(text: str) -> list[int]:
    """``"2,0,0"`` -> ``[2, 0, 0]`` (argparse type; integers >= 0)."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers >= 0 (one per conv), found {text!r}") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers >= 0 (one per conv), found {text!r}")
    return values


def parse_pool(text: str) -> list[str]:
    """``"conv1,conv2"`` -> ``["conv1", "conv2"]``; ``"none"`` -> ``[]`` (argparse type)."""
    if text.strip() == "none":
        return []
    names = [v.strip() for v in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated conv names or 'none', found {text!r}")
    return names


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "convert", help="write a legacy file in fpgac's own format, with its topology stated",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("model", help="legacy int_values file (YAML)")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.fpgac.yml",
                   help="the fpgac-model/1 file to write")
    p.add_argument("--padding", type=parse_padding, default=None, metavar="P1,P2,..",
                   help="padding of each conv, in file order (default: enumerate the family's "
                        "options)")
    p.add_argument("--pool", type=parse_pool, default=None, metavar="NAMES",
                   help="the convs a 2x2/2 max-pool follows, e.g. conv1,conv2, or 'none' "
                        "(default: enumerate)")
    p.add_argument("--rounding", choices=["floor", "half_up"], default="floor",
                   help="requantization rounding (legacy files are floor)")
    p.add_argument("--input-clamp", action="store_true",
                   help="clamp the input integer to [0, 2^n - 1] (legacy: no clamp)")
    p.add_argument("--layout", choices=["coo", "dense", "csr", "csc"], default="coo",
                   help="weight layout of the output file")
    p.add_argument("--mean", type=float, default=None, metavar="M",
                   help="preprocessing mean, x = (p/255 - M)/S (legacy default 0.5)")
    p.add_argument("--std", type=float, default=None, metavar="S",
                   help="preprocessing std (legacy default 0.5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fpgac.flows.convert import convert

    model = convert(args.model, args.output, padding=args.padding, pool=args.pool,
                    rounding=args.rounding, input_clamp=args.input_clamp, layout=args.layout,
                    mean=args.mean, std=args.std)
    clamp = ", input clamped" if model.input.clamp else ""
    print(f"{args.model}: {model.topology} (rounding {model.rounding}{clamp}) -> {args.output}")
    return 0
