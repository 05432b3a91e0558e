"""Pass: allocate the activation memory: one region per map, with its padding ring.

Contract
--------
``allocate_memory(layers, classes)`` takes the placed layers (:mod:`.place_layers`) and returns
a :class:`MemoryLayout`: region ``i`` holds the input map of layer ``i`` (region ``L`` the
``classes`` final outputs), channel-major with its padding ring (``(H+2p) x (W+2p)`` words per
channel), at consecutive offsets; ``mem_init`` sets every pad cell to the consuming layer's
input zero point (never written at run time) and every other word to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from fpgac import semantics

__all__ = ["Region", "MemoryLayout", "allocate_memory"]


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


@dataclass(frozen=True)
class MemoryLayout:
    """The regions (``len(layers) + 1``), the memory depth, and its initial contents."""

    regions: tuple[Region, ...]
    depth: int
    mem_init: tuple[int, ...]

    @property
    def final_offset(self) -> int:
        return self.regions[-1].offset


def allocate_memory(layers, classes: int) -> MemoryLayout:
    """Regions of the activation memory for ``layers`` (module docstring)."""
    regions = []
    off = 0
    for layer in layers:
        region = Region(off, layer.in_shape, layer.in_pad, int(layer.op.in_q.zero_point))
        regions.append(region)
        off += region.words
    regions.append(Region(off, (classes, 1, 1), 0, 0))
    depth = off + classes
    mem_init = [0] * depth
    for region in regions:
        pad = region.pad
        if pad:
            c, h, w = region.shape
            hp, wp = h + 2 * pad, w + 2 * pad
            for ci in range(c):
                for y in range(hp):
                    for x in range(wp):
                        if not (pad <= y < h + pad and pad <= x < w + pad):
                            mem_init[region.offset + ci * hp * wp + y * wp + x] = region.zero
    return MemoryLayout(tuple(regions), depth, tuple(mem_init))
