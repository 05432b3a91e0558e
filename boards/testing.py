"""Amaranth-simulator helpers that drive and decode a UART line bit by bit.

Used by the tests of :mod:`fpgac.boards.uart` and :mod:`fpgac.boards.harness`; they model the
host's serial adapter, so they work on the pins, never on internal streams.
:func:`pty_board` makes a simulated harness answer on a pseudo-terminal, for the host side's
tests.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

__all__ = ["uart_send", "uart_recv", "harness_roundtrip", "pty_board"]


def _edges(divisor, count: int, start=0) -> list[int]:
    """Clocks between ``count`` successive points ``start + k * divisor`` (``divisor`` an integer
    or a fraction of clocks; each rounded down, so the waits add up to within a clock)."""
    points = [math.floor(start + k * Fraction(divisor)) for k in range(count + 1)]
    return [b - a for a, b in zip(points, points[1:])]


async def uart_send(ctx, line, data, divisor, *, stop: int = 1, gap: int = 0):
    """Drive ``line`` with 8N1 frames for each byte of ``data`` (``divisor`` clocks per bit,
    an integer or a fraction: bit ``k`` of the stream starts ``floor(k * divisor)`` clocks after
    the first, like a host whose rate is ``clk / divisor`` exactly).

    ``stop=0`` sends a frame with a broken (low) stop bit, to provoke a framing error.
    ``gap`` idle clocks are inserted after each frame.
    """
    data = bytes(data)
    waits = iter(_edges(divisor, 10 * len(data)))
    for byte in data:
        bits = [0] + [(byte >> i) & 1 for i in range(8)] + [stop]
        for bit in bits:
            ctx.set(line, bit)
            await ctx.tick().repeat(next(waits))
        ctx.set(line, 1)
        if gap:
            await ctx.tick().repeat(gap)


async def uart_recv(ctx, line, divisor, *, timeout: int) -> int:
    """Wait (at most ``timeout`` clocks) for a start bit on ``line`` and return the byte
    (``divisor`` clocks per bit, an integer or a fraction).

    Samples the middle of each bit (``floor(divisor / 2 + k * divisor)`` clocks after the
    start bit's edge); raises ``AssertionError`` on a timeout or a low stop bit.
    """
    waited = 0
    while ctx.get(line):
        await ctx.tick()
        waited += 1
        assert waited <= timeout, f"no start bit within {timeout} clocks"
    waits = [math.floor(Fraction(divisor) / 2)] + _edges(divisor, 9, Fraction(divisor) / 2)
    await ctx.tick().repeat(waits[0])
    assert ctx.get(line) == 0, "start bit too short"
    value = 0
    for i in range(8):
        await ctx.tick().repeat(waits[1 + i])
        value |= ctx.get(line) << i
    await ctx.tick().repeat(waits[9])
    assert ctx.get(line) == 1, "stop bit low"
    return value


async def harness_roundtrip(ctx, harness, image: bytes, divisor: int, *,
                            timeout: int = 1_000_000) -> bytes:
    """Send one image to a :class:`~fpgac.boards.harness.Harness` on its RX pin and return the
    result frame read back from its TX pin (``harness.frame_length`` bytes)."""
    await uart_send(ctx, harness.rx, image, divisor)
    frame = [await uart_recv(ctx, harness.tx, divisor, timeout=timeout)]
    for _ in range(harness.frame_length - 1):
        frame.append(await uart_recv(ctx, harness.tx, divisor, timeout=4 * divisor))
    return bytes(frame)


def pty_board(harness, fd: int, *, images: int, pixels: int, divisor: int):
    """An async testbench serving ``images`` requests on the pty master ``fd``: it reads one
    image (``pixels`` bytes), runs it through ``harness`` (:func:`harness_roundtrip`) and writes
    the result frame back."""

    async def board(ctx):
        for _ in range(images):
            data = b""
            while len(data) < pixels:
                data += os.read(fd, pixels - len(data))
            os.write(fd, await harness_roundtrip(ctx, harness, data, divisor))

    return board
