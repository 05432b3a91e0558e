"""Pass: allocate the activation memory: one region per map, reused by liveness.

Contract
--------
``allocate_memory(layers, classes, reuse=True, exclusive_input=False)`` takes the placed layers
(:mod:`.place_layers`) and returns a :class:`MemoryLayout`. Map ``i`` is the input of layer
``i`` (map ``L`` the ``classes`` final outputs); it is stored channel-major with its padding
ring (``(H+2p) x (W+2p)`` words per channel) in region ``i``.

Liveness (``reuse=True``): layer ``i`` reads map ``i`` and writes map ``i + 1``, and a layer
starts only after the previous one's last write (the controller's layer barrier), so map
``i`` is live from the start of layer ``i - 1`` to the end of layer ``i`` and only maps
``i`` and ``i + 1`` are ever live together. The regions alternate between the two ends of
the memory (even maps from the bottom, odd maps ending at the top), so adjacent maps never
overlap and the depth is ``max(words[i] + words[i + 1])``. Padding rings: a ring is never
written by the layers, so a ring that another map's region overlaps would hold that map's
values when it is read. Two cases:

* the input map (map 0): the pixel loader writes its ring with the first layer's input zero
  point before it accepts the pixels of each image (``input_fill`` words, one per cycle);
  so map 0 takes part in the reuse;
* a padded map ``i >= 1`` (the output of a layer, read with padding by the next): its
  region is *exclusive* (no other map overlaps it, at the bottom of the memory), so the ring
  keeps its ``mem_init`` value. It then costs its words on top of the reused part.

``exclusive_input=True`` (the plan option ``overlap``: the loader writes the next image
while the current one computes, ``docs/architecture.md``, "Load overlapped with compute"):
map 0 gets an exclusive region at the bottom too (no other map overlaps it), so its ring
keeps its ``mem_init`` value and there is no ring fill; depth = input words + the reused
part of the others (``max(in + out)`` over layers ``>= 1`` when no inner map is padded).

``reuse=False`` (the debug layout): consecutive regions, every map kept until the end of an
image (``fpgac verify``'s per-layer dumps read them all), no ring fill.

Copies (:func:`split_depth`): a depth just above a power of two is split into a body of
that power of two (block RAM) and a tail of at most :data:`TAIL_FRACTION` of it (distributed
RAM): ``MemoryLayout.body`` (0: one memory).

``mem_init`` sets every pad cell of every padded map to the consuming layer's input zero
point (map 0's ring also comes from the loader) and every other word to 0. ``survives[i]``
says whether map ``i`` is intact at the end of an image, until the next image's ring fill:
no later map overlaps it, nor the input ring the loader rewrites.
"""

from __future__ import annotations

from dataclasses import dataclass

from fpgac import semantics

__all__ = ["Region", "MemoryLayout", "allocate_memory", "ring_cells", "split_depth",
           "TAIL_FRACTION"]

#: Largest tail, as a fraction of the body, that :func:`split_depth` splits off.
TAIL_FRACTION = 1 / 8


@dataclass(frozen=True)
class Region:
    """A map ``shape`` ``(C, H, W)`` stored from ``offset`` with padding ring ``pad`` whose
    cells hold ``zero``."""

    offset: int
    shape: tuple[int, int, int]
    pad: int
    zero: int

    @property
    def words(self) -> int:
        c, h, w = self.shape
        hp, wp = semantics.padded_shape(h, w, self.pad)
        return c * hp * wp

    @property
    def end(self) -> int:
        return self.offset + self.words

    def overlaps(self, other: Region) -> bool:
        return self.offset < other.end and other.offset < self.end


def ring_cells(region: Region) -> list[int]:
    """Addresses of the pad cells of ``region``, ascending."""
    pad = region.pad
    if not pad:
        return []
    c, h, w = region.shape
    hp, wp = semantics.padded_shape(h, w, pad)
    return [region.offset + (ci * hp + y) * wp + x
            for ci in range(c) for y in range(hp) for x in range(wp)
            if not (pad <= y < h + pad and pad <= x < w + pad)]


@dataclass(frozen=True)
class MemoryLayout:
    """The regions (``len(layers) + 1``), the memory depth, its initial contents, the number
    of ring words the pixel loader writes before each image (0: none), per region whether
    its map survives to the end of an image, and the body of a split copy (0: not split)."""

    regions: tuple[Region, ...]
    depth: int
    mem_init: tuple[int, ...]
    input_fill: int = 0
    survives: tuple[bool, ...] = ()
    body: int = 0

    @property
    def final_offset(self) -> int:
        return self.regions[-1].offset


def split_depth(depth: int) -> int:
    """The body of a copy of ``depth`` words: the power of two ``2**k <= depth`` when the
    tail ``depth - 2**k`` is non-zero and at most ``TAIL_FRACTION * 2**k``, else 0 (one
    memory)."""
    if depth < 2:
        return 0
    body = 1 << (depth.bit_length() - 1)
    tail = depth - body
    return body if 0 < tail <= TAIL_FRACTION * body else 0


def _shapes(layers, classes):
    """Per map ``(shape, pad, zero)``."""
    maps = [(layer.in_shape, layer.in_pad, int(layer.op.in_q.zero_point)) for layer in layers]
    return maps + [((classes, 1, 1), 0, 0)]


def _consecutive(maps) -> list[Region]:
    regions, off = [], 0
    for shape, pad, zero in maps:
        regions.append(Region(off, shape, pad, zero))
        off += regions[-1].words
    return regions


def _reused(maps, exclusive_input: bool = False) -> list[Region]:
    """Exclusive regions for the padded maps ``i >= 1`` (and map 0 with ``exclusive_input``)
    at the bottom, the others alternating between the two ends of the rest (module
    docstring)."""
    words = [Region(0, s, p, z).words for s, p, z in maps]
    excl = [(i >= 1 and pad > 0) or (i == 0 and exclusive_input)
            for i, (_, pad, _) in enumerate(maps)]
    offsets = [0] * len(maps)
    base = 0
    for i, e in enumerate(excl):
        if e:
            offsets[i] = base
            base += words[i]
    shared = [i for i in range(len(maps)) if not excl[i]]
    need = max([words[i] for i in shared]
               + [words[i] + words[i + 1] for i in shared
                  if i + 1 < len(maps) and not excl[i + 1]], default=0)
    top = base + need
    for i in shared:
        offsets[i] = base if i % 2 == 0 else top - words[i]
    return [Region(o, s, p, z) for o, (s, p, z) in zip(offsets, maps)]


def allocate_memory(layers, classes: int, *, reuse: bool = True,
                    exclusive_input: bool = False) -> MemoryLayout:
    """Regions of the activation memory for ``layers`` (module docstring)."""
    maps = _shapes(layers, classes)
    regions = _reused(maps, exclusive_input) if reuse else _consecutive(maps)
    depth = max(r.end for r in regions)
    overwritten = [any(regions[k].overlaps(r) for k in range(i + 1, len(regions)))
                   for i, r in enumerate(regions)]
    mem_init = [0] * depth
    for region in regions:
        for a in ring_cells(region):
            mem_init[a] = region.zero
    ring = ring_cells(regions[0]) if regions[0].pad and overwritten[0] else []
    # the loader rewrites the input ring as soon as a result is taken: a map holding one of
    # those words does not survive either
    survives = tuple(not o and not any(r.offset <= a < r.end for a in ring)
                     for o, r in zip(overwritten, regions))
    return MemoryLayout(tuple(regions), depth, tuple(mem_init), len(ring), survives,
                        split_depth(depth))
