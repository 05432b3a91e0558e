"""allocate_memory: one region per map, consecutive, pad rings at the consumer's zero point."""

from __future__ import annotations

import pytest

from fpgac import semantics
from fpgac.compiler.passes.allocate_memory import allocate_memory
from fpgac.compiler.passes.fuse_activations import fuse_activations
from fpgac.compiler.passes.place_layers import place_layers
from fpgac.sim.randmodel import random_model


@pytest.mark.parametrize("seed", range(10))
def test_regions_and_pad_cells(seed):
    layers = place_layers(fuse_activations(random_model(seed)))
    classes = layers[-1].out_map[0]
    mem = allocate_memory(layers, classes)
    assert len(mem.regions) == len(layers) + 1
    off = 0
    for region, layer in zip(mem.regions, layers):
        assert region.offset == off and region.shape == layer.in_shape
        assert region.pad == layer.in_pad and region.zero == int(layer.op.in_q.zero_point)
        off += region.words
    assert mem.final_offset == off and mem.depth == off + classes == len(mem.mem_init)
    pads = set()
    for region in mem.regions:
        c, h, w = region.shape
        hp, wp = semantics.padded_shape(h, w, region.pad)
        for ci in range(c):
            for y in range(hp):
                for x in range(wp):
                    inside = (region.pad <= y < h + region.pad and region.pad <= x < w + region.pad)
                    a = region.offset + (ci * hp + y) * wp + x
                    if not inside:
                        pads.add(a)
                        assert mem.mem_init[a] == region.zero
    assert all(v == 0 for a, v in enumerate(mem.mem_init) if a not in pads)
