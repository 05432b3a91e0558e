"""Lint of the whole emitted board top (harness, UART, core and I/O buffers), per board.

``fpgac build --no-pnr`` output (``top.v`` for Vivado, ``top.debug.v`` for the open flows) is
linted with ``verilator --lint-only -Wall`` plus the core's reviewed waivers (``hw/lint.vlt``),
the board top's (``boards/lint/top.vlt``) and lint-only models of the vendor primitives
(``boards/lint/primitives.v``). Any other warning fails, with Verilator's messages.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fpgac.flows.build import build
from fpgac.boards.platforms import BOARDS
from fpgac.compiler.frontend import save_model
from fpgac.sim import tools
from fpgac.sim.randmodel import random_model

ROOT = Path(__file__).resolve().parents[2]
CORE_WAIVERS = ROOT / "hw" / "lint.vlt"
TOP_WAIVERS = ROOT / "boards" / "lint" / "top.vlt"
PRIMITIVES = ROOT / "boards" / "lint" / "primitives.v"


def lint_top(verilog: Path, tmp_path: Path) -> list[str]:
    """Warnings and errors of Verilator ``-Wall`` on a board top (module ``top``)."""
    src = tmp_path / "top.v"                       # file named after its module (DECLFILENAME)
    if verilog != src:
        src.write_text(verilog.read_text())
    proc = subprocess.run(
        ["verilator", "--lint-only", "-Wall", "--top-module", "top", str(CORE_WAIVERS),
         str(TOP_WAIVERS), str(PRIMITIVES), str(src)],
        env=tools.simulator_env("verilator"), capture_output=True, text=True, timeout=300)
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%")]
    assert (proc.returncode == 0) == (not lines), (proc.returncode, proc.stderr[-2000:])
    return lines


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    model = random_model(4, size=(6, 6), channels=(1, 1), n_bits=(4, 12), max_convs=2,
                         max_linears=2, strides=False, square=True)       # 2-byte logits
    path = tmp_path_factory.mktemp("model") / "tiny.fpgac.yml"
    save_model(model, path)
    return path


def test_board_waivers_reviewed_and_keep_truncation_fatal():
    text = TOP_WAIVERS.read_text()
    lines = text.splitlines()
    rules = [ln for ln in lines if ln.startswith("lint_off")]
    assert rules and not any("WIDTHTRUNC" in r or "WIDTH " in r or "-rule" not in r
                             for r in rules)
    for i, ln in enumerate(lines):
        if ln.startswith("lint_off"):
            j = i - 1
            while lines[j].startswith("lint_off"):       # a group shares its reason
                j -= 1
            assert lines[j].startswith("//"), f"waiver without a reason: {ln}"
            assert "-file" in ln, f"waiver not restricted to a file: {ln}"


@pytest.mark.parametrize("board", ["arty", "icebreaker", "ulx3s"])
def test_board_top_lint_clean(tiny, tmp_path, board):
    out = tmp_path / "build"
    build(tiny, board, pes=2, out_dir=out, pnr=False)
    flow = BOARDS[board].flow
    top = out / ("top.v" if flow == "vivado" else "top.debug.v")
    assert "module top" in top.read_text()
    found = lint_top(top, tmp_path)
    assert found == [], "\n".join(found[:30])


def test_loaded_weight_store_top_lint_clean(tiny, tmp_path):
    """The iCEBreaker top with the loaded weight store (command parser, CRC, weight loader,
    RAM banks)."""
    out = tmp_path / "build"
    report = build(tiny, "icebreaker", pes=2, out_dir=out, pnr=False, weight_store="loaded")
    assert report["weight_store"]["kind"] == "loaded"
    assert (out / "weights.bin").stat().st_size == report["weight_store"]["bytes"]
    assert "weight_ram" in (out / "top.debug.v").read_text()
    found = lint_top(out / "top.debug.v", tmp_path)
    assert found == [], "\n".join(found[:30])


def test_board_top_lint_catches_a_harness_truncation(tmp_path):
    # the harness's old `!timer` on a multi-bit timer, as Yosys wrote it, must fail
    bad = ("module top(input wire clk, output wire y);\n"
           "  reg [9:0] timer = 10'h000;\n  always @(posedge clk) timer <= timer + 10'h001;\n"
           "  assign y = ! timer;\nendmodule\n")
    src = tmp_path / "top.v"
    src.write_text(bad)
    found = lint_top(src, tmp_path)
    assert any("WIDTHTRUNC" in ln for ln in found), found
