"""The shared testbench helpers of :mod:`fpgac.hw.amsim` on tiny hand-made designs (the core
itself through ``simulate`` is covered by ``test_core.py``)."""

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from fpgac.hw.amsim import pipeline, run_testbench, send, wait_high


class PlusOne(wiring.Component):
    """``o`` = ``i + 1`` one cycle later; never stalls."""

    i: In(stream.Signature(8))
    o: Out(stream.Signature(8))

    def elaborate(self, platform):
        m = Module()
        m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload + 1)]
        return m


class SlowSink(wiring.Component):
    """Takes one byte every ``every`` cycles (``ready`` high one cycle in ``every``); records
    each taken byte in ``last``."""

    data: In(stream.Signature(8))
    last: Out(8)

    def __init__(self, every: int):
        self._every = every
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        count = Signal(range(self._every))
        m.d.sync += count.eq(0 if self._every == 1 else (count + 1) % self._every)
        m.d.comb += self.data.ready.eq(count == self._every - 1)
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += self.last.eq(self.data.payload)
        return m


def test_pipeline_collects_every_output_with_its_cycle():
    dut = PlusOne()
    got = []

    async def bench(ctx):
        got.extend(await pipeline(ctx, dut.i, dut.o, [5, 7, 9], drain=2))

    run_testbench(dut, bench)
    assert [(k, int(p)) for k, p in got] == [(0, 6), (1, 8), (2, 10)]


def test_send_waits_for_ready_and_returns_after_the_taking_tick():
    dut = SlowSink(4)
    seen = []

    async def bench(ctx):
        for byte in (0x11, 0x22, 0x33):
            await send(ctx, dut.data, byte)
            seen.append(ctx.get(dut.last))          # taken by the tick send returned after
        ctx.set(dut.data.valid, 0)

    run_testbench(dut, bench)
    assert seen == [0x11, 0x22, 0x33]


def test_wait_high_counts_ticks_and_times_out():
    dut = SlowSink(5)
    ticks = []

    async def bench(ctx):
        ticks.append(await wait_high(ctx, dut.data.ready, timeout=10))
        await ctx.tick()
        ticks.append(await wait_high(ctx, dut.data.ready, timeout=10))
        with pytest.raises(TimeoutError, match="never rose"):
            await wait_high(ctx, dut.last, timeout=3, name="last")

    run_testbench(dut, bench)
    assert ticks == [4, 4]
