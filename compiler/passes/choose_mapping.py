"""Pass: choose the mapping of a layer onto the lanes (spatial or channel-parallel, raster
window groups, rectangles or one-window slices).

Contract
--------
``choose_mapping(pes, lists, windows, phases, shape=(Hq, Wq), fits=None)`` returns a
:class:`Mapping` ``(a, br, bc)``: ``a`` channel slots, and either ``P // a`` window slots in
raster order (``br = bc = 0``; ``a = 1`` is the spatial mapping) or ``br x bc`` rectangles of
pooled windows (``docs/architecture.md``, "Next: banked activations", build-order step 1),
minimising the estimated cycles of a layer whose output channels have the encoded weight
``lists`` (one per channel), ``windows`` output windows per channel (``Hq x Wq``) and
``phases`` pool phases. Raster order first, as before rectangles: the ``a`` with the fewest
estimated cycles ``sum over groups max(phases * count, n_valid)`` (the lockstep steps, or the
writer drain when it is longer), rounds dealt in descending list length, ties to the smaller
``a``. Then that mapping and every rectangle are priced with the cycle model's issue and
hazard rules (:func:`layer_cycles`: exact compute cycles of the layer; ``n_valid`` counts a
rectangle's valid lanes only) and a rectangle is chosen only if it takes strictly fewer
cycles (ties: the raster mapping, then the smaller ``br``, ``bc``).

Rectangles are priced for window layers (``windows > 1``), with ``a = min(P // (br * bc),
channels)``, ``br <= Hq``, ``bc <= Wq``; ``fits(br, bc)`` (optional) rejects a rectangle
(the compiler's check that the overhanging lanes of partial rectangles read inside the
activation memory).

One-window slices (build-order step 2) are priced for a one-window layer without pool
phases (``windows == 1``, ``phases == 1``) when ``slices`` is given: ``{s: sub}`` for
powers of two ``s > 1``, ``sub[o]`` the ``s`` encoded sub-lists of channel ``o`` (its
weights whose tap falls in slice ``i``). With ``a = min(P // s, channels)`` channel slots a
round costs its channels' longest sub-list (:func:`slice_rounds`: channels dealt in
descending longest sub-list, stable) and drains ``a`` results; the cost is
:func:`layer_cycles`, against the chosen channel-parallel mapping's, and ``s`` is taken only
if strictly faster (ties: ``s = 1``, then the smaller ``s``).
"""

from __future__ import annotations

from typing import NamedTuple

from fpgac.compiler.plan import MIN_POOLED_COUNT

__all__ = ["Mapping", "choose_mapping", "layer_cycles", "mapping_cost", "rect_cost",
           "slice_order", "slice_rounds"]


class Mapping(NamedTuple):
    """``a`` channel slots; ``(br, bc)`` rectangle groups, ``(0, 0)`` raster order; ``s``
    one-window slices (1: none)."""

    a: int
    br: int = 0
    bc: int = 0
    s: int = 1


