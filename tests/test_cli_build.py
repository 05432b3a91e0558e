"""``fpgac build`` and ``fpgac run`` from the command line (exit codes, one-line errors), and
``fpgac run`` end to end over a pty against the simulated board (harness + real core)."""

import json
import os
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

from fpgac.boards.harness import Harness
from fpgac.boards.testing import pty_board
from fpgac.cli import main
from fpgac.compiler.plan import plan_hardware
from fpgac.hw.amsim import run_testbench
from fpgac.sim import golden
from fpgac.sim.preprocess import pixel_table


@pytest.fixture(scope="module")
def tiny(tiny_board_model):
    """``(model, path)``: the shared small board model (``tests/conftest.py``)."""
    return tiny_board_model


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fpgac", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_build_no_pnr(tiny, tmp_path):
    _, path = tiny
    out = tmp_path / "ice"
    proc = _cli("build", path, "--board", "icebreaker", "--pes", "2", "-o", out, "--no-pnr")
    assert proc.returncode == 0, proc.stderr
    assert "icebreaker: P=2," in proc.stdout and "images/s at 30 MHz" in proc.stdout
    assert (out / "report.md").is_file() and (out / "top.pcf").is_file()


def test_build_clock_mhz_sets_the_pll(tiny, tmp_path):
    _, path = tiny
    proc = _cli("build", path, "--board", "ulx3s", "--pes", "1", "-o", tmp_path, "--no-pnr",
                "--clock-mhz", "37.5")
    assert proc.returncode == 0, proc.stderr
    assert "images/s at 37.5 MHz" in proc.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["clock"]["pll"]["f_out_exact_hz"] == "37500000"
    assert "37.5 MHz exactly (37500000 Hz; EHXPLLL" in (tmp_path / "report.md").read_text()


def test_build_clock_out_of_range_is_one_line_exit_2(tiny, tmp_path):
    _, path = tiny
    proc = _cli("build", path, "--board", "ulx3s", "--pes", "1", "-o", tmp_path, "--no-pnr",
                "--clock-mhz", "500")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "fpgac build: error: --clock-mhz: expected 10 MHz..400 MHz (what the EHXPLLL makes "
        "from the 25 MHz oscillator), found 500 MHz")
    assert "Traceback" not in proc.stderr


def test_build_timing_not_met_exits_1_with_what_to_try(tiny, tmp_path):
    """A real iCEBreaker route of the tiny model at 120 MHz (it reaches about 40): exit 1, the
    bitstream kept, and the hint names more seeds and the route's Fmax rounded down."""
    _, path = tiny
    proc = _cli("build", path, "--board", "icebreaker", "--pes", "1", "-o", tmp_path,
                "--clock-mhz", "120")
    assert proc.returncode == 1, proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["timing_met"] is False and report["fmax_mhz"] < 120
    assert (tmp_path / "top.bin").is_file()
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        f"fpgac build: error: timing not met (Fmax {report['fmax_mhz']:.2f} MHz < 120 MHz); "
        f"the bitstream may not work; rebuild with --seeds 4 (other placements) or "
        f"--clock-mhz {int(report['fmax_mhz'])} (a clock at or below this route's Fmax)")
    assert "Traceback" not in proc.stderr


def test_build_default_output_is_model_dash_board(tiny, tmp_path):
    _, path = tiny
    proc = _cli("build", path, "--board", "ulx3s", "--pes", "1", "--no-pnr", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "build" / "tiny-ulx3s"
    assert f"report: {out.relative_to(tmp_path)}/report.md" in proc.stdout
    assert (out / "report.json").is_file() and (out / "top.lpf").is_file()
    assert list(out.glob("*.hex"))


def test_build_misfit_is_one_line_exit_2(tiny, tmp_path):
    _, path = tiny
    proc = _cli("build", path, "--board", "icebreaker", "--pes", "40", "-o", tmp_path,
                "--no-pnr")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("fpgac build: error: --board icebreaker: DSP: expected at most")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--board", "nexys"], "invalid choice: 'nexys'"),
    (["--board", "arty", "--pes", "zero"], "expected a positive integer or 'auto', found 'zero'"),
])
def test_build_bad_flags(tiny, args, message):
    proc = _cli("build", tiny[1], *args)
    assert proc.returncode == 2 and message in proc.stderr


def test_run_bad_port_is_one_line(tiny, tmp_path):
    model, path = tiny
    raw = tmp_path / "img.raw"
    raw.write_bytes(bytes(64))
    proc = _cli("run", "--port", "/dev/does-not-exist-fpgac", "--baud", "115200",
                "--model", path, raw)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--port: expected a serial port that opens" in proc.stderr


def _idx(arr):
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def test_run_over_pty_against_simulated_board(tiny, tmp_path, capsys):
    """``fpgac run`` on an IDX file: answers from the harness + core simulation behind a pty,
    accuracy against the labels file beside it, logits bit-exact against golden."""
    model, path = tiny
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (3, 8, 8), dtype=np.uint8)
    _, classes = golden.predict(model, images[:, None])
    labels = classes.astype(np.uint8).copy()
    labels[0] = (labels[0] + 1) % 11                  # one wrong label: accuracy 2/3
    (tmp_path / "x-images-idx3-ubyte").write_bytes(_idx(images))
    (tmp_path / "x-labels-idx1-ubyte").write_bytes(_idx(labels))

    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    harness = Harness(plan, divisor=4)
    master, slave = os.openpty()

    board = pty_board(harness, master, images=3, pixels=plan.input_pixels, divisor=4)

    def run_sim():
        run_testbench(harness, board, period=1e-6)

    thread = threading.Thread(target=run_sim, daemon=True)
    thread.start()
    try:
        status = main(["run", "--port", os.ttyname(slave), "--board", "arty",
                       "--model", str(path), "--timeout", "60", str(tmp_path / "x-images-idx3-ubyte")])
    finally:
        thread.join(60)
        os.close(master)
        os.close(slave)
    out = capsys.readouterr().out
    assert status == 0, out
    assert "3/3 logits identical" in out and "accuracy: 66.67% (2/3)" in out


def test_run_default_model_is_the_shipped_example_not_its_recipe():
    from fpgac.flows.demo import default_model
    from fpgac.compiler.frontend import load_model

    path = default_model()
    assert path is not None and path.name.startswith("lenet5_g90_8b.")
    assert not path.name.endswith(".config.yml")
    assert load_model(path).input.shape == (1, 28, 28)
