"""Amaranth-simulator testbenches of :mod:`fpgac.hw.io` (the activation memory, the result
unit and the pixel loader) against direct Python models of their contracts.
"""

from __future__ import annotations

import numpy as np
import pytest

from fpgac.compiler.analysis import cycles
from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.hw.amsim import run_testbench as run
from fpgac.hw.controller import Controller
from fpgac.hw.io import ActivationMemory, PixelLoader, ResultUnit


# ---- activation memory -------------------------------------------------------------------

@pytest.mark.parametrize("depth,body,fanout", [(40, None, 8), (36, 32, 8), (33, 32, 2),
                                               (40, None, 1)])
def test_activation_memory_split_reads_like_one_memory(depth, body, fanout):
    """Body + tail (``body``) or one memory, the write port registered per group of
    ``fanout`` copies: every copy returns, ``read_latency`` = 2 cycles after the address (from
    its output register), the word before that address cycle's applied write (init, then the
    broadcast writes, each applied ``write_latency`` cycles after it is presented); the debug
    port one cycle after its address. No read hits a word in the cycle a write to it is
    applied (undefined in the block RAM: the core's schedule has none)."""
    rng = np.random.default_rng(depth + fanout)
    init = [int(v) for v in rng.integers(0, 256, depth)]
    pes = 5
    dut = ActivationMemory(init=init, pes=pes, act_bits=8, addr_bits=6, debug=True, body=body,
                           fanout_lanes=fanout)
    assert (dut.write_latency, dut.read_latency) == (1, 2)
    model = list(init)

    async def bench(ctx):
        want = [None, None]         # words due on the read ports 1 and 2 cycles from now
        want_debug = None
        pending = []                # writes presented, not yet applied: (cycle due, addr, data)
        for k in range(400):
            due = {a for c, a, _ in pending if c == k}        # applied at the end of this cycle
            wr = bool(rng.random() < 0.5)
            wa, wd = int(rng.integers(0, depth)), int(rng.integers(0, 256))
            free = [a for a in range(depth) if a not in due]
            addrs = [int(rng.choice(free)) for _ in range(pes + 1)]
            if k % 50 < 3:          # a burst to one address: reads must not see it early
                wr, wa = True, addrs[0]
            for p in range(pes):
                ctx.set(dut.rd_addr[p], addrs[p])
            ctx.set(dut.debug_addr, addrs[pes])
            ctx.set(dut.wr_en, int(wr))
            ctx.set(dut.wr_addr, wa)
            ctx.set(dut.wr_data, wd)
            if want[0] is not None:
                assert [ctx.get(dut.rd_data[p]) for p in range(pes)] == want[0], k
            if want_debug is not None:
                assert ctx.get(dut.debug_data) == want_debug, k
            want = [want[1], [model[a] for a in addrs[:pes]]]
            want_debug = model[addrs[pes]]
            if wr:
                pending.append((k + dut.write_latency, wa, wd))
            await ctx.tick()
            for c, a, d in [w for w in pending if w[0] == k]:
                model[a] = d
            pending = [w for w in pending if w[0] > k]

    run(dut, bench)


def test_activation_memory_refuses_a_bad_body():
    with pytest.raises(ValueError, match="body: expected the power of two"):
        ActivationMemory(init=[0] * 40, pes=1, act_bits=8, addr_bits=6, body=24)
    with pytest.raises(ValueError, match="body: expected the power of two"):
        ActivationMemory(init=[0] * 70, pes=1, act_bits=8, addr_bits=7, body=32)


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
    assert dut.latency == cycles.RESULT_LATENCY - Controller.DONE_LATENCY
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


