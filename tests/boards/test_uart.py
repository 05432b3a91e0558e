"""UART components in the Amaranth simulator: loopback, divisor checks, framing errors."""

import random

import pytest
from amaranth.hdl import Module

from fpgac.boards.testing import uart_recv, uart_send
from fpgac.boards.uart import UARTRx, UARTTx, uart_divisor
from fpgac.errors import FpgacError
from fpgac.hw.amsim import run_testbench, send


def test_divisor_exact_and_rounded():
    assert uart_divisor(12e6, 115200) == 104          # 0.16 % error
    assert uart_divisor(100e6, 115200) == 868
    assert uart_divisor(25e6, 1_000_000) == 25


def test_divisor_rejects_large_error():
    with pytest.raises(FpgacError, match=r"uart baud: expected a baud error <= 2% .* found 4\.17%"):
        uart_divisor(5e6, 1_200_000)          # 4.17 clocks per bit -> 4 -> 1.25 Mbaud
    with pytest.raises(FpgacError, match=r"at least 4 clocks per bit .* found 2\.00"):
        uart_divisor(2e6, 1_000_000)
    with pytest.raises(FpgacError, match="expected a rate > 0, found 0"):
        uart_divisor(12e6, 0)


@pytest.mark.parametrize("divisor", [4, 7, 16])
def test_loopback_random_bytes(divisor):
    """TX -> wire -> RX; bytes come back identical, in order, at several divisors."""
    rng = random.Random(divisor)
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
