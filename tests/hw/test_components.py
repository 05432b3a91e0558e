"""Amaranth-simulator testbenches of the core's components against the golden functions.

Each bench drives one :class:`amaranth.lib.wiring.Component` with ``sim.add_testbench`` and
compares every output with :mod:`fpgac.sim.golden` (requantizer), a direct Python model of the
contract in the component's docstring (lane, result unit, loader), or the plan (ROM images).
The published latencies are checked against :mod:`fpgac.compiler.analysis.cycles`.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from fpgac.compiler.analysis import cycles
from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.compiler.plan import Requant, plan_hardware
from fpgac.hw.core import Accelerator
from fpgac.hw.emit import rom_images
from fpgac.hw.io import PixelLoader, ResultUnit
from fpgac.hw.lane import Lane
from fpgac.hw.requant import Requantizer
from fpgac.hw.writer import Writer
from fpgac.sim import golden
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


# ---- requantizer ------------------------------------------------------------------------

def _rq(mqm0, shift, outz, relu, n, half_up=False):
    return Requant(mqm0=mqm0, shift=shift, rnd=2 ** (shift - 1) if half_up and shift else 0,
                   outz=outz, relu=relu, n_bits=n)


REQUANT_SETS = [
    # edges: mqm0 0 and 2^n, shift 0 and far beyond the product width, outz at both ends
    [_rq(0, 0, 0, False, 2), _rq(4, 0, 3, True, 2), _rq(3, 1, 1, False, 2, True)],
    [_rq(8, 3, 0, True, 3), _rq(5, 2, 7, False, 3, True), _rq(1, 40, 2, False, 3),
     _rq(8, 40, 5, True, 3, True)],
    [_rq(16, 4, 8, False, 4, True), _rq(9, 7, 15, True, 4), _rq(0, 3, 15, False, 4),
     _rq(13, 0, 0, False, 4)],
    [_rq(200, 9, 128, True, 8), _rq(256, 12, 0, False, 8, True), _rq(129, 15, 255, False, 8)],
]


@pytest.mark.parametrize("params", REQUANT_SETS, ids=lambda p: f"n{p[0].n_bits}")
def test_requantizer_exhaustive_vs_golden(params):
    in_bits = 9
    dut = Requantizer(tuple(params), in_bits=in_bits, tag_bits=16)
    assert dut.latency == cycles.WRITER_LATENCY - 1      # the writer adds its sum register
    values = range(-2 ** (in_bits - 1), 2 ** (in_bits - 1))
    vec = [(v, s) for s in range(len(params)) for v in values]
    got = {}

    async def bench(ctx):
        for k in range(len(vec) + dut.latency):
            if k < len(vec):
                ctx.set(dut.i.valid, 1)
                ctx.set(dut.i.payload, {"value": vec[k][0], "sel": vec[k][1], "tag": k})
            else:
                ctx.set(dut.i.valid, 0)
            await ctx.tick()
            if ctx.get(dut.o.valid):
                tag = ctx.get(dut.o.payload.tag)
                assert k - tag == dut.latency - 1, "latency differs from the published one"
                got[tag] = ctx.get(dut.o.payload.value)

    run(dut, bench)
    assert len(got) == len(vec)
    for s, q in enumerate(params):
        acc = np.array(list(values), dtype=np.int64)
        want = golden.requantize(acc, mqm0=q.mqm0, shift=q.shift, out_zero_point=q.outz,
                                 relu=q.relu, n_bits=q.n_bits,
                                 rounding="half_up" if q.rnd else "floor")
        base = s * len(acc)
        rtl = np.array([got[base + i] for i in range(len(acc))])
        bad = np.flatnonzero(rtl != want)
        assert bad.size == 0, (f"{q}: acc {acc[bad[0]]}: rtl {rtl[bad[0]]}, "
                               f"golden {want[bad[0]]}")


def test_requantizer_extreme_accumulators():
    """Wide accumulators (36 bits) at the range ends with 16-bit constants."""
    params = (_rq(2 ** 16, 30, 0, False, 16, True), _rq(40000, 20, 65535, True, 16),
              _rq(1, 0, 32768, False, 16))
    in_bits = 36
    lo, hi = -2 ** (in_bits - 1), 2 ** (in_bits - 1) - 1
    rng = np.random.default_rng(1)
    accs = [lo, lo + 1, -1, 0, 1, hi - 1, hi] + [int(v) for v in rng.integers(lo, hi, 40)]
    dut = Requantizer(params, in_bits=in_bits, tag_bits=12)
    vec = [(v, s) for s in range(len(params)) for v in accs]
    got = {}

    async def bench(ctx):
        for k in range(len(vec) + dut.latency):
            ctx.set(dut.i.valid, int(k < len(vec)))
            if k < len(vec):
                ctx.set(dut.i.payload, {"value": vec[k][0], "sel": vec[k][1], "tag": k})
            await ctx.tick()
            if ctx.get(dut.o.valid):
                got[ctx.get(dut.o.payload.tag)] = ctx.get(dut.o.payload.value)

    run(dut, bench)
    for k, (v, s) in enumerate(vec):
        q = params[s]
        want = golden.requantize(v, mqm0=q.mqm0, shift=q.shift, out_zero_point=q.outz,
                                 relu=q.relu, n_bits=q.n_bits,
                                 rounding="half_up" if q.rnd else "floor")
        assert got[k] == int(want), (q, v, got[k], int(want))


# ---- lane ---------------------------------------------------------------------------------

def test_lane_mac_pool_latch_and_latency():
    """Two groups with pooled phases against a Python model of the lane contract."""
    act_bits, w_bits, acc_bits = 8, 9, 24
    dut = Lane(act_bits=act_bits, w_bits=w_bits, tap_bits=6, addr_bits=8, acc_bits=acc_bits)
    assert dut.latency == cycles.LANE_LATENCY
    rng = np.random.default_rng(3)
    mem = [int(v) for v in rng.integers(0, 256, 256)]
    groups = []        # (inz, in_base, phase offsets, entries [(d, tap)])
    for inz, phases, count in ((0, [0, 1, 16, 17], 5), (200, [0], 1), (37, [0, 2, 40], 3)):
        entries = [(int(rng.integers(-255, 256)), int(rng.integers(0, 64)))
                   for _ in range(count)]
        groups.append((inz, int(rng.integers(0, 100)), phases, entries))
    entries_extreme = [(-255, 0), (255, 1), (-255, 2)]
    groups.append((255, 0, [0, 3], entries_extreme))
    steps, want = [], []
    for inz, base, phases, entries in groups:
        pooled = None
        for pi, off in enumerate(phases):
            acc = sum((mem[base + off + t] - inz) * d for d, t in entries)
            pooled = acc if pooled is None else max(pooled, acc)
            for e, (d, t) in enumerate(entries):
                last = e == len(entries) - 1
                steps.append(dict(valid=1, first=int(e == 0), last=int(last),
                                  phase0=int(pi == 0), latch=int(last and pi == len(phases) - 1),
                                  inz=inz, d=d, tap=t, in_base=base, phase_off=off))
        want.append(pooled)
    seen = []

    async def bench(ctx):
        rd_next = 0
        latch_at = []
        for k in range(len(steps) + 6):
            step = steps[k] if k < len(steps) else dict(valid=0, latch=0)
            for key, val in step.items():
                ctx.set(getattr(dut, key), val)
            if step.get("latch"):
                latch_at.append(k)
            addr = ctx.get(dut.rd_addr)
            ctx.set(dut.rd_data, rd_next)
            await ctx.tick()
            rd_next = mem[addr]
            # the latched value is visible from cycle latch + latency (now we are in k + 1)
            for j, c in enumerate(latch_at):
                if k + 1 == c + dut.latency:
                    seen.append(ctx.get(dut.result))

    run(dut, bench)
    assert seen == want


# ---- result unit --------------------------------------------------------------------------

@pytest.mark.parametrize("values,order", [
    ([3, 9, 9, 1], [0, 1, 2, 3]),
    ([3, 9, 9, 1], [3, 2, 1, 0]),          # the first maximum even when written last
    ([0, 0, 0, 0, 0], [4, 3, 2, 1, 0]),
    ([255, 7, 255], [1, 2, 0]),
])
def test_result_unit_first_max(values, order):
    classes = len(values)
    cb = unsigned_bits(classes - 1)
    dut = ResultUnit(classes=classes, out_bits=8, class_bits=cb, offset=20, addr_bits=6,
                     act_bits=8)
    assert dut.latency == cycles.RESULT_LATENCY
    out = {}

    async def bench(ctx):
        for _ in range(2):                       # twice: the transfer clears the argmax
            for i, cls in enumerate(order):
                ctx.set(dut.wr_en, 1)
                ctx.set(dut.wr_final, 1)
                ctx.set(dut.wr_addr, 20 + cls)
                ctx.set(dut.wr_data, values[cls])
                ctx.set(dut.done, int(i == len(order) - 1))
                await ctx.tick()
            ctx.set(dut.wr_en, 0)
            ctx.set(dut.done, 0)
            assert ctx.get(dut.result.valid)       # done + latency
            out["klass"] = ctx.get(dut.result.payload.klass)
            out["logits"] = [int(v) for v in ctx.get(dut.result.payload.logits)]
            ctx.set(dut.result.ready, 1)
            await ctx.tick()
            ctx.set(dut.result.ready, 0)
            assert not ctx.get(dut.result.valid)
            assert out["klass"] == values.index(max(values))
            assert out["logits"] == values

    run(dut, bench)


# ---- pixel loader -------------------------------------------------------------------------

def test_pixel_loader_addresses_lut_and_last():
    """Raster order into the padded map, LUT values, one-cycle write delay, stalls, ``last``."""
    c, h, w, pad, offset = 2, 3, 4, 1, 5
    lut = [(7 * v + 3) % 256 for v in range(256)]
    dut = PixelLoader(lut=lut, shape=(c, h, w), offset=offset, pad=pad, act_bits=8,
                      addr_bits=8)
    rng = np.random.default_rng(0)
    pixels = [int(v) for v in rng.integers(0, 256, c * h * w)]
    writes, accepts, lasts = [], [], []

    async def bench(ctx):
        ctx.set(dut.enable, 1)
        i, k = 0, 0
        while i < len(pixels) or k < 60:
            valid = i < len(pixels) and k % 3 != 1          # the stream stalls now and then
            ctx.set(dut.pixels.valid, int(valid))
            if valid:
                ctx.set(dut.pixels.payload, pixels[i])
            ctx.set(dut.enable, int(k != 4))                # and the core refuses once
            accepted = valid and ctx.get(dut.pixels.ready)
            if ctx.get(dut.last):
                lasts.append(i)
            await ctx.tick()
            if accepted:
                accepts.append(k)
                i += 1
            if ctx.get(dut.wr_en):
                writes.append((k, ctx.get(dut.wr_addr), ctx.get(dut.wr_data)))
            k += 1
            assert ctx.get(dut.busy) == (0 < i < len(pixels))

    run(dut, bench)
    hp, wp = h + 2 * pad, w + 2 * pad
    want = [(offset + ci * hp * wp + (y + pad) * wp + x + pad, lut[pixels[(ci * h + y) * w + x]])
            for ci in range(c) for y in range(h) for x in range(w)]
    assert [wr[1:] for wr in writes] == want
    assert [wr[0] for wr in writes] == accepts           # written the cycle after the accept
    assert lasts == [len(pixels) - 1]


# ---- ROM images ---------------------------------------------------------------------------

def _unpack(word, fields):
    out, pos = [], 0
    for width, is_signed in fields:
        v = (word >> pos) & ((1 << width) - 1)
        if is_signed and v >> (width - 1):
            v -= 1 << width
        out.append(v)
        pos += width
    return out


@pytest.mark.parametrize("seed,pes,ports", [(5, 3, 1), (8, 1, 1), (5, 3, 2), (8, 8, 2)])
def test_rom_images_decode_to_plan(seed, pes, ports):
    model = random_model(seed)
    plan = plan_hardware(model, pes=pes, bank_ports=ports, pixel_lut=pixel_table(model))
    images = {im.name: im for im in rom_images(plan)}
    wr, gb = plan.wraw_bits, plan.gap_bits
    nb = len(plan.banks)
    groups = ([(k, k + 1) for k in range(0, nb - 1, 2)] + ([(nb - 1,)] if nb % 2 else [])
              if ports == 2 else [(k,) for k in range(nb)])
    for ks in groups:
        last = any(plan.bank_last[k] for k in ks)
        name = "bank" + "_".join(map(str, ks))
        fields = [(wr, False), (gb, False)] + ([(1, False)] if last else [])
        got = [tuple(_unpack(w, fields)) for w in images[name].words]
        assert got == [tuple(e[:len(fields)]) for k in ks for e in plan.banks[k]]
        assert images[name].width == wr + gb + int(last)
    rows = [_unpack(w, [(plan.sel_bits, False)] * pes) for w in images["sel_table"].words]
    assert [tuple(r) for r in rows] == [tuple(r) for r in plan.sel_rows]
    nb = len(plan.banks)
    cmds = [tuple(_unpack(w, [(2, False)] * nb)) for w in images["bank_cmds"].words]
    assert cmds == [tuple(g.bank_cmd[:nb]) for g in plan.program]
    lb = unsigned_bits(pes - 1)
    got = [tuple(_unpack(w, [(lb, False), (plan.addr_bits, False), (plan.bias_bits, True)]))
           for w in images["out_table"].words]
    assert got == [tuple(e) for e in plan.out_table]
    assert images["pixel_lut"].words == plan.pixel_lut
    if ports == 1:
        assert plan.rom_bits == sum(images[f"bank{k}"].bits for k in range(nb))


# ---- published latencies and the whole core --------------------------------------------

def test_published_latencies_match_cycle_model():
    model = random_model(5)
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    acc = Accelerator(plan)
    assert acc.rom_latency == cycles.ROM_LATENCY
    assert acc.lane_latency == cycles.LANE_LATENCY
    assert acc.writer_latency == cycles.WRITER_LATENCY
    assert acc.result_latency == cycles.RESULT_LATENCY
    for name in ("rom", "lane", "writer", "result"):       # the plan carries the same ones
        assert getattr(plan, f"{name}_latency") == getattr(acc, f"{name}_latency")
    writer = Writer(out_table=plan.out_table, params=plan.requant, pes=2,
                    acc_bits=plan.acc_bits, addr_bits=plan.addr_bits,
                    bias_bits=plan.bias_bits, act_bits=plan.act_bits)
    assert writer.latency == cycles.WRITER_LATENCY
    Fragment.get(writer, None)                 # it elaborates (and is not left unused)


@pytest.mark.parametrize("seed,pes,ports", [(5, 3, 1), (21, 2, 1), (5, 5, 2), (21, 3, 2)])
def test_core_in_amaranth_sim_vs_golden_and_cycles(seed, pes, ports):
    """Whole core (controller, banks, lanes, writer, loader, result unit) on a small random
    model, with one ROM per bank and with banks paired in two-read-port ROMs."""
    from fpgac.hw.amsim import simulate

    model = random_model(seed, size=(6, 8), max_convs=2, max_conv_channels=3,
                         max_features=6)
    plan = plan_hardware(model, pes=pes, bank_ports=ports, pixel_lut=pixel_table(model))
    c, h, w = plan.input_shape
    rng = np.random.default_rng(seed)
    images = np.concatenate([np.zeros((1, c, h, w), np.uint8), np.full((1, c, h, w), 255,
                                                                      np.uint8),
                             rng.integers(0, 256, (1, c, h, w), dtype=np.uint8)])
    runs = simulate(plan, images.reshape(len(images), -1))
    logits, klass = golden.predict(model, images)
    want = cycles.predict(plan).compute_cycles
    for i, r in enumerate(runs):
        assert list(r.logits) == list(logits[i]) and r.klass == klass[i], i
        assert r.compute_cycles == want


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


# ---- weight bank ----------------------------------------------------------------------------

def test_weight_bank_next_rewind_stop_and_restart():
    """A bank decodes its lists (d, tap) two cycles after each step, rewinds for a new phase
    or a *rewind* group, moves on for *next*, shows zeros after a short list's last entry and
    for fillers, and starts over after ``restart``."""
    from fpgac.compiler.passes.encode_weights import encode_list
    from fpgac.hw.bank import WeightBank

    wz, g = 3, 2
    l1, l2 = [(5, 0), (7, 3), (1, 40)], [(9, 1)]
    e1, e2 = encode_list(l1, wz, g), encode_list(l2, wz, g)
    dut = WeightBank(entries=e1 + e2, wraw_bits=4, gap_bits=g, has_last=True, w_bits=5,
                     tap_bits=6)
    assert dut.latency == cycles.ROM_LATENCY
    n = len(e1)
    steps = []                                      # (pass_first, group_first, cmd)
    for ph in range(2):                             # group 1: next, two phases
        steps += [(e == 0, e == 0 and ph == 0, 1) for e in range(n)]
    steps += [(e == 0, e == 0, 2) for e in range(n)]   # group 2: rewind
    steps += [(e == 0, e == 0, 1) for e in range(n)]   # group 3: next (a shorter list)
    one = [(2, 0), (4, 3), (0, 0), (0, 0), (0, 0), (-2, 40)]
    want = one * 3 + [(6, 1)] + [(0, 0)] * (n - 1)
    got = []

    async def tb(ctx):
        ctx.set(dut.wz, wz)
        for rnd in range(2):
            ctx.set(dut.restart, 1)
            await ctx.tick()
            ctx.set(dut.restart, 0)
            for k in range(len(steps) + 1):
                if k < len(steps):
                    pf, gf, cmd = steps[k]
                    ctx.set(dut.step, 1)
                    ctx.set(dut.pass_first, pf)
                    ctx.set(dut.group_first, gf)
                    ctx.set(dut.cmd, cmd)
                else:
                    ctx.set(dut.step, 0)
                await ctx.tick()
                if k >= 1:
                    got.append((ctx.get(dut.d), ctx.get(dut.off)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    assert got == want * 2
