"""``fpgac build MODEL --board B``: Verilog, constraints, scripts, ROM hex, report; optionally
the open-flow bitstream (iCEBreaker, ULX3S) or Vivado / a resource estimate (Arty)."""

from __future__ import annotations

import argparse
import math
import sys

from .args import positive_int

__all__ = ["register", "run"]


def _pes(text: str):
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer or 'auto', found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'auto', found {value}")
    return value


def _default_bauds() -> str:
    """The link rate each board's default clock gives, for the help text (from the same
    functions the build uses, so the text cannot go stale)."""
    from fpgac.boards.clock import default_clock_mhz
    from fpgac.boards.link import link_baud
    from fpgac.boards.platforms import BOARDS

    return ", ".join(f"{name} {link_baud(name, default_clock_mhz(name) * 1e6)}"
                     for name in sorted(BOARDS))


def register(subparsers) -> None:
    from fpgac.boards.platforms import BOARDS
    from fpgac.flows.build import DEFAULT_OVERLAP

    p = subparsers.add_parser(
        "build", help="build the accelerator + UART harness for a board",
        description="Generate Verilog, constraints and scripts for MODEL on a board, with a "
                    "report (cycles, throughput, memory, resources, Fmax). iCEBreaker and ULX3S "
                    "go through the open flow (YoWASP) to a bitstream unless --no-pnr.")
    p.add_argument("model", help="model file (YAML)")
    p.add_argument("--board", required=True, choices=sorted(BOARDS), help="target board")
    p.add_argument("--pes", type=_pes, default="auto",
                   help="parallel lanes P, or 'auto' (largest that fits; default)")
    p.add_argument("-o", "--output", default=None, help="output directory (build/<model>-<board>)")
    p.add_argument("--baud", type=int, default=None,
                   help="UART baud rate (default: the board's link rate at the clock; at the "
                        f"default clocks {_default_bauds()})")
    p.add_argument("--clock-mhz", type=float, default=None,
                   help="clock in MHz, made by the board's PLL (default: the board's default "
                        "clock, docs/boards.md); the report states the exact frequency")
    p.add_argument("--weight-store", choices=("auto", "rom", "loaded"), default="auto",
                   help="where the weights live: 'rom' (block RAM initialised by the "
                        "bitstream), 'loaded' (iCE40 SPRAM, uploaded over the UART at start-up "
                        "by `fpgac run`), 'auto' (default: rom unless it does not fit and "
                        "loaded does; docs/boards.md)")
    p.add_argument("--overlap", choices=("off", "on", "auto"), default=DEFAULT_OVERLAP,
                   help="load the next image while the current one computes (the input map "
                        "in its own region): 'off', 'on', or 'auto' (default: where the "
                        "estimate fits, never on the iCE40; docs/architecture.md)")
    p.add_argument("--seeds", type=positive_int, default=1,
                   help="open flows: place and route with up to N nextpnr seeds, as many at a "
                        "time as there are cores, keeping the first route that meets the "
                        "clock, else the fastest (default 1: nextpnr's default seed)")
    p.add_argument("--no-pnr", dest="pnr", action="store_false",
                   help="stop after Verilog + report (no synthesis / place and route)")
    p.set_defaults(func=run)


def run(args) -> int:
    from rich.console import Console

    from fpgac.flows.build import build, default_out_dir

    console = Console(stderr=True)
    out = args.output or default_out_dir(args.model, args.board)
    with console.status("fpgac build") as status:
        def progress(text: str) -> None:
            status.update(f"fpgac build: {text}")
            console.log(text)

        report = build(args.model, args.board, pes=args.pes, out_dir=out, baud=args.baud,
                       clock_mhz=args.clock_mhz, pnr=args.pnr, progress=progress,
                       weight_store=args.weight_store, overlap=args.overlap,
                       seeds=args.seeds)
    line = (f"{report['board']}: P={report['pes']}, {report['cycles_per_inference']} cycles, "
            f"{report['images_per_s']:.0f} images/s at {report['clock_mhz']:g} MHz")
    if report.get("overlap"):
        line += f" (overlapped load: an image every {report['interval_cycles']} cycles)"
    if report.get("fmax_mhz"):
        line += f", Fmax {report['fmax_mhz']:.1f} MHz"
    print(line)
    for note in report["notes"]:
        print(f"note: {note}")
    print(f"report: {out}/report.md")
    if report.get("timing_met") is False:
        print(f"fpgac build: error: timing not met (Fmax {report['fmax_mhz']:.2f} MHz < "
              f"{report['clock_mhz']:g} MHz); the bitstream may not work; "
              f"{timing_hint(report)}", file=sys.stderr)
        return 1
    return 0


def timing_hint(report: dict) -> str:
    """What to try after a route that missed the clock: more nextpnr seeds (twice those
    tried, at least 4: one netlist's routes differ by up to 11 % in Fmax, docs/boards.md) and
    a clock at or below the best route's Fmax (whole MHz, rounded down)."""
    tried = len(report.get("pnr_seeds") or ()) or 1
    clock = math.floor(report["fmax_mhz"])
    return (f"rebuild with --seeds {max(4, 2 * tried)} (other placements) or "
            f"--clock-mhz {clock} (a clock at or below this route's Fmax)")
