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
  point before it accepts the pixels of each image, so map 0 takes part in the reuse. It
  writes only the ring cells that another map can have overwritten: the run, in ascending
  address order, from the first to the last ring cell inside another map's region
  (``input_fill`` cells from ``input_fill_first``, an offset in map 0); the others keep
  their ``mem_init`` value, as no map is ever stored over them. To make that run short, the
  even maps ``i >= 2`` (which share map 0's end of the memory) are *lifted* by a common
  ``lift`` words above the bottom, within the room their live neighbours leave (the depth
  does not change), chosen to minimise ``input_fill`` (ties: the smallest lift). LeNet-5:
  conv2's 400-word output starts at word 66, the first interior pixel, and covers 48 ring
  cells instead of 106 (the whole ring: 240);
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

import bisect
from dataclasses import dataclass

from fpgac import semantics

__all__ = ["Region", "MemoryLayout", "allocate_memory", "fill_span", "ring_cells",
           "split_depth", "TAIL_FRACTION"]

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
    return [region.offset + a for a in semantics.pad_cells(*region.shape, region.pad)]


@dataclass(frozen=True)
class MemoryLayout:
    """The regions (``len(layers) + 1``), the memory depth, its initial contents, the number
    of ring words the pixel loader writes before each image (0: none), per region whether
    its map survives to the end of an image, the body of a split copy (0: not split), and the
    first ring cell the loader writes (an offset in map 0; :func:`fill_span`)."""

    regions: tuple[Region, ...]
    depth: int
    mem_init: tuple[int, ...]
    input_fill: int = 0
    survives: tuple[bool, ...] = ()
    body: int = 0
    input_fill_first: int = 0

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


def fill_span(regions, ring=None) -> tuple[int, int]:
    """``(first, count)``: the run of map 0's ring cells (ascending addresses) from the first
    to the last one inside another region, ``first`` as an offset in map 0; ``(0, 0)`` when
    no other region covers a ring cell. ``ring``: ``ring_cells(regions[0])`` if known."""
    ring = ring_cells(regions[0]) if ring is None else ring
    spans = [(bisect.bisect_left(ring, r.offset), bisect.bisect_left(ring, r.end))
             for r in regions[1:]]
    spans = [(i0, i1) for i0, i1 in spans if i1 > i0]      # regions holding ring cells
    if not spans:
        return 0, 0
    i0, i1 = min(a for a, _ in spans), max(b for _, b in spans)
    return ring[i0] - regions[0].offset, i1 - i0


def _lift(maps, words, offsets, shared, top) -> list[int]:
    """``offsets`` with the shared even maps ``i >= 2`` lifted by the ``lift`` (module
    docstring) that minimises map 0's :func:`fill_span`; unchanged unless map 0 is shared
    and padded."""
    evens = [i for i in shared if i >= 2 and i % 2 == 0]
    if 0 not in shared or not maps[0][1] or not evens:
        return offsets
    room = min(top - offsets[i] - words[i]
               - max([words[j] for j in (i - 1, i + 1) if j in shared], default=0)
               for i in evens)

    def at(lift):
        return [o + lift if i in evens else o for i, o in enumerate(offsets)]

    ring = ring_cells(Region(offsets[0], *maps[0]))

    def fill(lift):
        return fill_span([Region(o, s, p, z) for o, (s, p, z) in zip(at(lift), maps)],
                         ring)[1]

    best = min(range(max(0, room) + 1), key=lambda lift: (fill(lift), lift))
    return at(best)


def _reused(maps, exclusive_input: bool = False) -> list[Region]:
    """Exclusive regions for the padded maps ``i >= 1`` (and map 0 with ``exclusive_input``)
    at the bottom, the others alternating between the two ends of the rest, the even ones
    lifted to shorten map 0's ring fill (module docstring)."""
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
    offsets = _lift(maps, words, offsets, set(shared), top)
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
    cells = ring_cells(regions[0])
    first, count = fill_span(regions, cells) if reuse else (0, 0)
    ring = [a for a in cells if a >= regions[0].offset + first][:count]
    # the loader rewrites those ring cells as soon as a result is taken: a map holding one of
    # them does not survive either
    survives = tuple(not o and not any(r.offset <= a < r.end for a in ring)
                     for o, r in zip(overwritten, regions))
    return MemoryLayout(tuple(regions), depth, tuple(mem_init), count, survives,
                        split_depth(depth), first)