@pytest.mark.parametrize("first,count", [(0, 36), (7, 20), (31, 5), (35, 1), (12, 1)])
def test_pixel_loader_fills_the_ring_before_each_image(first, count):
    """With ``fill``: before each image the ``count`` pad cells from ring cell ``first`` on get
    ``fill_value`` (ascending, one per cycle while enabled, ready low, whether or not a pixel
    is offered: the whole ring, a run across rows and channels, the ring's end, one cell),
    then the pixels as without fill; again after ``last``. A first cell that is not a pad
    cell and a run past the ring's end are refused."""
    c, h, w, pad, offset = 2, 3, 4, 1, 5
    hp, wp = h + 2 * pad, w + 2 * pad
    whole = [offset + (ci * hp + y) * wp + x for ci in range(c) for y in range(hp)
             for x in range(wp) if not (pad <= y < h + pad and pad <= x < w + pad)]
    assert len(whole) == 36
    ring = whole[first:first + count]
    lut = [(5 * v + 1) % 256 for v in range(256)]
    with pytest.raises(ValueError, match=r"fill: expected 1..36 \(the pad cells"):
        PixelLoader(lut=lut, shape=(c, h, w), offset=offset, pad=pad, act_bits=8, addr_bits=8,
                    fill=37, fill_value=9)
    with pytest.raises(ValueError, match=r"fill: expected 1..3 \(the pad cells .* from 57 on"):
        PixelLoader(lut=lut, shape=(c, h, w), offset=offset, pad=pad, act_bits=8, addr_bits=8,
                    fill=4, fill_value=9, fill_first=whole[-3] - offset)
    with pytest.raises(ValueError, match=r"fill_first: expected a pad cell .* found 7"):
        PixelLoader(lut=lut, shape=(c, h, w), offset=offset, pad=pad, act_bits=8, addr_bits=8,
                    fill=4, fill_value=9, fill_first=wp + 1)
    dut = PixelLoader(lut=lut, shape=(c, h, w), offset=offset, pad=pad, act_bits=8,
                      addr_bits=8, fill=count, fill_value=9, fill_first=ring[0] - offset)
    pixels = [int(v) for v in np.random.default_rng(1).integers(0, 256, 2 * c * h * w)]
    writes, lasts = [], []

    async def bench(ctx):
        i, k, gap = 0, 0, None
        while i < len(pixels) or k < 200:
            enable = k != 3 and k != 40                     # the core refuses now and then
            ctx.set(dut.enable, int(enable))
            # nothing offered at first and for 60 cycles between the images: the fill runs
            if i == n and gap is None:
                gap = k
            valid = i < len(pixels) and not k < 5 and not (gap is not None and k < gap + 60)
            ctx.set(dut.pixels.valid, int(valid))
            if valid:
                ctx.set(dut.pixels.payload, pixels[i])
            accepted = valid and ctx.get(dut.pixels.ready)
            assert ctx.get(dut.pixels.ready) <= enable
            if ctx.get(dut.last):
                lasts.append(i)
            await ctx.tick()
            i += int(accepted)
            if ctx.get(dut.wr_en):
                writes.append((ctx.get(dut.wr_addr), ctx.get(dut.wr_data)))
                if gap is not None and k == gap + 45:
                    assert len(writes) == 2 * len(ring) + n     # the run, no pixel
            k += 1

    n = c * h * w
    run(dut, bench)
    img = [[(offset + ci * hp * wp + (y + pad) * wp + x + pad,
             lut[pixels[j * n + (ci * h + y) * w + x]])
            for ci in range(c) for y in range(h) for x in range(w)] for j in range(2)]
    fill = [(a, 9) for a in ring]
    assert writes == fill + img[0] + fill + img[1] + fill  # and the next image's ring
    assert lasts == [n - 1, 2 * n - 1]


def test_pixel_loader_overlap_waits_for_the_write_port_and_the_start():
    """With ``overlap``: a taken pixel is written in the first cycle with ``grant`` (held
    until then, no pixel taken meanwhile unless the held one is written in that cycle), and
    the last pixel of an image is taken only with ``last_ok``; two images, every write at its
    address with its LUT value, in order."""
    c, h, w, pad, offset = 1, 2, 3, 1, 2
    lut = [(3 * v + 11) % 256 for v in range(256)]
    with pytest.raises(ValueError, match="fill: expected 0 with overlap"):
        PixelLoader(lut=lut, shape=(c, h, w), offset=offset, pad=pad, act_bits=8, addr_bits=8,
                    fill=14, overlap=True)
    dut = PixelLoader(lut=lut, shape=(c, h, w), offset=offset, pad=pad, act_bits=8,
                      addr_bits=8, overlap=True)
    pixels = [int(v) for v in np.random.default_rng(2).integers(0, 256, 2 * c * h * w)]
    grants = [1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0] * 8
    last_ok_from = (9, 30)                   # cycle from which each image may start
    writes, accepts, lasts = [], [], []

    async def bench(ctx):
        ctx.set(dut.enable, 1)
        i, k = 0, 0
        while k < len(grants):
            ctx.set(dut.pixels.valid, int(i < len(pixels)))
            if i < len(pixels):
                ctx.set(dut.pixels.payload, pixels[i])
            ctx.set(dut.grant, grants[k])
            ctx.set(dut.last_ok, int(k >= last_ok_from[min(i // (h * w), 1)]))
            accepted = i < len(pixels) and ctx.get(dut.pixels.ready)
            if ctx.get(dut.wr_en) and grants[k]:
                writes.append((k, ctx.get(dut.wr_addr), ctx.get(dut.wr_data)))
            if ctx.get(dut.last):
                lasts.append(k)
            await ctx.tick()
            if accepted:
                accepts.append(k)
                i += 1
            k += 1

    run(dut, bench)
    hp, wp = h + 2 * pad, w + 2 * pad
    want = [(offset + (y + pad) * wp + x + pad, lut[p]) for n in range(2)
            for y in range(h) for x in range(w) for p in [pixels[n * h * w + y * w + x]]]
    assert [wr[1:] for wr in writes] == want
    # each write: the first granted cycle after its accept; the next accept not before it
    for a, (k, _, _) in zip(accepts, writes):
        assert k == min(j for j in range(a + 1, len(grants)) if grants[j])
    for (k, _, _), a in zip(writes, accepts[1:]):
        assert a >= k
    assert lasts == [accepts[h * w - 1], accepts[-1]]
    assert accepts[h * w - 1] >= last_ok_from[0] and accepts[-1] >= last_ok_from[1]
    assert accepts[h * w - 2] < last_ok_from[0] - 1       # the image waited for its start
