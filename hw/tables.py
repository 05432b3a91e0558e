"""Small constant tables of the core built from plan rows."""

from __future__ import annotations

from amaranth.hdl import unsigned
from amaranth.lib import data, memory

__all__ = ["field_rom"]


def field_rom(rows: list[dict[str, int]]) -> memory.Memory:
    """A ROM with one entry per row of non-negative ints (one row per layer, say).

    Each field is an unsigned field as wide as its largest value (at least 1 bit); the depth is
    at least 2 (no zero-width address). Read it with ``read_port(domain="comb")`` for an
    asynchronous (LUT) read.
    """
    layout = data.StructLayout({key: unsigned(max(1, max(r[key] for r in rows).bit_length()))
                                for key in rows[0]})
    return memory.Memory(shape=layout, depth=max(2, len(rows)), init=rows)
