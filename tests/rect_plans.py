"""Plans with rectangle window groups forced (``docs/architecture.md``, "Next: banked
activations", build-order step 1): the compiler chooses rectangles only where they win, so
the tests of the hardware force them on random models and LeNet-5 (tests import this module:
``tests/`` is on ``sys.path`` through its ``conftest.py``)."""

from __future__ import annotations


def rect_picker(seed: int):
    """A ``pick(shape, pes, channels, fits)`` for :func:`rect_plan`: a random ``br x bc``
    rectangle that fits, preferring ones that divide neither ``Hq`` nor ``Wq`` (partial
    rectangles at the right and bottom edges, invalid lanes in the middle of the lane order),
    with ``a = min(P // (br * bc), channels)``; ``None`` (the compiler's choice) if none
    fits."""
    import numpy as np

    from fpgac.compiler.passes.choose_mapping import Mapping

    rng = np.random.default_rng(seed)

    def pick(shape, pes, channels, fits):
        hq, wq = shape
        options = [(br, bc) for br in range(1, hq + 1) for bc in range(1, wq + 1)
                   if br * bc <= pes and fits(br, bc)]
        if not options:
            return None
        both = [(br, bc) for br, bc in options if hq % br and wq % bc]
        either = [(br, bc) for br, bc in options if hq % br or wq % bc]
        pool = both or either or options
        br, bc = pool[int(rng.integers(len(pool)))]
        return Mapping(min(pes // (br * bc), channels), br, bc)
    return pick


def rect_plan(model, pes: int, pick, **kwargs):
    """``plan_hardware(model, pes=pes, ...)`` with the window layers' mapping forced to
    ``pick(shape, pes, channels, fits)`` (a :class:`~fpgac.compiler.passes.choose_mapping.
    Mapping`, or ``None`` for the compiler's own choice): rectangle groups where the compiler
    would not choose them."""
    import fpgac.compiler.passes.lower_to_plan as lower
    from fpgac.compiler.plan import plan_hardware
    from fpgac.sim.preprocess import pixel_table

    real = lower.choose_mapping

    def forced(pes_, lists, windows, phases, shape=None, fits=None, slices=None):
        got = pick(shape, pes_, len(lists), fits) if windows > 1 else None
        return (real(pes_, lists, windows, phases, shape, fits, slices) if got is None
                else got)

    lower.choose_mapping = forced
    try:
        return plan_hardware(model, pes=pes, pixel_lut=pixel_table(model), **kwargs)
    finally:
        lower.choose_mapping = real


def slice_plan(model, pes: int, pick, **kwargs):
    """``plan_hardware(model, pes=pes, ...)`` with the one-window layers' slices forced:
    ``pick(options, channels)`` gets the slice counts the compiler prices for the layer
    (powers of two ``1 < s <= P``, a non-empty list if the layer can be sliced) and returns
    ``s`` (``a = min(P // s, channels)``), or ``None`` for the compiler's own choice (build-
    order step 2: the compiler slices only where it wins)."""
    import fpgac.compiler.passes.lower_to_plan as lower
    from fpgac.compiler.passes.choose_mapping import Mapping
    from fpgac.compiler.plan import plan_hardware
    from fpgac.sim.preprocess import pixel_table

    real = lower.choose_mapping

    def forced(pes_, lists, windows, phases, shape=None, fits=None, slices=None):
        s = pick(sorted(slices), len(lists)) if slices else None
        if s is None:
            return real(pes_, lists, windows, phases, shape, fits, slices)
        return Mapping(min(pes_ // s, len(lists)), 0, 0, s)

    lower.choose_mapping = forced
    try:
        return plan_hardware(model, pes=pes, pixel_lut=pixel_table(model), **kwargs)
    finally:
        lower.choose_mapping = real


def slice_picker(seed: int):
    """A ``pick(options, channels)`` for :func:`slice_plan`: a random slice count among the
    options (the largest one first, so that a two-stage tree and unused lanes show up)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    state = {"first": True}

    def pick(options, channels):
        if state["first"]:
            state["first"] = False
            return options[-1]
        return options[int(rng.integers(len(options)))]
    return pick
