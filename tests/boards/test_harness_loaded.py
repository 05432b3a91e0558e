"""The loaded weight store through the board harness, simulated on its pins (Amaranth).

The weight banks are RAMs (``plan.weight_store == "loaded"``): the host uploads the weight
image (``'W'`` + image + CRC-16) over the UART before any image (``'I'`` + pixels), asks with
``'?'``; every case checks the status frames and that no image is answered from missing, bad
or truncated weights (``docs/boards.md``, "Weight upload"). The results are bit-exact against
golden, and the weights survive the harness's resync reset.
"""

import pytest

from fpgac.boards.harness import (STATUS_BAD_CRC, STATUS_BUSY, STATUS_LOADED, STATUS_NONE,
                                  STATUS_TRUNCATED, Harness, crc16_byte)
from fpgac.boards.host import Protocol
from fpgac.boards.testing import uart_recv, uart_send
from fpgac.compiler.passes.weight_image import image_crc, weight_image
from fpgac.hw.amsim import run_testbench

DIVISOR = 4
RESYNC = 400


@pytest.fixture(scope="module")
def case(loaded_case):
    return loaded_case(29, size=(8, 8), pes=3, n_bits=(4, 8), image_seed=5)


def _run(plan, script):
    """Run ``script(ctx, send, recv)`` against a harness; ``recv(n)`` returns the next ``n``
    bytes the harness sent (a background receiver decodes its TX pin all along)."""
    harness = Harness(plan, divisor=DIVISOR, resync_clocks=RESYNC)
    rx = bytearray()

    async def receiver(ctx):
        while True:
            while ctx.get(harness.tx):
                await ctx.changed(harness.tx)
            rx.append(await uart_recv(ctx, harness.tx, DIVISOR, timeout=1))

    async def bench(ctx):
        taken = [0]

        async def send(data):
            await uart_send(ctx, harness.rx, data, DIVISOR)

        async def recv(n, timeout=300_000):
            waited = 0
            while len(rx) < taken[0] + n:
                await ctx.tick().repeat(100)
                waited += 100
                assert waited <= timeout, f"expected {n} bytes, found {len(rx) - taken[0]}"
            taken[0] += n
            return bytes(rx[taken[0] - n:taken[0]])

        await script(ctx, send, recv)

    run_testbench(harness, bench, background=[receiver], period=1e-6)


def _status(code, crc):
    body = bytes([code, crc & 0xFF, crc >> 8])
    return bytes([0x5A]) + body + bytes([body[0] ^ body[1] ^ body[2]])


def test_crc16_byte_matches_binascii():
    data = bytes(range(256)) + b"fpgac"
    crc = 0xFFFF
    for b in data:
        crc = crc16_byte(crc, b)
    assert crc == image_crc(data)


def test_crc16_byte_hardware_form_matches_binascii_and_stays_small():
    """The Amaranth form (a GF(2) linear map) against binascii on every byte and random CRCs,
    in the simulator; its Verilog is a few kB (the bit-serial Mux form was a 3^8-copy tree:
    2.8 MB of the loaded LeNet-5 harness, which Verilator did not finish compiling)."""
    import binascii
    import random

    from amaranth.back import verilog
    from amaranth.hdl import Module, Signal
    from amaranth.sim import Simulator

    m = Module()
    crc, byte, out = Signal(16), Signal(8), Signal(16)
    m.d.comb += out.eq(crc16_byte(crc, byte))
    rng = random.Random(7)
    cases = [(0xFFFF, b) for b in range(256)] + [
        (rng.randrange(1 << 16), rng.randrange(256)) for _ in range(500)]

    async def bench(ctx):
        for c, b in cases:
            ctx.set(crc, c)
            ctx.set(byte, b)
            assert ctx.get(out) == binascii.crc_hqx(bytes([b]), c), (c, b)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    text = verilog.convert(m, ports=[crc, byte, out], emit_src=False)
    assert len(text) < 20_000, len(text)


def test_upload_then_images_bit_exact(case):
    plan, images, want = case
    image = weight_image(plan)
    crc = image_crc(image)
    assert len(image) == plan.weight_image_bytes > 0
    proto = Protocol.for_plan(plan)
    got = []

    async def script(ctx, send, recv):
        await send(b"?")
        got.append(await recv(5))
        await send(b"W" + image + crc.to_bytes(2, "little"))
        got.append(await recv(5))
        for img in images:
            await send(b"I" + img.tobytes())
            got.append(proto.decode_frame(await recv(proto.frame_length)))
        await send(b"?")
        got.append(await recv(5))

    _run(plan, script)
    assert got[0] == _status(STATUS_NONE, 0)
    assert got[1] == _status(STATUS_LOADED, crc)
    assert got[2:4] == want
    assert got[4] == _status(STATUS_LOADED, crc)


def test_no_bad_or_truncated_weights_are_never_used(case):
    plan, images, want = case
    image = weight_image(plan)
    crc = image_crc(image)
    bad = bytes([image[0] ^ 1]) + image[1:]
    got = []

    async def script(ctx, send, recv):
        await send(b"I" + images[0].tobytes())          # before any upload: refused
        got.append(await recv(5))
        await send(b"W" + bad + crc.to_bytes(2, "little"))
        got.append(await recv(5))
        await send(b"I" + images[0].tobytes())          # after a bad upload: refused
        got.append(await recv(5))
        await send(b"W" + image[: len(image) // 2])      # truncated: the line goes quiet
        got.append(await recv(5, timeout=RESYNC + 1000))
        await send(b"?")
        got.append(await recv(5))

    _run(plan, script)
    assert got[0] == _status(STATUS_NONE, 0)
    assert got[1][:2] == bytes([0x5A, STATUS_BAD_CRC]) and got[1] != _status(STATUS_BAD_CRC, crc)
    assert got[2] == _status(STATUS_NONE, 0)
    assert got[3][:2] == bytes([0x5A, STATUS_TRUNCATED])
    assert got[4] == _status(STATUS_NONE, 0)


def test_weights_survive_resync_and_busy_upload_is_refused(case):
    plan, images, want = case
    image = weight_image(plan)
    crc = image_crc(image)
    proto = Protocol.for_plan(plan)
    got = []

    async def script(ctx, send, recv):
        await send(b"W" + image + crc.to_bytes(2, "little"))
        got.append(await recv(5))
        await send(b"I" + images[0].tobytes()[:10])     # a partial image, then quiet
        await ctx.tick().repeat(RESYNC + 50)
        await send(b"I" + images[1].tobytes())
        got.append(proto.decode_frame(await recv(proto.frame_length)))
        await send(b"I" + images[0].tobytes() + b"W")    # an upload while computing
        await send(image + crc.to_bytes(2, "little"))
        # the image's answer while the upload is dropped, then the refusal after it
        got.append([await recv(proto.frame_length), await recv(5)])
        await send(b"?")
        got.append(await recv(5))

    _run(plan, script)
    assert got[0] == _status(STATUS_LOADED, crc)
    assert got[1] == want[1]
    assert proto.decode_frame(got[2][0]) == want[0]
    assert got[2][1] == _status(STATUS_BUSY, crc)
    assert got[3] == _status(STATUS_LOADED, crc)
