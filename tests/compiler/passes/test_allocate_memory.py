"""allocate_memory: regions reused by liveness (adjacent maps never overlap, padded inner maps
exclusive, the input ring refilled), the debug layout (consecutive), pad cells at the
consumer's zero point."""

from __future__ import annotations

import pytest

from fpgac import semantics
from fpgac.compiler.frontend import load_model
from fpgac.compiler.passes.allocate_memory import allocate_memory, ring_cells
from fpgac.compiler.passes.fuse_activations import fuse_activations
from fpgac.compiler.passes.place_layers import place_layers
from fpgac.sim.randmodel import random_model

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _layers(seed):
    return place_layers(fuse_activations(random_model(seed)))


def _check_rings(mem):
    """Every pad cell holds its map's zero point in mem_init, every other word is 0."""
    pads = set()
    for region in mem.regions:
        for a in ring_cells(region):
            pads.add(a)
            assert mem.mem_init[a] == region.zero
    assert all(v == 0 for a, v in enumerate(mem.mem_init) if a not in pads)


def _ring_count(region):
    c, h, w = region.shape
    hp, wp = semantics.padded_shape(h, w, region.pad)
    return c * (hp * wp - h * w)


@pytest.mark.parametrize("seed", range(10))
def test_debug_layout_is_consecutive(seed):
    layers = _layers(seed)
    classes = layers[-1].out_map[0]
    mem = allocate_memory(layers, classes, reuse=False)
    assert len(mem.regions) == len(layers) + 1
    off = 0
    for region, layer in zip(mem.regions, layers):
        assert region.offset == off and region.shape == layer.in_shape
        assert region.pad == layer.in_pad and region.zero == int(layer.op.in_q.zero_point)
        assert len(ring_cells(region)) == _ring_count(region)
        off += region.words
    assert mem.final_offset == off and mem.depth == off + classes == len(mem.mem_init)
    assert mem.input_fill == 0 and all(mem.survives)
    _check_rings(mem)


@pytest.mark.parametrize("seed", range(40))
def test_reused_regions_by_liveness(seed):
    """Maps live together (a layer's input and output) never overlap; a padded map i >= 1
    overlaps nothing (its ring is never rewritten); the depth is the bound of the layout:
    max(in + out) when no inner map is padded; the input ring is refilled iff reused."""
    layers = _layers(seed)
    classes = layers[-1].out_map[0]
    mem = allocate_memory(layers, classes)
    regs = mem.regions
    debug = allocate_memory(layers, classes, reuse=False)
    assert [(r.shape, r.pad, r.zero) for r in regs] == \
        [(r.shape, r.pad, r.zero) for r in debug.regions]
    assert mem.depth == max(r.end for r in regs) == len(mem.mem_init) <= debug.depth
    assert min(r.offset for r in regs) == 0
    for i in range(len(regs) - 1):
        assert not regs[i].overlaps(regs[i + 1]), f"maps {i}, {i + 1} live together"
    excl = [i for i, r in enumerate(regs) if i >= 1 and r.pad]
    for i in excl:
        assert not any(regs[i].overlaps(r) for k, r in enumerate(regs) if k != i)
    shared = [i for i in range(len(regs)) if i not in excl]
    pairs = [regs[i].words + regs[i + 1].words for i in shared
             if i + 1 < len(regs) and i + 1 not in excl]
    bound = sum(regs[i].words for i in excl) + max([regs[i].words for i in shared] + pairs)
    assert mem.depth == bound
    if not excl:
        assert mem.depth == max(regs[i].words + regs[i + 1].words
                                for i in range(len(regs) - 1))
    # the fill: every ring cell of map 0 from the first to the last that another map covers
    ring = ring_cells(regs[0])
    hit = [j for j, a in enumerate(ring) if any(q.offset <= a < q.end for q in regs[1:])]
    run = ring[hit[0]:hit[-1] + 1] if hit else []
    assert mem.input_fill == len(run)
    assert mem.input_fill_first == (run[0] - regs[0].offset if run else 0)
    fill = set(run)
    for i, r in enumerate(regs):
        assert mem.survives[i] == (not any(r.overlaps(q) for q in regs[i + 1:])
                                   and not fill & set(range(r.offset, r.end)))
    _check_rings(mem)


