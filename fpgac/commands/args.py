"""Argument types shared by the ``fpgac`` subcommands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["positive_int", "build_report"]


def positive_int(text: str) -> int:
    """argparse ``type=``: an integer >= 1, else an error that shows what was found."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {value}")
    return value


def build_report(path: str, key: str, what: str, types: type | tuple[type, ...]) -> dict:
    """The ``report.json`` of ``fpgac build`` at ``path`` (``--build-report``), checked to hold
    ``key`` of ``types`` (described as ``what`` in the error); else a :class:`FpgacError`."""
    from fpgac.errors import FpgacError

    try:
        rep = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise FpgacError(f"--build-report: expected a readable report.json, found "
                         f"{path} ({exc})") from None
    if not isinstance(rep, dict) or not isinstance(rep.get(key), types):
        raise FpgacError(f"--build-report: {path}: expected key {key} ({what}), found none")
    return rep
