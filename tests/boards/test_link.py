"""The host link: default rates per board, link figures, and a batched request against the
harness simulated at the Arty's default rate (100 MHz, 4 Mbaud: 25 clocks per bit).

The batched test puts :meth:`fpgac.boards.host.BoardLink.infer_batch` on a pty whose other end
is the Amaranth simulation of the harness and the real core: images go out back to back at
the line rate while results stream back; every answer must equal golden (no byte dropped
while the core computes: the harness's receive queue, :func:`rx_fifo_depth`).
"""

from __future__ import annotations

import math
import os
import select
from fractions import Fraction
import threading

import numpy as np
import pytest

from fpgac.boards.clock import plan_clock
from fpgac.boards.harness import Harness, rx_fifo_depth
from fpgac.boards.host import BoardLink, Protocol, Result
from fpgac.boards.link import BRIDGES, bridge_rates, link_baud, link_figures
from fpgac.boards.platforms import get_board
from fpgac.boards.testing import uart_recv, uart_send
from fpgac.boards.uart import uart_divisor
from fpgac.compiler.plan import plan_hardware
from fpgac.errors import FpgacError
from fpgac.hw.amsim import run_testbench
from fpgac.sim import golden
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model


def test_bridge_rates_are_exact_divisions_of_the_reference():
    ft2232h = bridge_rates(BRIDGES["FT2232H"])
    assert ft2232h[:5] == [12_000_000, 6_000_000, 4_000_000, 3_000_000, 2_400_000]
    assert bridge_rates(BRIDGES["FT231X"])[:3] == [3_000_000, 1_500_000, 1_000_000]
    assert all(12_000_000 % r == 0 for r in ft2232h)


@pytest.mark.parametrize("board,mhz,baud,divisor", [
    ("arty", 100, 12_000_000, Fraction(2133, 256)),   # 8.33 clocks per bit (fractional)
    ("arty", 60, 6_000_000, 10),                      # exact
    ("icebreaker", 30, 3_000_000, 10),                # 4 Mbaud would be 7.5 clocks
    ("icebreaker", 12, 1_500_000, 8),                 # oscillator
    ("ulx3s", 80, 3_000_000, Fraction(6827, 256)),    # 26.67 (27 was 1.2 % off: 1.5 Mbaud)
    ("ulx3s", 85, 3_000_000, Fraction(7253, 256)),    # 28.33 (the P <= 64 plain default)
    ("ulx3s", 95, 3_000_000, Fraction(8107, 256)),    # 31.67 (the P <= 64 overlap default)
    ("ulx3s", 100, 3_000_000, Fraction(8533, 256)),   # 33.33
    ("ulx3s", 25, 3_000_000, Fraction(2133, 256)),    # 8.33
    ("ulx3s", 20, 1_500_000, Fraction(3413, 256)),    # 3 Mbaud would be 6.67 clocks
])
def test_default_link_rate(board, mhz, baud, divisor):
    assert link_baud(board, mhz * 1e6) == baud
    assert uart_divisor(mhz * 1e6, baud) == divisor >= 8


def test_default_rate_follows_the_pll_clock():
    board = get_board("arty")
    for mhz in (100, 60):
        hz = float(plan_clock(board, mhz).hz)
        baud = link_baud("arty", hz)
        assert abs(hz / uart_divisor(hz, baud) - baud) <= 0.01 * baud
    assert link_baud("arty", 60e6) == 6_000_000


def test_link_errors_and_figures():
    with pytest.raises(FpgacError, match="--board: expected one of"):
        link_baud("nexys", 100e6)
    with pytest.raises(FpgacError, match="expected a FT231X rate within 1%"):
        link_baud("ulx3s", 0.05e6)
    f = link_figures("arty", 4_000_000, 100e6, 784, 13, 9544)
    assert f["divisor"] == 25 and f["baud_error"] == 0
    g = link_figures("ulx3s", 3_000_000, 80e6, 784, 13, 4079)
    assert g["divisor"] == 6827 / 256 and g["baud_error"] < 5e-4
    assert g["images_per_s_link"] == pytest.approx(300_000 / 784)
    assert f["images_per_s_link"] == pytest.approx(400_000 / 784)
    assert f["images_per_s"] == min(f["images_per_s_link"], f["images_per_s_core"])
    assert f["single_request_images_per_s"] == pytest.approx(400_000 / 797)


