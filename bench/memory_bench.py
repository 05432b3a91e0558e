"""Memory of the accelerator per part, P and board: weight bits, tables, blocks, cycles.

Usage::

    python bench/memory_bench.py [--model MODEL ...] [--pes 1,8,16,32,54,64] [--json OUT]
                                 [--before REV] [--overlap off|on|auto]

For each model and P it plans the accelerator (no synthesis) and prints: the weight storage
bits (all entries incl. indices, fillers and padding) and their ratio to the dense weight bits,
the control-table bits, the activation words per copy, the predicted compute cycles, and the
block RAMs of :func:`fpgac.compiler.analysis.resources.estimate` for the iCEBreaker (iCE40
EBR), the ULX3S (ECP5 DP16KD) and the Arty A7 (RAMB36 equivalents ``ceil(RAMB18 / 2)``,
the RAMB18 in brackets), each for the plan
``fpgac build`` makes for that board, and the iCE40 blocks per memory class (weights /
activations / control / other). On the iCEBreaker that plan takes the loaded weight store
(weights in SPRAM, uploaded at start-up) where the ROMs do not fit its 30 EBR: the iCE40 column
then reads ``EBR + SPRAM s (loaded)``. ``--overlap`` plans each board with that choice
(:func:`~fpgac.compiler.analysis.resources.plan_for_board`: the next image loads while the
current one computes; ``auto`` where the estimate fits, never on the iCE40); the last
column is the ULX3S plan's ``interval_cycles`` (start to start of back-to-back images). Takes
seconds.

``--before REV`` also runs this bench as it was at commit ``REV`` (``bench/before.py``) on the
same models and P and prints a before -> after table of the columns both have; ``--before
67982c3`` is the seed accelerator (the first commit of this bench).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fpgac.compiler.analysis.resources import estimate, plan_for_board
from fpgac.boards.platforms import get_board
from fpgac.compiler.analysis.cycles import predict
from fpgac.compiler.frontend import load_model
from fpgac.compiler.plan import plan_hardware
from fpgac.sim.preprocess import pixel_table

ROOT = Path(__file__).resolve().parent.parent
BOARDS = ("icebreaker", "ulx3s", "arty")


def rows(model_path: str, pes_list, overlap: str = "off") -> list[dict]:
    """One dict per P with the figures listed in the module docstring."""
    model = load_model(model_path)
    out = []
    for pes in pes_list:
        plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
        row = {"model": Path(model_path).name, "pes": pes, "rom_bits": int(plan.rom_bits),
               "dense_rom_bits": int(plan.dense_rom_bits),
               "ratio": plan.rom_bits / plan.dense_rom_bits,
               "table_bits": int(plan.table_bits), "act_words": int(plan.mem_depth),
               "cycles": int(predict(plan).compute_cycles)}
        for board in BOARDS:          # the plan a build makes for the board (bank ROM ports)
            b = get_board(board)
            bplan = plan_for_board(model, pes, b, pixel_table(model), overlap=overlap)
            est = estimate(bplan, b)
            row[board] = int(est.bram_blocks)
            row[f"{board}_ramb18"] = int(est.ramb18)
            row[f"{board}_by_class"] = {k: int(v) for k, v in est.blocks_by_class.items()}
            row[f"{board}_store"] = bplan.weight_store
            row[f"{board}_spram"] = int(est.spram_blocks)
            row[f"{board}_overlap"] = bool(bplan.overlap)
            row[f"{board}_interval"] = int(predict(bplan).interval_cycles)
        out.append(row)
    return out


def _classes(by_class: dict) -> str:
    """Blocks per class as ``weights/activations/control/other`` (indices count as weights)."""
    return "/".join(str(by_class[k] + (by_class["indices"] if k == "weights" else 0))
                    for k in ("weights", "activations", "control", "other"))


def _ice40(r: dict) -> str:
    """The iCE40 blocks: EBR, and the SPRAM of the loaded weight store."""
    if r["icebreaker_store"] == "loaded":
        return f"{r['icebreaker']} + {r['icebreaker_spram']} SPRAM (loaded)"
    return str(r["icebreaker"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", default=None,
                    help="model file (repeatable); default: the LeNet-5 8-bit and 4-bit examples")
    ap.add_argument("--pes", default="1,8,16,32,54,64")
    ap.add_argument("--json", default=None, help="also write the rows to this file")
    ap.add_argument("--before", default=None, metavar="REV",
                    help="also print before -> after against this bench at commit REV "
                         "(e.g. 67982c3, the seed accelerator)")
    ap.add_argument("--overlap", choices=("off", "on", "auto"), default="off",
                    help="plan each board with this overlap choice (default off)")
    args = ap.parse_args(argv)
    models = args.model or [str(ROOT / "examples" / "lenet5_g90_8b.yml"),
                            str(ROOT / "examples" / "lenet5_g90_4b.fpgac.yml")]
    pes_list = [int(v) for v in args.pes.split(",") if v]
    allrows = []
    for path in models:
        print(f"\n{Path(path).name}")
        print("| P | weight bits | / dense | table bits | act words | cycles | "
              "iCE40 EBR | ECP5 DP16KD | RAMB36 eq. (RAMB18) | iCE40 w/a/c/o | ULX3S interval |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows(path, pes_list, args.overlap):
            allrows.append(r)
            print(f"| {r['pes']} | {r['rom_bits']:,} | {r['ratio']:.2f} | {r['table_bits']:,} | "
                  f"{r['act_words']:,} | {r['cycles']:,} | {_ice40(r)} | {r['ulx3s']} | "
                  f"{r['arty']} ({r['arty_ramb18']}) | {_classes(r['icebreaker_by_class'])} | "
                  f"{r['ulx3s_interval']:,}{' (overlap)' if r['ulx3s_overlap'] else ''} |",
                  flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(allrows, indent=1) + "\n")
    if args.before:
        from before import BeforeError, run_at

        old_args = [a for path in models for a in ("--model", str(Path(path).resolve()))]
        try:
            old = run_at(args.before, "memory_bench.py", old_args + ["--pes", args.pes])
        except BeforeError as exc:
            print(f"memory_bench: {exc}", file=sys.stderr)
            return 2
        print_before_after(args.before, old, allrows)
    return 0


#: Columns of the before -> after table: (row key, heading, format).
COMPARED = (("rom_bits", "weight bits", "{:,}"), ("ratio", "/ dense", "{:.2f}"),
            ("table_bits", "table bits", "{:,}"), ("act_words", "act words", "{:,}"),
            ("cycles", "cycles", "{:,}"), ("icebreaker", "iCE40 EBR", "{}"),
            ("ulx3s", "ECP5 DP16KD", "{}"), ("arty", "RAMB36", "{}"))


def print_before_after(rev: str, old: list[dict], new: list[dict]) -> None:
    """The rows of both runs, matched by model file name and P: ``before -> after`` per cell
    (a column the earlier bench did not have is left out)."""
    before = {(r["model"], r["pes"]): r for r in old}
    cols = [c for c in COMPARED if all(c[0] in r for r in old)]
    model = None
    for r in new:
        b = before.get((r["model"], r["pes"]))
        if b is None:
            continue
        if r["model"] != model:
            model = r["model"]
            print(f"\n{model}: before ({rev}) -> after (this tree)")
            print("| P | " + " | ".join(c[1] for c in cols) + " |")
            print("|---|" + "---|" * len(cols))
        after = {key: _ice40(r) if key == "icebreaker" else fmt.format(r[key])
                 for key, _, fmt in cols}
        print(f"| {r['pes']} | " + " | ".join(
            f"{fmt.format(b[key])} -> {after[key]}" for key, _, fmt in cols) + " |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
