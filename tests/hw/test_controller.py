"""The controller (:mod:`fpgac.hw.controller`, inside the core) issues exactly the schedule of
:func:`fpgac.compiler.analysis.cycles.schedule`.
"""

from __future__ import annotations

from fpgac.compiler.analysis import cycles
from fpgac.compiler.plan import plan_hardware
from fpgac.hw.amsim import run_testbench as run
from fpgac.hw.core import Accelerator
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model


def test_controller_issues_exactly_the_schedule(monkeypatch):
    """Issue cycle of every step (``s1_valid`` one cycle later) equals cycles.schedule."""
    model = random_model(5, size=(6, 8), max_convs=2, max_conv_channels=3, max_features=6)
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    sched = cycles.schedule(plan)
    want = []
    for g, (s, u, _w, _last) in zip(plan.program, sched):
        n = g.phases * g.count          # n - 1 steps back to back from s, the last one at u
        want += list(range(s, s + n - 1)) + [u]
    ctrls = []
    orig = Accelerator.elaborate

    def elaborate(self, platform):
        m = orig(self, platform)
        ctrls.append(m.submodules.ctrl)
        return m

    monkeypatch.setattr(Accelerator, "elaborate", elaborate)
    dut = Accelerator(plan)
    issued = []

    async def bench(ctx):
        ctrl = ctrls[0]
        ctx.set(dut.pixels.valid, 1)
        accepted, cyc = 0, None
        for _ in range(100000):
            if ctx.get(dut.pixels.ready) and cyc is None:
                accepted += 1
            await ctx.tick()
            if cyc is not None:
                cyc += 1
                if ctx.get(ctrl.s1_valid):
                    issued.append(cyc - 1)
                if ctx.get(dut.result.valid):
                    assert cyc == cycles.predict(plan).compute_cycles
                    return
            elif accepted == plan.input_pixels:
                cyc = 1                 # the last accept was cycle 0; this is cycle 1
                ctx.set(dut.pixels.valid, 0)
        raise AssertionError("no result")

    run(dut, bench)
    assert issued == want
