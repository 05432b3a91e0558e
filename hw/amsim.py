"""Run the core in the Amaranth simulator (pure Python; for tiny models and tests).

:func:`simulate` streams images through :class:`~fpgac.hw.core.Accelerator` and returns, per
image, the predicted class, the logits, the measured compute cycles (the definition of
:mod:`fpgac.compiler.analysis.cycles`) and, optionally, the activation memory read back through
the debug port.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.sim import Simulator

from fpgac.compiler.plan import HardwarePlan
from fpgac.hw.core import Accelerator

__all__ = ["CoreRun", "run_testbench", "simulate"]


def run_testbench(dut, *benches, period: float = 1e-8) -> None:
    """Simulate ``dut`` with one clock (``period`` seconds) and the async ``benches``
    (``sim.add_testbench``) until every bench returns."""
    sim = Simulator(dut)
    sim.add_clock(period)
    for bench in benches:
        sim.add_testbench(bench)
    sim.run()


@dataclass(frozen=True)
class CoreRun:
    """One image through the simulated core."""

    klass: int
    logits: tuple[int, ...]
    compute_cycles: int
    memory: tuple[int, ...] | None = None


def simulate(plan: HardwarePlan, images, *, dump_memory: bool = False,
             timeout: int = 1_000_000) -> list[CoreRun]:
    """Simulate ``plan`` on ``images`` (each a flat sequence of ``C*H*W`` pixel bytes).

    Pixels are offered back to back (one per cycle when ready); ``result.ready`` is raised
    two cycles after ``result.valid``. With ``dump_memory`` the whole activation memory is read
    through the debug port after each result.
    """
    dut = Accelerator(plan, debug=dump_memory)
    runs: list[CoreRun] = []

    async def wait_high(ctx, signal, name: str) -> int:
        """Tick until ``signal`` is 1; return the ticks taken (TimeoutError past ``timeout``)."""
        ticks = 0
        while not ctx.get(signal):
            await ctx.tick()
            ticks += 1
            if ticks > timeout:
                raise TimeoutError(f"{name} never rose")
        return ticks

    async def tb(ctx):
        for image in images:
            pixels = [int(v) for v in image]
            if len(pixels) != plan.input_pixels:
                raise ValueError(f"image: expected {plan.input_pixels} pixels, "
                                 f"found {len(pixels)}")
            for px in pixels:
                ctx.set(dut.pixels.valid, 1)
                ctx.set(dut.pixels.payload, px)
                await wait_high(ctx, dut.pixels.ready, "pixels.ready")
                await ctx.tick()
            ctx.set(dut.pixels.valid, 0)
            cycles = 1 + await wait_high(ctx, dut.result.valid, "result.valid")
            payload = ctx.get(dut.result.payload)
            klass = int(payload.klass)
            logits = tuple(int(v) for v in payload.logits)
            await ctx.tick()
            ctx.set(dut.result.ready, 1)
            await ctx.tick()
            ctx.set(dut.result.ready, 0)
            memory = None
            if dump_memory:
                memory = []
                for a in range(plan.mem_depth):
                    ctx.set(dut.debug_addr, a)
                    await ctx.tick()
                    memory.append(int(ctx.get(dut.debug_data)))
                memory = tuple(memory)
            runs.append(CoreRun(klass, logits, cycles, memory))

    run_testbench(dut, tb)
    return runs
