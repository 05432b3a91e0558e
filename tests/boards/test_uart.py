"""UART components in the Amaranth simulator: loopback, divisor checks, framing errors."""

import math
import random
from fractions import Fraction

import pytest
from amaranth.hdl import Module

from fpgac.boards.testing import uart_recv, uart_send
from fpgac.boards.uart import UARTRx, UARTTx, check_divisor, uart_divisor
from fpgac.errors import FpgacError
from fpgac.hw.amsim import run_testbench, send


def test_divisor_exact_and_rounded():
    """Integer where the clock divides exactly, else ``clk / baud`` to 1/256 of a clock."""
    assert uart_divisor(25e6, 1_000_000) == 25
    assert uart_divisor(25e6, 1_000_000).denominator == 1
    assert uart_divisor(12e6, 115200) == Fraction(26667, 256)        # 104.17
    assert uart_divisor(80e6, 3_000_000) == Fraction(6827, 256)      # 26.67 (80 / 3)
    assert uart_divisor(100e6, 3_000_000) == Fraction(8533, 256)     # 33.33
    for clk, baud in ((12e6, 115200), (80e6, 3_000_000), (5e6, 1_200_000), (100e6, 12e6)):
        assert abs(clk / uart_divisor(clk, int(baud)) - baud) / baud < 5e-4


def test_divisor_errors():
    with pytest.raises(FpgacError, match=r"at least 4 clocks per bit .* found 2\.00"):
        uart_divisor(2e6, 1_000_000)
    with pytest.raises(FpgacError, match="expected a rate > 0, found 0"):
        uart_divisor(12e6, 0)


def test_components_take_integer_and_power_of_two_fraction_divisors():
    assert check_divisor(7) == 7
    assert check_divisor(Fraction(6827, 256)) == Fraction(6827, 256)
    with pytest.raises(ValueError, match="power-of-two denominator"):
        check_divisor(Fraction(80, 3))
    with pytest.raises(ValueError, match="power-of-two denominator"):
        check_divisor(Fraction(4097, 512))
    with pytest.raises(ValueError, match="divisor must be >= 4"):
        UARTTx(Fraction(15, 4))


@pytest.mark.parametrize("divisor", [4, 7, 16, Fraction(17, 4), Fraction(6827, 256),
                                     Fraction(8533, 256), Fraction(2133, 256)])
