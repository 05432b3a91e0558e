"""Long reliability run: every family of ``fpgac.sim.selftest.PLAN`` at its long size.

    python bench/reliability_bench.py [--seed S] [--only FAMILY ...] [--out results.json]

Same code path as ``fpgac selftest --long``; writes one JSON record per family (cases,
failures, first failure, seconds, notes) plus the command line, so every figure quoted in
docs/reliability.md can be regenerated. Failing random models are saved under
``--replay-dir`` (default ``bench/out/replay``) as replay fixtures.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from fpgac.sim.selftest import PLAN, run_selftest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", default=[], choices=sorted(PLAN))
    ap.add_argument("--out", default="bench/out/reliability.json")
    ap.add_argument("--replay-dir", default="bench/out/replay")
    ap.add_argument("--quick", action="store_true", help="CI-sized families (smoke test)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    def progress(name, res):
        if res is None:
            print(f"[{time.perf_counter() - t0:7.1f} s] {name} ...", flush=True)
        else:
            print(f"[{time.perf_counter() - t0:7.1f} s] {res.line()}", flush=True)
            for note in res.notes:
                print(f"    {note}", flush=True)

    results = run_selftest(long=not args.quick, seed=args.seed, only=tuple(args.only),
                           replay_dir=args.replay_dir, progress=progress)
    record = {"command": " ".join([Path(sys.executable).name] + sys.argv),
              "python": platform.python_version(), "seconds": time.perf_counter() - t0,
              "families": [r.__dict__ | {"ok": r.ok} for r in results]}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
