"""Run the core in the Amaranth simulator (pure Python; for tiny models and tests).

:func:`simulate` streams images through :class:`~fpgac.hw.core.Accelerator` and returns, per
image, the predicted class, the logits, the measured compute cycles (the definition of
:mod:`fpgac.compiler.analysis.cycles`) and, optionally, the activation memory read back through
the debug port.

The testbench helpers every Amaranth-simulator bench uses (``simulate`` here, the self-test's
primitive checks in :mod:`fpgac.sim.selftest`, ``tests/hw``, ``tests/boards``, ``bench/``):
:func:`run_testbench` (one clock, the benches, run), :func:`wait_high` (tick until a signal
rises, with a timeout), :func:`send` (one payload through a valid/ready stream) and
:func:`pipeline` (one payload a cycle into a pipeline that never stalls, collecting what comes
out).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.sim import Simulator

from fpgac.compiler.plan import HardwarePlan
from fpgac.hw.core import Accelerator

__all__ = ["CoreRun", "StreamRun", "pipeline", "run_testbench", "send", "simulate",
           "simulate_back_to_back", "wait_high"]


def run_testbench(dut, *benches, background=(), processes=(), period: float = 1e-8) -> None:
    """Simulate ``dut`` with one clock (``period`` seconds) until every bench of ``benches``
    returns; the ``background`` benches (``add_testbench(..., background=True)``) and the
    ``processes`` (``add_process``) run alongside and do not keep the simulation going."""
    sim = Simulator(dut)
    sim.add_clock(period)
    for process in processes:
        sim.add_process(process)
    for bench in background:
        sim.add_testbench(bench, background=True)
    for bench in benches:
        sim.add_testbench(bench)
    sim.run()


async def wait_high(ctx, signal, *, timeout: int, name: str = "signal") -> int:
    """Tick until ``signal`` is 1 (now or after a tick); return the ticks taken.

    Raises :class:`TimeoutError` naming ``name`` after more than ``timeout`` ticks.
    """
    ticks = 0
    while not ctx.get(signal):
        await ctx.tick()
        ticks += 1
        if ticks > timeout:
            raise TimeoutError(f"{name} never rose")
    return ticks


async def send(ctx, stream, payload, *, timeout: int = 1_000_000, name: str = "ready") -> None:
    """Offer ``payload`` on the valid/ready ``stream`` and return after the tick that takes it.

    ``valid`` stays 1 (send the next payload, or lower it); :class:`TimeoutError` if ``ready``
    stays low for more than ``timeout`` ticks.
    """
    ctx.set(stream.valid, 1)
    ctx.set(stream.payload, payload)
    await wait_high(ctx, stream.ready, timeout=timeout, name=name)
    await ctx.tick()


async def pipeline(ctx, i, o, payloads, *, drain: int) -> list[tuple[int, object]]:
    """Offer ``payloads[k]`` on the input ``i`` in cycle ``k`` (``valid`` only: the pipeline
    never stalls), then ``drain`` idle cycles; return ``(k, payload)`` for every cycle ``k``
    after whose tick the output ``o`` was valid (``payload`` as :meth:`ctx.get` reads it)."""
    out = []
    for k in range(len(payloads) + drain):
        ctx.set(i.valid, int(k < len(payloads)))
        if k < len(payloads):
            ctx.set(i.payload, payloads[k])
        await ctx.tick()
        if ctx.get(o.valid):
            out.append((k, ctx.get(o.payload)))
    return out


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

    async def tb(ctx):
        for image in images:
            pixels = [int(v) for v in image]
            if len(pixels) != plan.input_pixels:
                raise ValueError(f"image: expected {plan.input_pixels} pixels, "
                                 f"found {len(pixels)}")
            for px in pixels:
                await send(ctx, dut.pixels, px, timeout=timeout, name="pixels.ready")
            ctx.set(dut.pixels.valid, 0)
            cycles = 1 + await wait_high(ctx, dut.result.valid, timeout=timeout,
                                         name="result.valid")
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


@dataclass(frozen=True)
class StreamRun:
    """One image of :func:`simulate_back_to_back`: its result, the cycle its last pixel was
    taken (``start``) and the cycle its result was first valid (``start + compute_cycles``),
    counted from the first cycle after reset."""

    klass: int
    logits: tuple[int, ...]
    start: int
    result: int

    @property
    def compute_cycles(self) -> int:
        return self.result - self.start


def simulate_back_to_back(plan: HardwarePlan, images, *, timeout: int = 1_000_000
                          ) -> list[StreamRun]:
    """Stream ``images`` (flat ``C*H*W`` pixel sequences) with a pixel source that is always
    valid (the next image's pixels right after the previous image's) and ``result.ready``
    always high; the start-to-start times are ``plan``'s ``interval_cycles``
    (:mod:`fpgac.compiler.analysis.cycles`, "Back to back")."""
    dut = Accelerator(plan)
    flat = [int(v) for image in images for v in image]
    n = plan.input_pixels
    if len(flat) != n * len(images):
        raise ValueError(f"images: expected {n} pixels each, found {len(flat)} in all")
    runs: list[StreamRun] = []

    async def tb(ctx):
        ctx.set(dut.result.ready, 1)
        taken, starts, cycle, idle = 0, [], 0, 0
        while len(runs) < len(images):
            if taken < len(flat):
                ctx.set(dut.pixels.valid, 1)
                ctx.set(dut.pixels.payload, flat[taken])
            else:
                ctx.set(dut.pixels.valid, 0)
            accept = taken < len(flat) and ctx.get(dut.pixels.ready)
            if ctx.get(dut.result.valid):
                payload = ctx.get(dut.result.payload)
                runs.append(StreamRun(int(payload.klass), tuple(int(v) for v in payload.logits),
                                      starts[len(runs)], cycle))
                idle = 0
            await ctx.tick()
            if accept:
                taken += 1
                if taken % n == 0:
                    starts.append(cycle)
            cycle += 1
            idle += 1
            if idle > timeout:
                raise TimeoutError(f"result.valid never rose for image {len(runs)}")

    run_testbench(dut, tb)
    return runs