def test_loopback_random_bytes(divisor):
    """TX -> wire -> RX; bytes come back identical, in order, at several divisors."""
    rng = random.Random(str(divisor))
    data = bytes(rng.randrange(256) for _ in range(24))
    m = Module()
    m.submodules.tx = tx = UARTTx(divisor)
    m.submodules.rx = rx = UARTRx(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    got = []

    async def source(ctx):
        for byte in data:
            await send(ctx, tx.data, byte)
        ctx.set(tx.data.valid, 0)

    async def sink(ctx):
        ctx.set(rx.data.ready, 1)
        while len(got) < len(data):
            await ctx.tick()
            if ctx.get(rx.data.valid) and ctx.get(rx.data.ready):
                got.append(ctx.get(rx.data.payload))
            assert not ctx.get(rx.framing_error) and not ctx.get(rx.overrun)

    run_testbench(m, sink, background=[source], period=1e-6)
    assert bytes(got) == data


@pytest.mark.parametrize("divisor", [5, Fraction(6827, 256), Fraction(17, 4)])
def test_tx_bit_edges_follow_the_exact_rate(divisor):
    """Back-to-back frames: each bit lasts ``floor`` or ``ceil`` of the divisor and every edge
    of a frame is within one clock of ``k * divisor`` after the frame's start; the first frame
    after reset (phase 0) has its edges at ``floor(k * divisor)`` exactly."""
    dut = UARTTx(divisor)
    line = []
    frames = (0x55, 0xAA, 0x0F, 0x55)

    async def tb(ctx):
        for byte in frames:
            ctx.set(dut.data.payload, byte)
            ctx.set(dut.data.valid, 1)
            while True:
                ready = ctx.get(dut.data.ready)
                line.append(ctx.get(dut.tx))
                await ctx.tick()
                if ready:
                    break
            ctx.set(dut.data.valid, 0)
        for _ in range(math.ceil(11 * divisor)):
            line.append(ctx.get(dut.tx))
            await ctx.tick()

    run_testbench(dut, tb, period=1e-6)
    starts, i = [], 1
    while i < len(line):                 # a frame's start: the first fall after its stop bit
        if line[i - 1] == 1 and line[i] == 0:
            starts.append(i)
            i += math.floor(9.5 * divisor)
        i += 1
    assert len(starts) == len(frames)
    for n, (start, byte) in enumerate(zip(starts, frames)):
        bits = [0] + [(byte >> i) & 1 for i in range(8)] + [1]
        edges = [start] + [i for i in range(start + 1, start + math.floor(9.5 * divisor))
                           if line[i] != line[i - 1]]
        # 0x55 with its start and stop bits alternates every bit: every bit edge shows
        if byte == 0x55:
            assert len(edges) == 10
            for k, e in enumerate(edges):
                assert abs((e - start) - k * divisor) < 1, (n, k, e - start)
                if n == 0:
                    assert e - start == math.floor(k * divisor)
        for k, bit in enumerate(bits):                   # mid-bit values
            assert line[start + math.floor((k + Fraction(1, 2)) * divisor)] == bit


@pytest.mark.parametrize("skew", [Fraction(-3, 100), 0, Fraction(3, 100)])
def test_rx_fractional_divisor_against_a_host_off_by_3_percent(skew):
    """The receiver at 26.67 clocks per bit takes bytes from a host whose bit time is up to
    3 % shorter or longer, frames back to back (no idle time between them)."""
    divisor = Fraction(6827, 256)
    host = divisor * (1 + skew)
    dut = UARTRx(divisor)
    data = bytes(random.Random(5).randrange(256) for _ in range(16))
    got = []

    async def host_tx(ctx):
        await uart_send(ctx, dut.rx, data, host)

    async def sink(ctx):
        ctx.set(dut.data.ready, 1)
        for _ in range(math.ceil(10 * host * (len(data) + 1))):
            await ctx.tick()
            if ctx.get(dut.data.valid):
                got.append(ctx.get(dut.data.payload))
            assert not ctx.get(dut.framing_error) and not ctx.get(dut.overrun)

    run_testbench(dut, sink, background=[host_tx], period=1e-6)
    assert bytes(got) == data


def test_rx_latency_with_a_fractional_divisor():
    """From a start bit's edge to ``data.valid``: 2 synchronizer clocks, ``floor(half + 9 *
    divisor)``, 1."""
    for divisor in (Fraction(6827, 256), Fraction(17, 4), 9):
        rx = UARTRx(divisor)
        assert rx.latency == 3 + math.floor(rx.half + 9 * Fraction(divisor))
    assert UARTRx(9).latency == 2 + 9 // 2 + 81 + 1


def test_tx_line_waveform():
    """The TX pin itself carries start, LSB-first data and stop, each ``divisor`` clocks."""
    dut = UARTTx(5)
    got = []

    async def tb(ctx):
        assert ctx.get(dut.tx) == 1
        for byte in (0x00, 0xFF, 0xA5, 0x3C):
            await send(ctx, dut.data, byte)
            ctx.set(dut.data.valid, 0)
            got.append(await uart_recv(ctx, dut.tx, 5, timeout=10))

    run_testbench(dut, tb, period=1e-6)
    assert got == [0x00, 0xFF, 0xA5, 0x3C]


def test_rx_framing_error_and_recovery():
    """A low stop bit gives one framing-error pulse, no byte; the next good frame is received."""
    divisor = 6
    dut = UARTRx(divisor)
    events = []

    async def line(ctx):
        await uart_send(ctx, dut.rx, b"\x5a", divisor, stop=0)
        ctx.set(dut.rx, 0)                                # hold a break for 3 bit times
        await ctx.tick().repeat(3 * divisor)
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(2 * divisor)
        await uart_send(ctx, dut.rx, b"\xc3\x01", divisor)

    async def monitor(ctx):
        ctx.set(dut.data.ready, 1)
        for _ in range(40 * divisor):
            await ctx.tick()
            if ctx.get(dut.framing_error):
                events.append("framing")
            if ctx.get(dut.data.valid):
                events.append(ctx.get(dut.data.payload))

    run_testbench(dut, monitor, background=[line], period=1e-6)
    assert events == ["framing", 0xC3, 0x01]


def test_rx_overrun_keeps_first_byte():
    divisor = 4
    dut = UARTRx(divisor)
    seen = {"overrun": 0}

    async def line(ctx):
        await uart_send(ctx, dut.rx, b"\x11\x22", divisor)

    async def monitor(ctx):
        for _ in range(25 * divisor):
            await ctx.tick()
            seen["overrun"] += ctx.get(dut.overrun)
        assert ctx.get(dut.data.valid) and ctx.get(dut.data.payload) == 0x11

    run_testbench(dut, monitor, background=[line], period=1e-6)
    assert seen["overrun"] == 1
