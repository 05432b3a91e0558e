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
from rect_plans import rect_picker, rect_plan


def capture_controller(monkeypatch) -> list:
    """Patch :class:`Accelerator` so that every core elaborated afterwards appends its
    controller submodule to the returned list (its internal signals are then readable)."""
    ctrls = []
    orig = Accelerator.elaborate

    def elaborate(self, platform):
        m = orig(self, platform)
        ctrls.append(m.submodules.ctrl)
        return m

    monkeypatch.setattr(Accelerator, "elaborate", elaborate)
    return ctrls


def test_controller_issues_exactly_the_schedule(monkeypatch):
    """Issue cycle of every step (``s1_valid`` one cycle later) equals cycles.schedule."""
    model = random_model(5, size=(6, 8), max_convs=2, max_conv_channels=3, max_features=6)
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    sched = cycles.schedule(plan)
    want = []
    for g, (s, u, _w, _last) in zip(plan.program, sched):
        n = g.phases * g.count          # n - 1 steps back to back from s, the last one at u
        want += list(range(s, s + n - 1)) + [u]
    ctrls = capture_controller(monkeypatch)
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


def _group_context(plan, monkeypatch, images=2):
    """Run the core on ``images`` all-zero images back to back; per latched group the
    controller's stage-1 context ``(layer, rank, nch, nvw, glast, rlast, off0, px0, nvc)``
    (the second image's groups follow the program's last group: the successor wraps)."""
    ctrls = capture_controller(monkeypatch)
    dut = Accelerator(plan)
    seen = []

    async def bench(ctx):
        ctrl = ctrls[0]
        ctx.set(dut.pixels.valid, 1)
        ctx.set(dut.result.ready, 1)
        results = 0
        for _ in range(200000 * images):
            await ctx.tick()
            if ctx.get(ctrl.s1_valid) and ctx.get(ctrl.s1_latch):
                seen.append(tuple(int(ctx.get(getattr(ctrl, f"s1_{n}"))) for n in
                                  ("layer", "rank", "nch", "nvw", "glast", "rlast",
                                   "off0", "px0", "nvc")))
            if ctx.get(dut.result.valid):
                results += 1
                if results == images:
                    return
        raise AssertionError("no result")

    run(dut, bench)
    return seen


def _want_context(plan):
    """The same from ``plan.program`` and the window geometry: the group's first window
    (raster: window ``g * width``; rectangles: ``(r0, c0)``, groups ``bc`` columns right,
    then ``br`` rows down), its output offset and (rectangles) its valid columns."""
    out = []
    for g in plan.program:
        d = plan.descriptors[g.layer]
        owp = d.win_w + d.out_wrap
        if d.br:
            gy, gx = divmod(g.g, -(-d.win_w // d.bc))
            py, px, nvc = gy * d.br, gx * d.bc, min(d.bc, d.win_w - gx * d.bc)
        else:
            (py, px), nvc = divmod(g.g * d.width, d.win_w), 0
        out.append((g.layer, d.rank_base + g.rank, g.nch, g.nvw, int(g.g == d.groups - 1),
                    int(g.round == d.rounds - 1), d.out_first + py * owp + px, px, nvc))
    return out


def test_controller_generates_the_groups_of_the_descriptors(monkeypatch):
    """The loop counters (window group, round, layer) generate exactly the expanded program:
    several rounds and window groups per layer, lanes split into channel and window slots."""
    model = random_model(39, size=(10, 10), max_convs=2, max_conv_channels=5, max_features=8)
    plan = plan_hardware(model, pes=7, pixel_lut=pixel_table(model))
    assert any(d.slots > 1 and d.width > 1 for d in plan.descriptors)
    assert any(d.groups > 1 for d in plan.descriptors)
    assert _group_context(plan, monkeypatch) == _want_context(plan) * 2


def test_controller_generates_rectangle_groups(monkeypatch):
    """Rectangle window groups forced (partial ones at the right and bottom edges): the
    group records' origin, output offset, valid columns and ``n_valid`` (valid lanes only)
    follow the rectangles; the issued schedule is the cycle model's."""
    model = random_model(33, size=(10, 10), max_convs=2, max_conv_channels=5, max_features=8)
    plan = rect_plan(model, 7, rect_picker(9))
    rects = [(d.br, d.bc, d.windows // d.win_w, d.win_w) for d in plan.descriptors if d.br]
    assert any(h % br for br, bc, h, w in rects) and any(w % bc for br, bc, h, w in rects)
    assert any(d.groups > 1 and d.rounds > 1 for d in plan.descriptors if d.br)
    assert _group_context(plan, monkeypatch) == _want_context(plan) * 2


def test_one_step_rounds_back_to_back(monkeypatch):
    """Rounds of a single step (lists of one entry: one weight or one filler) follow each other
    ``GROUP_LATENCY`` (2) cycles apart (the controller's registered next group record): the
    record is ready whatever the group length; the core stays bit-exact and cycle-exact."""
    import numpy as np

    from fpgac.compiler import ir
    from fpgac.hw.amsim import simulate
    from fpgac.sim import golden

    model = random_model(5, size=(6, 8), max_convs=2, max_conv_channels=3, max_features=6)
    lin = [op for op in model.ops if isinstance(op, ir.Linear)][-1]
    w = np.full_like(np.asarray(lin.weight), int(lin.w_zero_point))
    for o in range(0, w.shape[0], 2):                 # every other row: one weight
        w[o, o % w.shape[1]] = int(lin.w_zero_point) + 1
    lin.weight = w
    plan = plan_hardware(model, pes=1, pixel_lut=pixel_table(model))
    last = [g for g in plan.program if g.layer == len(plan.layers) - 1]
    assert len(last) > 1 and all(g.count == 1 for g in last)
    # the rule binds here: one-step groups behind one valid lane, GROUP_LATENCY apart
    sched = cycles.schedule(plan)
    ks = [k for k, g in enumerate(plan.program) if g.layer == len(plan.layers) - 1]
    assert all(plan.program[k].n_valid == 1 for k in ks)
    assert [sched[b][1] - sched[a][1] for a, b in zip(ks, ks[1:])] == \
        [cycles.GROUP_LATENCY] * (len(ks) - 1)
    assert _group_context(plan, monkeypatch) == _want_context(plan) * 2
    c, h, wd = plan.input_shape
    images = np.random.default_rng(3).integers(0, 256, (2, c, h, wd), dtype=np.uint8)
    runs = simulate(plan, images.reshape(2, -1))
    logits, klass = golden.predict(model, images)
    for i, r in enumerate(runs):
        assert list(r.logits) == list(logits[i]) and r.klass == klass[i]
        assert r.compute_cycles == cycles.predict(plan).compute_cycles
