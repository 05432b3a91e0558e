"""Board builds with the real tools: iCEBreaker and ULX3S to bitstream, Arty estimate.

Usage::

    python bench/boards_bench.py [--model MODEL] [--tiny MODEL] [--out bench/out/boards]

For each board it runs ``fpgac.flows.build.build`` (``--pes auto``) on the default example
(``examples/lenet5_g90_8b*.yml``) and, for the iCEBreaker, also on the small
``tests/fixtures/models/tiny_int.yml``; a build that does not fit is recorded with its message
(the resource that limits it). The
figures (P, cycles, images/s at the clock and at Fmax, resources, tool times) are printed and
written to ``<out>/boards.json``. Takes minutes (the first YoWASP call compiles its wasm).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from fpgac.flows.build import build
from fpgac.errors import FpgacError

ROOT = Path(__file__).resolve().parent.parent


def _example(pattern: str) -> Path | None:
    found = sorted(p for p in (ROOT / "examples").glob(pattern)
                   if not p.name.endswith(".config.yml"))
    return found[0] if found else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="default: examples/lenet5_g90_8b*.yml")
    ap.add_argument("--tiny", default=str(ROOT / "tests" / "fixtures" / "models" / "tiny_int.yml"),
                    help="small model for the iCEBreaker (tests/fixtures/models/tiny_int.yml; "
                         "'' to skip)")
    ap.add_argument("--boards", default="icebreaker,ulx3s,arty",
                    help="comma-separated boards for --model (icebreaker,ulx3s,arty)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "boards"))
    args = ap.parse_args(argv)
    model = args.model or _example("lenet5_g90_8b*.yml")
    runs = [("icebreaker", args.tiny)] if args.tiny else []
    runs += [(b, model) for b in args.boards.split(",") if b]
    out = Path(args.out)
    results = []
    for board, path in runs:
        if path is None:
            continue
        name = Path(path).name.split(".")[0]
        t0 = time.monotonic()
        print(f"== {board}: {name}", flush=True)
        try:
            rep = build(path, board, pes="auto", out_dir=out / f"{board}-{name}",
                        progress=lambda s: print(f"   {s}", flush=True))
            row = {"board": board, "model": name, "ok": True, **{k: rep[k] for k in (
                "pes", "clock_mhz", "cycles_per_inference", "latency_us", "images_per_s",
                "fmax_mhz", "images_per_s_at_fmax", "timing_met", "resources", "estimate",
                "rom_bits", "dense_rom_bits", "nnz_macs", "dense_macs", "utilization",
                "times_s", "notes")}}
        except FpgacError as exc:
            row = {"board": board, "model": name, "ok": False, "error": str(exc)}
        row["seconds"] = round(time.monotonic() - t0, 1)
        results.append(row)
        print(json.dumps(row, indent=1), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "boards.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out / 'boards.json'}")
    return 0 if all(r["ok"] or "expected at most" in r.get("error", "") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
