"""Pass: choose the mapping of a layer onto the lanes (spatial or channel-parallel).

Contract
--------
``choose_mapping(pes, lists, windows, phases)`` returns ``a``, the channel slots (``P // a``
window slots each; ``a = 1`` is the spatial mapping) minimising the estimated cycles of a
layer whose output channels have the encoded weight ``lists`` (one per channel), ``windows``
output windows per channel and ``phases`` pool phases: ``sum over groups max(phases * count,
n_valid)`` (the lockstep steps, or the writer drain when it is longer), rounds dealt in
descending list length. Ties go to the smaller ``a``.
"""

from __future__ import annotations

__all__ = ["choose_mapping", "mapping_cost"]


def choose_mapping(pes: int, lists, windows: int, phases: int) -> int:
    """Return ``a`` (channel slots) minimising the estimated cycles of a layer."""
    best = None
    for a in range(1, pes + 1):
        if a > len(lists) and a != 1:
            break
        cost = mapping_cost(pes, lists, windows, phases, a)
        if best is None or cost < best[0]:
            best = (cost, a)
    return best[1]


def mapping_cost(pes: int, lists, windows: int, phases: int, a: int) -> int:
    """Estimated cycles of the ``a`` channel slots x ``P // a`` window slots mapping."""
    order = sorted(range(len(lists)), key=lambda o: -len(lists[o]))
    b = pes // a
    cost = 0
    for r in range(0, len(lists), a):
        chans = order[r:r + a]
        count = max(1, max(len(lists[o]) for o in chans))
        for g in range(0, windows, b):
            cost += max(phases * count, len(chans) * min(b, windows - g))
    return cost