def test_reuse_happens_on_random_models():
    """Over the seeds, regions are reused (some map overlaps a later one) and the input ring
    fill occurs: the tests above are not vacuous."""
    mems = [allocate_memory(ls, ls[-1].out_map[0]) for ls in map(_layers, range(40))]
    assert sum(not all(m.survives) for m in mems) >= 20
    assert sum(m.input_fill > 0 for m in mems) >= 5
    assert sum(any(i >= 1 and r.pad for i, r in enumerate(m.regions)) for m in mems) >= 5


def test_lenet5_depth_is_max_in_plus_out():
    layers = place_layers(fuse_activations(load_model(ROOT / "examples" / "lenet5_g90_8b.yml")))
    mem = allocate_memory(layers, 10)
    old = allocate_memory(layers, 10, reuse=False)
    words = [r.words for r in mem.regions]
    assert words == [1024, 1176, 400, 120, 84, 10]
    assert mem.depth == 1024 + 1176 == max(a + b for a, b in zip(words, words[1:])) == 2200
    assert old.depth == sum(words) == 2814
    # conv2's and fc1's outputs lifted to word 66 (the first interior pixel): the loader
    # rewrites 48 of conv1's 240 ring cells before each image, from row 2's right edge (94:
    # row 2, column 30) to row 14's left edge; at the bottom (word 0) it would be the 106
    # ring cells below word 400
    assert [r.offset for r in mem.regions] == [0, 1024, 66, 2080, 66, 2190]
    assert (mem.input_fill_first, mem.input_fill) == (2 * 32 + 30, 2 + 11 * 4 + 2) == (94, 48)
    assert len([a for a in ring_cells(mem.regions[0]) if a < 400]) == 106
    assert mem.survives == (False, False, False, False, False, True)  # fc1 out: ring words
    assert mem.body == 2048 and old.body == 0         # split: 2,048 + 152


@pytest.mark.parametrize("seed", range(40))
def test_exclusive_input_overlaps_nothing(seed):
    """``exclusive_input`` (the plan option ``overlap``): map 0 overlaps no other map (the
    loader writes the next image there while the others are live), its ring is in
    ``mem_init`` and never refilled; the depth is its words plus the bound of the others."""
    layers = _layers(seed)
    classes = layers[-1].out_map[0]
    mem = allocate_memory(layers, classes, exclusive_input=True)
    regs = mem.regions
    assert not any(regs[0].overlaps(r) for r in regs[1:])
    assert mem.input_fill == 0
    for i in range(len(regs) - 1):
        assert not regs[i].overlaps(regs[i + 1])
    excl = [i for i, r in enumerate(regs) if i >= 1 and r.pad]
    for i in excl:
        assert not any(regs[i].overlaps(r) for k, r in enumerate(regs) if k != i)
    shared = [i for i in range(1, len(regs)) if i not in excl]
    pairs = [regs[i].words + regs[i + 1].words for i in shared
             if i + 1 < len(regs) and i + 1 not in excl]
    assert mem.depth == regs[0].words + sum(regs[i].words for i in excl) + max(
        [regs[i].words for i in shared] + pairs) == len(mem.mem_init)
    _check_rings(mem)
    plain = allocate_memory(layers, classes)
    assert mem.depth >= plain.depth
    assert [(r.shape, r.pad, r.zero) for r in regs] == \
        [(r.shape, r.pad, r.zero) for r in plain.regions]


def test_exclusive_input_changes_the_layout_on_random_models():
    """Over the seeds, map 0 shares words with another map without the option (so the test
    above is not vacuous) and the memory gets deeper with it."""
    seeds = range(40)
    shared = [any(m.regions[0].overlaps(r) for r in m.regions[1:])
              for m in (allocate_memory(ls, ls[-1].out_map[0]) for ls in map(_layers, seeds))]
    assert sum(shared) >= 10


def test_lenet5_exclusive_input_is_2600_words():
    layers = place_layers(fuse_activations(load_model(ROOT / "examples" / "lenet5_g90_8b.yml")))
    mem = allocate_memory(layers, 10, exclusive_input=True)
    assert [r.offset for r in mem.regions][0] == 0
    assert mem.depth == 1024 + 1176 + 400 == 2600
    assert mem.input_fill == 0
    assert mem.body == 0                       # 2,048 + 552: a tail over 1/8 is not split
    assert all(mem.mem_init[a] == mem.regions[0].zero for a in ring_cells(mem.regions[0]))
