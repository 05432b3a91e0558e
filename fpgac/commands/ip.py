"""``fpgac ip``: the accelerator core as reusable IP (AXI4-Stream or Wishbone B4 slave)."""

from __future__ import annotations

from fpgac.commands.args import positive_int

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "ip", help="write the core as reusable IP (AXI4-Stream or Wishbone)",
        description="Write MODEL's accelerator core without a board into DIR: one Verilog "
                    "module with an AXI4-Stream (AMBA port names) or Wishbone B4 slave "
                    "(register map in DIR/README.md) interface, a cocotb test with golden "
                    "vectors (python DIR/run_test.py verilator|icarus) and, for AXI4-Stream, "
                    "a Vivado IP packaging script (run when vivado is on PATH).")
    p.add_argument("model", help="model file (fpgac or legacy YAML)")
    p.add_argument("--bus", required=True, choices=["axi-stream", "wishbone"],
                   help="bus interface")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--pes", type=positive_int, default=1, help="lanes P (1)")
    p.add_argument("--images", type=positive_int, default=4,
                   help="test images in vectors.json (4, at least 2)")
    p.add_argument("--test", choices=["verilator", "icarus"], default=None,
                   help="also run the cocotb test on this simulator")
    p.set_defaults(func=run)


def run(args) -> int:
    from fpgac.errors import FpgacError
    from fpgac.ip.generate import write_ip

    meta = write_ip(args.model, args.bus, args.out, pes=args.pes, images=args.images)
    print(f"{args.out}: {meta['verilog']} (module {meta['top']}, P = {meta['pes']}), "
          f"README.md, run_test.py" + (", package_ip.tcl" if args.bus == "axi-stream" else "")
          + (" (Vivado IP packaged into ip_repo/)" if meta["vivado_packaged"] else ""))
    if args.test:
        from fpgac.ip.runtest import run as run_test

        try:
            results = run_test(args.out, args.test)
        except (RuntimeError, SystemExit) as exc:
            raise FpgacError(f"--test {args.test}: expected the simulation to build and run, "
                             f"found {exc}") from None
        for name, ok in results.items():
            print(f"{'PASS' if ok else 'FAIL'} {name} ({args.test})")
        return 0 if results and all(results.values()) else 1
    return 0