def test_rx_fifo_depth_covers_compute_and_a_frame():
    # 8760 compute cycles at 25 clocks per bit: 35.04 byte times, plus a 13-byte frame
    assert rx_fifo_depth(8760, 13, 25) == 36 + 13 + 2
    # a fractional divisor counts a byte as floor(10 * 8.33) = 83 clocks (bytes come faster)
    assert rx_fifo_depth(8760, 13, Fraction(2133, 256)) == -(-(8760 + 2 + 13 * 83) // 83) + 2


def _model():
    return random_model(4, size=(6, 6), channels=(1, 1), n_bits=(4, 12), max_convs=2,
                        max_linears=2, strides=False, square=True)      # 27-byte frames


@pytest.mark.slow
def test_batched_request_against_simulated_harness_at_default_rate():
    model = _model()
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    divisor = uart_divisor(100e6, link_baud("arty", 100e6))
    assert divisor == Fraction(2133, 256)           # 12 Mbaud: 8.33 clocks per bit
    harness = Harness(plan, divisor=divisor)
    proto = Protocol.for_plan(plan)
    images = np.random.default_rng(5).integers(0, 256, (5,) + tuple(model.input.shape),
                                               dtype=np.uint8)
    want_logits, want_class = golden.predict(model, images)
    master, slave = os.openpty()
    expect_out = len(images) * proto.frame_length
    done = threading.Event()

    async def line_in(ctx):                      # pty -> RX pin, bytes back to back
        received = 0
        while received < len(images) * plan.input_pixels:
            if select.select([master], [], [], 0)[0]:
                data = os.read(master, 4096)
                received += len(data)
                await uart_send(ctx, harness.rx, data, divisor)
            else:
                await ctx.tick().repeat(math.floor(10 * divisor))

    async def line_out(ctx):                     # TX pin -> pty
        for _ in range(expect_out):
            os.write(master, bytes([await uart_recv(ctx, harness.tx, divisor,
                                                    timeout=50_000_000)]))
        done.set()

    def run_sim():
        run_testbench(harness, line_in, line_out)

    thread = threading.Thread(target=run_sim, daemon=True)
    thread.start()
    link = BoardLink.open(os.ttyname(slave), proto, baud=12_000_000, timeout=120.0)
    seen = []
    try:
        results = link.infer_batch(list(images), window=3,
                                   on_result=lambda i, r: seen.append(i))
    finally:
        link.close()
        thread.join(120)
        os.close(master)
        os.close(slave)
    assert done.is_set() and seen == list(range(len(images)))
    for res, logits, klass in zip(results, want_logits, want_class):
        assert res == Result(int(klass), tuple(int(v) for v in logits))


def test_run_needs_a_link_rate_and_reads_it_from_the_build_report(tmp_path, capsys):
    import json

    from fpgac.cli import main

    raw = tmp_path / "img.raw"
    raw.write_bytes(bytes(784))
    assert main(["run", "--port", "loop://", str(raw)]) == 2
    err = capsys.readouterr().err
    assert "--baud: expected the board's link rate, found none given" in err
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"baud": "fast"}))
    assert main(["run", "--port", "loop://", "--build-report", str(report), str(raw)]) == 2
    assert "expected key baud (an integer)" in capsys.readouterr().err
    # loop:// echoes the image back: no frame header arrives, so the run times out (2) after
    # opening the port at the report's rate
    report.write_text(json.dumps({"baud": 3_000_000}))
    assert main(["run", "--port", "loop://", "--build-report", str(report), "--timeout",
                 "0.5", str(raw)]) == 2
    assert "expected a 13-byte result frame within 0.5 s" in capsys.readouterr().err