def choose_mapping(pes: int, lists, windows: int, phases: int, shape=None,
                   fits=None, slices=None) -> Mapping:
    """Return the :class:`Mapping` of a layer (module docstring)."""
    best = None
    for a in range(1, pes + 1):
        if a > len(lists) and a != 1:
            break
        cost = mapping_cost(pes, lists, windows, phases, a)
        if best is None or cost < best[0]:
            best = (cost, Mapping(a))
    if windows == 1 and phases == 1 and slices:
        return _choose_slices(pes, lists, best[1], slices)
    if shape is None or windows <= 1:
        return best[1]
    hq, wq = shape
    a0 = best[1].a
    b0 = pes // a0
    best = (layer_cycles(_raster_groups(lists, windows, phases, a0, b0)), best[1])
    for br in range(1, hq + 1):
        for bc in range(1, min(wq, pes // br) + 1):
            if fits is not None and not fits(br, bc):
                continue
            a = min(pes // (br * bc), len(lists))
            cost = layer_cycles(_rect_groups(lists, (hq, wq), phases, a, br, bc))
            if cost < best[0]:
                best = (cost, Mapping(a, br, bc))
    return best[1]


def _choose_slices(pes: int, lists, base: Mapping, slices) -> Mapping:
    """The one-window mapping: ``base`` (channel-parallel) or ``s`` slices if strictly
    faster (module docstring)."""
    best = (layer_cycles(_raster_groups(lists, 1, 1, base.a, pes // base.a)), base)
    for s in sorted(slices):
        if s <= 1 or s > pes:
            continue
        a = min(pes // s, len(lists))
        cost = layer_cycles(slice_rounds(slices[s], a))
        if cost < best[0]:
            best = (cost, Mapping(a, 0, 0, s))
    return best[1]


def slice_order(sub) -> list[int]:
    """Channels in the order the sliced rounds take them: descending longest sub-list,
    stable (``sub[o]``: channel ``o``'s sub-lists)."""
    return sorted(range(len(sub)), key=lambda o: -max(len(x) for x in sub[o]))


def slice_rounds(sub, a: int):
    """``(steps, n_valid)`` per round of ``a`` channels of the sliced mapping, in order: the
    round's longest sub-list, its channels' results."""
    order = slice_order(sub)
    for r in range(0, len(sub), a):
        chans = order[r:r + a]
        yield max(1, max(len(x) for o in chans for x in sub[o])), len(chans)


def layer_cycles(groups) -> int:
    """Cycles of a layer's groups ``(steps, n_valid)`` by the cycle model's issue and hazard
    rules (:mod:`fpgac.compiler.analysis.cycles`): from its first issue to the end of its
    last group's drain (the pipeline latencies and the barrier are the same for every
    mapping, so this orders the mappings of a layer by their exact compute cycles)."""
    t, u, v = 0, None, 0
    for n, nv in groups:
        u = t + n - 1 if u is None else max(t + n - 1, u + v)
        v = nv
        t = u + 1
    return u + v


def _raster_groups(lists, windows: int, phases: int, a: int, b: int):
    """``(steps, n_valid)`` of the raster mapping's groups, in order."""
    for nch, count in _rounds(lists, a, sort=a > 1, phases=phases):
        for g in range(0, windows, b):
            yield phases * count, nch * min(b, windows - g)


def _rect_groups(lists, shape, phases: int, a: int, br: int, bc: int):
    """``(steps, n_valid)`` of the ``br x bc`` rectangle mapping's groups, in order."""
    hq, wq = shape
    valid = [min(br, hq - r) * min(bc, wq - c)
             for r in range(0, hq, br) for c in range(0, wq, bc)]
    for nch, count in _rounds(lists, a, sort=a > 1, phases=phases):
        for nv in valid:
            yield phases * count, nch * nv


def _rounds(lists, a: int, sort: bool = True, phases: int = 1):
    """Per round of ``a`` channels (descending list length; channel order if not ``sort``,
    as :mod:`.emit_tables` deals them): ``(channels, count)``, ``count`` at least
    ``MIN_POOLED_COUNT`` for a layer with pool ``phases`` (as emitted)."""
    least = MIN_POOLED_COUNT if phases > 1 else 1
    order = list(range(len(lists)))
    if sort:
        order.sort(key=lambda o: -len(lists[o]))
    for r in range(0, len(lists), a):
        chans = order[r:r + a]
        yield len(chans), max(least, max(len(lists[o]) for o in chans))


def mapping_cost(pes: int, lists, windows: int, phases: int, a: int) -> int:
    """Estimated cycles of the ``a`` channel slots x ``P // a`` window slots mapping (raster
    window groups)."""
    b = pes // a
    cost = 0
    for nch, count in _rounds(lists, a, phases=phases):
        for g in range(0, windows, b):
            cost += max(phases * count, nch * min(b, windows - g))
    return cost


def rect_cost(lists, shape, phases: int, a: int, br: int, bc: int) -> int:
    """Exact cycles (:func:`layer_cycles`) of ``a`` channel slots x ``br x bc`` rectangles
    over ``shape = (Hq, Wq)`` windows (a partial rectangle drains its valid lanes only)."""
    return layer_cycles(_rect_groups(lists, shape, phases, a, br, bc))
