"""Lint: ``verilator --lint-only -Wall`` on emitted cores reports nothing beyond hw/lint.vlt.

The waivers in ``hw/lint.vlt`` are reviewed (each states why it is safe, none covers
WIDTHTRUNC); anything else Verilator reports with ``-Wall`` fails the test, with the messages.
Designs: the tiny MNIST CNN at P = 1, 3, 8 (one with debug ports) and random models from
:func:`fpgac.sim.randmodel.random_model` (all bit widths, pooling, strides, 1x1 convs).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fpgac.compiler.plan import plan_hardware
from fpgac.hw.emit import to_verilog
from fpgac.sim import tools
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model

WAIVERS = Path(__file__).resolve().parents[2] / "hw" / "lint.vlt"


def lint(verilog: str, tmp_path: Path, module: str = "fpgac_core") -> list[str]:
    """Run Verilator ``-Wall`` lint; return its warning and error lines."""
    src = tmp_path / f"{module}.v"        # file named after the module (DECLFILENAME)
    src.write_text(verilog)
    proc = subprocess.run(
        ["verilator", "--lint-only", "-Wall", "--top-module", module, str(WAIVERS), str(src)],
        env=tools.simulator_env("verilator"), capture_output=True, text=True, timeout=300)
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%")]
    assert (proc.returncode == 0) == (not lines), (proc.returncode, proc.stderr[-2000:])
    return lines


@pytest.fixture(scope="module")
def tiny():
    from fpgac.compress.tiny import tiny_model

    return tiny_model(0, train_images=0, epochs=0, sparsity=0.6)


def test_waiver_file_keeps_truncation_fatal():
    text = WAIVERS.read_text()
    rules = [ln for ln in text.splitlines() if ln.startswith("lint_off")]
    assert rules and not any("WIDTHTRUNC" in r or "WIDTH " in r or "-rule" not in r
                             for r in rules)
    # every waiver has a reason directly above it
    lines = text.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith("lint_off"):
            assert lines[i - 1].startswith("//"), f"waiver without a reason: {ln}"


def test_lint_catches_a_truncation(tmp_path):
    bad = ("module fpgac_core(input wire [7:0] a, output wire [3:0] y);\n"
           "  assign y = a;\nendmodule\n")
    found = lint(bad, tmp_path)
    assert any("WIDTHTRUNC" in ln for ln in found), found


@pytest.mark.slow
@pytest.mark.parametrize("pes,debug", [(1, False), (3, True), (8, False)])
def test_tiny_core_lint_clean(tiny, tmp_path, pes, debug):
    plan = plan_hardware(tiny, pes=pes, pixel_lut=pixel_table(tiny))
    found = lint(to_verilog(plan, debug=debug), tmp_path)
    assert found == [], "\n".join(found[:30])


@pytest.mark.slow
@pytest.mark.parametrize("seed,pes", [(3, 2), (4, 4), (7, 5), (11, 16)])
def test_random_core_lint_clean(tmp_path, seed, pes):
    model = random_model(seed)
    found = lint(to_verilog(plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))), tmp_path)
    assert found == [], "\n".join(found[:30])


def test_sliced_core_lint_clean(tmp_path):
    """One-window slices forced (a conv in 4 slices, linear layers in 2 and 4): the adder
    tree (two stages) lints clean."""
    from rect_plans import slice_picker, slice_plan

    model = random_model(8, size=(6, 8), max_convs=2, max_conv_channels=3, max_features=6)
    plan = slice_plan(model, 5, slice_picker(8))
    assert plan.tree_latency == 2
    found = lint(to_verilog(plan), tmp_path)
    assert found == [], "\n".join(found[:30])
