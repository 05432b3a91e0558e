"""Amaranth-simulator testbenches of :mod:`fpgac.hw.io` (the result unit and the pixel loader)
against direct Python models of their contracts.
"""

from __future__ import annotations

import numpy as np
import pytest

from fpgac.compiler.analysis import cycles
from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.hw.amsim import run_testbench as run
from fpgac.hw.io import PixelLoader, ResultUnit


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
