"""``fpgac verify MODEL``: the emitted RTL, simulated on MNIST test images, vs the golden model.

Parses the arguments, runs :func:`fpgac.flows.verify.verify` and prints its figures (bit-exact
comparison with the golden model, simulated vs predicted cycles, speed, PE utilization,
accuracy). Exit status 1 if any image mismatches or any cycle count differs from the
prediction; 2 for a user error (bad model, bad flag).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from fpgac.flows.verify import DEFAULT_PES, PARALLEL_MIN

from .args import build_report, positive_int

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from fpgac.boards.platforms import BOARDS as boards

    p = subparsers.add_parser(
        "verify", help="simulate the generated RTL on MNIST and compare with the golden model",
        description="Build the accelerator for MODEL, simulate it (cocotb + Verilator or Icarus) "
                    "on MNIST test images and compare every logit and class with the golden "
                    "integer model; check simulated against predicted cycles. Exit 1 on any "
                    "mismatch.")
    p.add_argument("model", help="model file (YAML, fpgac or legacy int_values format)")
    p.add_argument("--images", type=positive_int, default=100,
                   help="number of MNIST test images, from the first (default 100)")
    p.add_argument("--pes", type=positive_int, default=None,
                   help=f"parallel lanes P (default: the --build-report's; with --board that "
                        f"board's --pes auto, as `fpgac build`; else {DEFAULT_PES})")
    p.add_argument("--data", default=None,
                   help="MNIST directory (t10k-* IDX files); default: the shipped copy")
    p.add_argument("--json", default=None, help="write every figure to this JSON file")
    p.add_argument("--html", default=None, metavar="FILE.html",
                   help="write a self-contained HTML report with figures")
    p.add_argument("--trace", default=None, metavar="FILE.fst",
                   help="also write a Verilator FST waveform of one image (see docs/waveforms.md)")
    p.add_argument("--trace-image", type=int, default=0, metavar="I",
                   help="the image --trace records (index among the verified images, default 0)")
    p.add_argument("--simulator", choices=["verilator", "icarus"], default="verilator",
                   help="HDL simulator (default verilator)")
    p.add_argument("--build-dir", default=None,
                   help="simulator build cache (default ~/.cache/fpgac/rtl)")
    p.add_argument("--stalls", type=int, default=None, metavar="SEED",
                   help="random valid/ready stalls on the streams with this seed")
    p.add_argument("--jobs", type=positive_int, default=2,
                   help=f"parallel simulator processes for runs of >= {PARALLEL_MIN} images "
                        "(default 2)")
    p.add_argument("--weight-store", choices=["rom", "loaded"], default=None,
                   help="rom: weights in the bitstream (default without --build-report); "
                        "loaded: weight RAMs uploaded with their CRC-16 before the images (the "
                        "iCEBreaker build's store)")
    p.add_argument("--overlap", action=argparse.BooleanOptionalAction, default=None,
                   help="the core that loads the next image while the current one computes "
                        "(`fpgac build --overlap`): images run back to back in one simulator "
                        "process, every start-to-start interval checked against the cycle "
                        "model (default: as the --build-report's design; else with --board "
                        "as `fpgac build --board`'s default, --overlap auto; else off)")
    p.add_argument("--board", choices=sorted(boards), default=None,
                   help="verify the core that `fpgac build --board BOARD` makes (its weight "
                        "banks, activation copies and weight store; default: the "
                        "--build-report's board, else the generic plan)")
    p.add_argument("--netlist", action="store_true",
                   help="simulate the gate-level netlist of the board's Yosys synthesis "
                        "instead of the emitted Verilog (icebreaker: every iCE40 cell has a "
                        "simulation model; not ulx3s: Yosys has none for DP16KD, MULT18X18D)")
    p.add_argument("--clock-mhz", type=float, default=None,
                   help="report latency and images/s at this clock (MHz)")
    p.add_argument("--build-report", default=None, metavar="REPORT_JSON",
                   help="take the clock, the Fmax and the design (board, P, weight store, "
                        "overlap) from this `fpgac build` report.json; a --board, --pes, "
                        "--weight-store or "
                        "--overlap that differs from the build's is refused")
    p.set_defaults(func=run)


def run(args) -> int:
    from rich.console import Console

    from fpgac.flows.verify import verify

    console = Console(stderr=True)
    with console.status("fpgac verify") as status:
        def progress(text: str) -> None:
            status.update(f"fpgac verify: {text}")

        clock_mhz, fmax_mhz = _clock_args(args)
        pes, weight_store, overlap, board, built_cycles = _design_args(args)
        if args.trace is not None:
            from fpgac.errors import FpgacError

            if args.simulator != "verilator":
                raise FpgacError(f"--trace: expected --simulator verilator (FST), found "
                                 f"{args.simulator}")
            if not 0 <= args.trace_image < args.images:
                raise FpgacError(f"--trace-image: expected an index in [0, {args.images - 1}] "
                                 f"(--images {args.images}), found {args.trace_image}")
        t0 = time.perf_counter()
        r = verify(args.model, images=args.images, pes=pes, data_dir=args.data,
                   simulator=args.simulator, build_dir=args.build_dir, stalls=args.stalls,
                   progress=progress, jobs=args.jobs, clock_mhz=clock_mhz, fmax_mhz=fmax_mhz,
                   trace=args.trace, trace_image=args.trace_image,
                   weight_store=weight_store, overlap=overlap, board=board,
                   netlist=args.netlist, expect_compute_cycles=built_cycles)
        r["total_seconds"] = time.perf_counter() - t0
    _print(r)
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2) + "\n")
    if args.html:
        from fpgac.reports import verify_page, write_page

        print(f"report     {write_page(verify_page(r), args.html)}")
    return 0 if r["passed"] else 1


def _design_args(args) -> tuple[int, str | None, bool | None, str | None, int | None]:
    """``(pes, weight_store, overlap, board, compute_cycles)``: the options, or the
    ``--build-report``'s design where an option is not given (and the build's predicted
    compute cycles, which the verified plan must repeat); an option that contradicts the
    build's design is an error (its figures would be of another design at that build's
    clock)."""
    from fpgac.errors import FpgacError

    given = {"pes": args.pes, "weight_store": args.weight_store, "overlap": args.overlap,
             "board": args.board}
    if not args.build_report:
        pes = args.pes if args.pes is not None else None if args.board else DEFAULT_PES
        return pes, args.weight_store, args.overlap, args.board, None
    rep = build_report(args.build_report, "pes", "the build's P", int)
    ws = rep.get("weight_store")
    built = {"pes": rep["pes"], "weight_store": ws.get("kind", "rom") if isinstance(ws, dict)
             else "rom", "overlap": bool(rep.get("overlap", False)), "board": rep.get("board")}
    flag = {"pes": lambda v: f"--pes {v}", "weight_store": lambda v: f"--weight-store {v}",
            "overlap": lambda v: "--overlap" if v else "--no-overlap",
            "board": lambda v: f"--board {v}"}
    for key, value in given.items():
        if value is not None and value != built[key]:
            raise FpgacError(f"{flag[key](value).split()[0]}: expected {flag[key](built[key])} "
                             f"(the build in {args.build_report}) or none, found "
                             f"{flag[key](value)}")
    cycles = rep.get("compute_cycles")
    return (built["pes"], built["weight_store"], built["overlap"], built["board"],
            cycles if isinstance(cycles, int) else None)


def _clock_args(args) -> tuple[float | None, float | None]:
    """``(clock_mhz, fmax_mhz)`` from ``--clock-mhz`` and ``--build-report``."""
    from fpgac.errors import FpgacError

    clock, fmax = args.clock_mhz, None
    if clock is not None and not clock > 0:
        raise FpgacError(f"--clock-mhz: expected a frequency > 0 MHz, found {clock:g}")
    if args.build_report:
        rep = build_report(args.build_report, "clock_mhz", "a number", (int, float))
        if clock is not None and abs(clock - rep["clock_mhz"]) > 1e-9:
            raise FpgacError(f"--clock-mhz: expected the build's clock {rep['clock_mhz']:g} "
                             f"MHz (from --build-report), found {clock:g}; give one of them")
        clock, fmax = rep["clock_mhz"], rep.get("fmax_mhz")
    return clock, fmax


def _print(r: dict) -> None:
    n = r["images"]
    design = f", the {r['board']} build's plan" if r.get("board") else ""
    nl = r.get("netlist")
    if nl:
        design += (f", its {nl['flow']} netlist (" + ", ".join(
            f"{v} {k}" for k, v in sorted(nl["cells"].items(), key=lambda kv: -kv[1])[:6])
            + ")")
    print(f"model      {r['model_name']} ({r['model']}), P = {r['pes']}{design}, {r['simulator']}"
          + (f", stalls seed {r['stalls']}" if r["stalls"] is not None else ""))
    up = r.get("weight_upload")
    if up is not None:
        print(f"weights    loaded store: upload {'taken, CRC-16 match' if up['ok'] else 'FAILED'}"
              f" (weights_done {up['done_cycles']} cycles after the last byte)")
    print(f"mismatches {r['mismatches']} of {n} images vs golden "
          f"(logits {r['logit_mismatches']}, class {r['class_mismatches']})")
    for ex in r["mismatch_examples"]:
        print(f"  image {ex['image']}: class rtl {ex['rtl_class']} golden {ex['golden_class']}; "
              f"logits differ at {ex['logit_indices']}: rtl {ex['rtl_logits']} "
              f"golden {ex['golden_logits']}")
        first = ex.get("first_difference")
        if first:
            print(f"  first differing layer: {first['layer']} (#{first['index']}) at "
                  f"{tuple(first['position'])}: rtl {first['rtl']} golden {first['golden']} "
                  f"({first['differing']} values differ)")
    if r.get("trace_command"):
        print(f"  waveform of image {r['mismatch_examples'][0]['image']}: "
              f"{r['trace_command']}")
    if r.get("trace"):
        print(f"trace      image {r['trace']['image']} -> {r['trace']['file']} "
              "(GTKWave / Surfer, docs/waveforms.md)")
    lo, hi = r["simulated_compute_cycles_min"], r["simulated_compute_cycles_max"]
    sim = str(lo) if lo == hi else f"{lo}..{hi}"
    print(f"cycles     {sim} simulated, {r['predicted_compute_cycles']} predicted per inference "
          f"(+{r['load_cycles']} load); {r['cycle_mismatches']} images differ")
    if r.get("overlap") and "simulated_interval_cycles_min" in r:
        lo, hi = r["simulated_interval_cycles_min"], r["simulated_interval_cycles_max"]
        print(f"interval   {lo if lo == hi else f'{lo}..{hi}'} simulated, "
              f"{r['predicted_interval_cycles']} predicted start to start (overlap); "
              f"{r['interval_mismatches']} intervals differ")
    sp = r["speed"]
    lat = sp["latency_cycles"]
    line = (f"speed      {lat['mean']:.1f} cycles per image (load + compute; min {lat['min']}, "
            f"max {lat['max']})")
    for key in ("clock", "fmax"):
        if sp[f"{key}_mhz"]:
            line += (f"; {sp[f'images_per_s_at_{key}']:.0f} images/s, "
                     f"{sp[f'latency_us_at_{key}']['mean']:.1f} us at {sp[f'{key}_mhz']:g} MHz"
                     + (" (Fmax)" if key == "fmax" else ""))
    print(line)
    print(f"PE util    {100 * r['pe_utilization']:.1f} % ({r['nnz_macs']} non-zero MACs / "
          f"{r['pes']} PEs / cycles)")
    print(f"accuracy   {100 * r['accuracy_rtl']:.2f} % RTL, {100 * r['accuracy_golden']:.2f} % "
          f"golden (on {n} labelled test images)")
    build = "cached" if r["cached_build"] else f"{r['build_seconds']:.1f} s"
    print(f"speed      build {build}, simulation {r['sim_seconds']:.1f} s = "
          f"{r['sim_images_per_second']:.0f} images/s, "
          f"{r['sim_cycles_per_second'] / 1e6:.2f} M cycles/s")
    print("PASS: bit-exact and cycle-exact" if r["passed"] else "FAIL")
