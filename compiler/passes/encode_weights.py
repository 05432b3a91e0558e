"""Pass: encode each output's non-zero weights as a compact list of bank entries.

Contract
--------
An output channel's non-zero weights are a list of ``(w, tap)`` with ``w != wz`` the raw
``n``-bit weight and ``tap`` strictly increasing non-negative address offsets (in the padded
input map). :func:`encode_list` turns it into entries ``(w, gap, last)``
(``docs/architecture.md``, "Entry format"):

* the decoder's offset starts at ``-1``;
* an entry with ``w != wz`` is a weight: offset ``+= gap + 1``, then it reads ``tap = offset``;
* an entry with ``w == wz`` is a filler: ``d = 0``, offset ``+= (gap + 1) << g``;
* ``last = 1`` on the final entry of the list;
* an empty list (all-zero filter) is the single filler ``(wz, 0, 1)``.

A bank presents offset 0 with ``d = 0`` for a filler (and when it has no entry), and a weight's
tap otherwise, so every address a lane reads is inside its window. :func:`decode_list` is the exact inverse
(used by the tests and by nothing in hardware). :func:`choose_gap_bits` picks ``g`` in
``1..8``: the fewest entries among the fields within 5 % of the least stored bits.
"""

from __future__ import annotations

__all__ = ["encode_list", "decode_list", "entries_count", "choose_gap_bits", "MAX_GAP_BITS"]

#: Largest gap field tried by :func:`choose_gap_bits`.
MAX_GAP_BITS = 8


def encode_list(weights, wz: int, gap_bits: int) -> list[tuple[int, int, int]]:
    """Entries ``(w, gap, last)`` of one list ``[(w, tap), ...]`` (module docstring).

    Raises
    ------
    ValueError
        If a weight equals ``wz``, taps are not strictly increasing from 0, or ``gap_bits``
        is not in ``1..16``.
    """
    g = int(gap_bits)
    if not 1 <= g <= 16:
        raise ValueError(f"gap_bits: expected an integer in [1, 16], found {gap_bits}")
    span = 1 << g
    out: list[tuple[int, int, int]] = []
    prev = -1
    for w, tap in weights:
        w, tap = int(w), int(tap)
        if w == wz:
            raise ValueError(f"encode_list: weight {w} at tap {tap} equals the zero point")
        if tap <= prev:
            raise ValueError(f"encode_list: taps must increase from 0, found {tap} after {prev}")
        q, r = divmod(tap - prev - 1, span)
        while q:
            f = min(q, span)
            out.append((int(wz), f - 1, 0))
            q -= f
        out.append((w, r, 0))
        prev = tap
    if not out:
        out.append((int(wz), 0, 0))
    w, gap, _ = out[-1]
    out[-1] = (w, gap, 1)
    return out


def decode_list(entries, wz: int, gap_bits: int) -> list[tuple[int, int]]:
    """The ``(w, tap)`` weights of ``entries`` (inverse of :func:`encode_list`)."""
    off = -1
    out = []
    for w, gap, _last in entries:
        if w == wz:
            off += (gap + 1) << gap_bits
        else:
            off += gap + 1
            out.append((w, off))
    return out


def entries_count(taps, gap_bits: int) -> int:
    """Number of entries :func:`encode_list` makes for a list with these taps."""
    span = 1 << gap_bits
    n = 0
    prev = -1
    for tap in taps:
        q = (tap - prev - 1) >> gap_bits
        n += 1 + -(-q // span)
        prev = tap
    return max(n, 1)


#: :func:`choose_gap_bits` accepts this much more storage for fewer entries (fillers cost
#: cycles as well as bits).
BITS_SLACK = 0.05


def choose_gap_bits(tap_lists, w_bits: int) -> int:
    """``g`` in ``1..MAX_GAP_BITS``: among the fields whose stored bits
    ``sum(entries_count) * (w_bits + g)`` are within :data:`BITS_SLACK` of the least, the one
    with the fewest entries (fillers are steps); ties: the smaller ``g``."""
    costs = []
    for g in range(1, MAX_GAP_BITS + 1):
        entries = sum(entries_count(t, g) for t in tap_lists)
        costs.append((entries * (w_bits + g), entries, g))
    least = min(c[0] for c in costs)
    return min((c for c in costs if c[0] <= least * (1 + BITS_SLACK)),
               key=lambda c: (c[1], c[2]))[2]
