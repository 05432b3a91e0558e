"""The board harness with the REAL core, simulated on its pins, bit-exact against golden.

The Amaranth simulator drives the harness's UART RX pin bit by bit (4 clocks per bit) and
decodes its TX pin; the host's :class:`~fpgac.boards.host.Protocol` decodes the frames. The
last test puts the host :class:`~fpgac.boards.host.BoardLink` on a pty whose other end is that
simulation, so host runtime, protocol, harness and core are checked together.
"""

import os
import threading

import numpy as np
import pytest

from fpgac.boards.harness import Harness
from fpgac.boards.host import BoardLink, Protocol, Result
from fpgac.boards.testing import harness_roundtrip, pty_board, uart_send
from fpgac.compiler.plan import plan_hardware
from fpgac.hw.amsim import run_testbench
from fpgac.sim import golden
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model

DIVISOR = 4


def _model(seed, **opts):
    base = dict(channels=(1, 1), max_convs=2, max_linears=2, strides=False, square=True)
    base.update(opts)
    return random_model(seed, **base)


def _images(model, n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n,) + tuple(model.input.shape), dtype=np.uint8)


def _simulate(plan, images, *, stall_first=0, resync=None):
    """Frames for ``images``; optionally first send ``stall_first`` bytes and go quiet."""
    harness = Harness(plan, divisor=DIVISOR, resync_clocks=resync or (1 << 20))
    frames = []

    async def host(ctx):
        if stall_first:
            await uart_send(ctx, harness.rx, bytes(range(stall_first)), DIVISOR)
            await ctx.tick().repeat(resync + 20)
        for img in images:
            frames.append(await harness_roundtrip(ctx, harness, img.tobytes(), DIVISOR))
            assert ctx.get(harness.digit_leds) == frames[-1][1]

    run_testbench(harness, host, period=1e-6)
    return frames


@pytest.mark.parametrize("seed, size, n_bits, pes", [
    (29, (8, 8), (4, 8), 3),          # conv + pool + 2 linear, 8-bit: 1-byte logits
    (4, (6, 6), (4, 12), 2),          # conv + pool + linear, 10-bit: 2-byte logits
])
def test_harness_bit_exact_vs_golden(seed, size, n_bits, pes):
    model = _model(seed, size=size, n_bits=n_bits)
    plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
    proto = Protocol.for_plan(plan)
    images = _images(model, 3, seed)
    want_logits, want_class = golden.predict(model, images)
    frames = _simulate(plan, images)
    for frame, logits, klass in zip(frames, want_logits, want_class):
        assert len(frame) == proto.frame_length
        assert proto.decode_frame(frame) == Result(int(klass), tuple(int(v) for v in logits))


def test_harness_resyncs_after_partial_image():
    model = _model(29, size=(8, 8), n_bits=(4, 8))
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    proto = Protocol.for_plan(plan)
    images = _images(model, 1, 7)
    want_logits, want_class = golden.predict(model, images)
    frames = _simulate(plan, images, stall_first=plan.input_pixels // 2, resync=300)
    assert proto.decode_frame(frames[0]) == Result(int(want_class[0]),
                                                   tuple(int(v) for v in want_logits[0]))


def test_power_on_reset_mid_image_restarts_harness_and_core():
    """``por`` (the PLL lock reset on a board) high for a few cycles in the middle of an
    image resets the harness and the core (``core_rst`` follows it); the next whole image is
    bit-exact. Without the reset reaching the core, the half image's pixels would stay in
    the loader and shift the next image: a wrong frame."""
    model = _model(29, size=(8, 8), n_bits=(4, 8))
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    proto = Protocol.for_plan(plan)
    images = _images(model, 2, 11)
    want_logits, want_class = golden.predict(model, images)
    harness = Harness(plan, divisor=DIVISOR)
    frames = []

    async def host(ctx):
        await uart_send(ctx, harness.rx, images[0].tobytes()[:plan.input_pixels // 2], DIVISOR)
        await ctx.tick().repeat(50)
        ctx.set(harness.por, 1)
        await ctx.tick().repeat(3)
        ctx.set(harness.por, 0)
        await ctx.tick().repeat(5)
        frames.append(await harness_roundtrip(ctx, harness, images[1].tobytes(), DIVISOR))

    run_testbench(harness, host, period=1e-6)
    assert proto.decode_frame(frames[0]) == Result(int(want_class[1]),
                                                   tuple(int(v) for v in want_logits[1]))


def test_host_link_over_pty_against_simulated_board():
    """BoardLink.infer on a real tty; the board is the harness + core simulation."""
    model = _model(29, size=(8, 8), n_bits=(4, 8))
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    proto = Protocol.for_plan(plan)
    images = _images(model, 2, 11)
    want_logits, want_class = golden.predict(model, images)
    master, slave = os.openpty()
    harness = Harness(plan, divisor=DIVISOR)
    errors = []

    board = pty_board(harness, master, images=len(images), pixels=plan.input_pixels,
                      divisor=DIVISOR)

    def run_sim():
        try:
            run_testbench(harness, board, period=1e-6)
        except BaseException as exc:          # surfaced by the main thread below
            errors.append(exc)

    thread = threading.Thread(target=run_sim, daemon=True)
    thread.start()
    link = BoardLink.open(os.ttyname(slave), proto, timeout=60.0)
    try:
        for img, logits, klass in zip(images, want_logits, want_class):
            assert link.infer(img) == Result(int(klass), tuple(int(v) for v in logits))
    finally:
        link.close()
        thread.join(60)
        os.close(master)
        os.close(slave)
    assert not errors


def test_harness_with_overlap_core_streams_images():
    """An overlap core (``plan.overlap``) behind the harness: the host sends the images back to
    back without waiting for the frames (the core takes the next image's pixels while it
    computes); every frame is bit-exact and in order."""
    from fpgac.boards.testing import uart_recv, uart_send

    model = _model(29, size=(8, 8), n_bits=(4, 8))
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model), overlap=True)
    proto = Protocol.for_plan(plan)
    images = _images(model, 3, 11)
    want_logits, want_class = golden.predict(model, images)
    harness = Harness(plan, divisor=DIVISOR, resync_clocks=1 << 20)
    frames = []

    async def host_tx(ctx):
        await uart_send(ctx, harness.rx, b"".join(img.tobytes() for img in images), DIVISOR)

    async def host_rx(ctx):
        for _ in images:
            frame = [await uart_recv(ctx, harness.tx, DIVISOR, timeout=1_000_000)]
            for _ in range(harness.frame_length - 1):
                frame.append(await uart_recv(ctx, harness.tx, DIVISOR, timeout=4 * DIVISOR))
            frames.append(bytes(frame))

    run_testbench(harness, host_rx, background=(host_tx,), period=1e-6)
    assert [proto.decode_frame(f) for f in frames] == [
        Result(int(k), tuple(int(v) for v in lg)) for lg, k in zip(want_logits, want_class)]
