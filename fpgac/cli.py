"""The ``fpgac`` command line.

Each subcommand lives in its own module under :mod:`fpgac.commands` and provides
``register(subparsers)`` (adds its parser, sets ``func``). User errors (:class:`FpgacError`)
are printed as one line on stderr with exit status 2; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import FpgacError

#: Subcommand modules, in the order ``fpgac --help`` lists them.
COMMANDS = ["demo", "eval", "convert", "compress", "verify", "build", "run", "ip", "selftest"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fpgac",
        description="From a pruned, quantized CNN to a bit-exact sparse FPGA accelerator.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"fpgac.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"fpgac.commands.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except FpgacError as exc:
        print(f"fpgac {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fpgac {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
