"""``fpgac selftest [--long] [--seed S] [--models N]``: the reliability regression.

Runs the families of :data:`fpgac.sim.selftest.PLAN` (requantizer and accumulation vectors vs
a big-integer reference, random models through golden / PyTorch integer mode / RTL on Verilator
and Icarus, x-initial and stalls, loader fuzzing, determinism, formal proofs) and prints one
row per family. Exit status 0 when every family passed, 1 when any disagreement was found
(the first one is printed), 2 on a usage error.
"""

from __future__ import annotations

from .args import positive_int

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from fpgac.sim.selftest import PLAN

    p = subparsers.add_parser(
        "selftest", help="run the reliability regression (random models, vectors, fuzzing)",
        description="Cross-check golden, PyTorch integer mode, a big-integer reference and the "
                    "RTL (Verilator, Icarus) on random models and primitive vectors; fuzz the "
                    "model loader; check determinism; run the formal proofs. The default is a "
                    "few minutes; --long is the nightly size (hours on 2 cores).")
    p.add_argument("--long", action="store_true", help="nightly sizes (1e6 vectors, 10,000 "
                   "fuzzed files, hundreds of models)")
    p.add_argument("--seed", type=int, default=0, help="seed base (default 0)")
    p.add_argument("--models", type=positive_int, default=None,
                   help="random models checked against the references (default 50, long 500)")
    p.add_argument("--only", nargs="+", default=[], choices=sorted(PLAN), metavar="FAMILY",
                   help=f"run only these families: {', '.join(PLAN)}")
    p.add_argument("--replay-dir", default="selftest-replay",
                   help="where failing random models are saved (default ./selftest-replay)")
    p.set_defaults(func=run)


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from fpgac.sim.selftest import run_selftest

    console = Console(stderr=True)
    with console.status("fpgac selftest") as status:
        def progress(name, res):
            if res is None:
                status.update(f"fpgac selftest: {name}")
            else:
                console.log(res.line())

        results = run_selftest(long=args.long, seed=args.seed, models=args.models,
                               only=tuple(args.only), replay_dir=args.replay_dir,
                               progress=progress)
    table = Table(title=f"fpgac selftest ({'long' if args.long else 'quick'}, seed {args.seed})")
    for col in ("check", "cases", "failures", "seconds", "status"):
        table.add_column(col, justify="right" if col in ("cases", "failures", "seconds")
                         else "left")
    for r in results:
        table.add_row(r.name, str(r.cases), str(r.failures), f"{r.seconds:.1f}",
                      "ok" if r.ok else "FAIL")
    Console().print(table)
    bad = [r for r in results if not r.ok]
    for r in bad:
        print(f"FAIL {r.name}: {r.first_failure or 'no cases ran'}")
    return 1 if bad else 0
