""":mod:`fpgac.hw.wrap`: the default core and the wrappers' local clock domain with a core
reset (the wrappers themselves are tested in ``tests/ip`` and ``tests/boards``)."""

from amaranth.hdl import Module
from amaranth.sim import Simulator
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpgac.compiler.plan import plan_hardware
from fpgac.hw.core import Accelerator
from fpgac.hw.wrap import default_core, local_core_module
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model


class Counter(wiring.Component):
    count: Out(8)

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.count.eq(self.count + 1)
        return m


class Wrapper(wiring.Component):
    """A counter core on its own ``clk``/``rst`` with a core reset ``soft``."""

    clk: In(1)
    rst: In(1)
    soft: In(1)
    count: Out(8)

    def __init__(self):
        super().__init__()
        self.core = Counter()

    def elaborate(self, platform):
        m, core_reset = local_core_module(self.core, clk=self.clk, rst=self.rst)
        m.d.comb += [core_reset.eq(self.soft), self.count.eq(self.core.count)]
        return m


def test_local_core_module_clock_bus_reset_and_core_reset():
    dut = Wrapper()
    seen = []

    async def bench(ctx):
        async def edge():
            ctx.set(dut.clk, 1)
            await ctx.delay(1e-8)
            ctx.set(dut.clk, 0)
            await ctx.delay(1e-8)
        for _ in range(3):
            await edge()
        seen.append(ctx.get(dut.count))           # three edges of the bus clock
        ctx.set(dut.soft, 1)
        await edge()
        ctx.set(dut.soft, 0)
        seen.append(ctx.get(dut.count))           # the core reset cleared it
        await edge()
        await edge()
        ctx.set(dut.rst, 1)
        await edge()
        ctx.set(dut.rst, 0)
        seen.append(ctx.get(dut.count))           # and so did the bus reset

    sim = Simulator(dut)                          # no clock: the bench drives clk itself
    sim.add_testbench(bench)
    sim.run()
    assert seen == [3, 0, 0]


def test_default_core_is_the_plans_accelerator_unless_one_is_given():
    model = random_model(5, size=(6, 8), max_convs=1, max_conv_channels=2, max_features=4)
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    core = default_core(plan)
    assert isinstance(core, Accelerator) and core.plan is plan
    mine = Counter()
    assert default_core(plan, mine) is mine
