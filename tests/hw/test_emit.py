"""The ROM images of :func:`fpgac.hw.emit.rom_images` decode back to the plan's tables."""

from __future__ import annotations

import pytest

from fpgac.compiler.analysis.widths import unsigned_bits
from fpgac.compiler.plan import plan_hardware
from fpgac.hw.emit import rom_images
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model


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
    from fpgac.compiler.plan import desc_rows

    rows = desc_rows(plan)
    widths = [max(1, max(r[k] for r in rows).bit_length()) for k in rows[0]]
    got = [_unpack(w, [(wd, False) for wd in widths]) for w in images["descriptors"].words]
    assert got == [list(r.values()) for r in rows]
    assert len(rows) == len(plan.layers)
    cb = unsigned_bits(max(plan.round_counts) - 1)
    assert [c + 1 for c in images["round_counts"].words] == list(plan.round_counts)
    assert images["round_counts"].width == cb
    got = [tuple(_unpack(w, [(plan.addr_bits, False), (plan.bias_bits, True)]))
           for w in images["chan_table"].words]
    assert got == [tuple(e) for e in plan.chan_table]
    for name in ("bank_cmds", "in_table", "out_table"):    # nothing per group or output
        assert name not in images
    assert images["pixel_lut"].words == plan.pixel_lut
    if ports == 1:
        assert plan.rom_bits == sum(images[f"bank{k}"].bits for k in range(nb))
