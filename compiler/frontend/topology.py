"""The readings of a legacy file: every LeNet-style topology its weight shapes allow.

A legacy ``int_values`` file lists weighted layers only (``legacy-format.md``, "What the files
do NOT say"). The LeNet-style family it belongs to leaves two things open per file:

* the **first** conv's padding: ``0`` or ``(k-1)/2`` (only for an odd kernel); later convs are
  unpadded;
* after each conv, a 2x2 / stride-2 max-pool (floor) **or not**; a pool is allowed only while
  the conv's output is larger than 1x1.

Everything else is fixed: stride-1 square convs, ReLU after every layer but the last, a flatten
(channel-major) after the last conv and its pool, a chain of linear layers, a 28x28 input.

:func:`enumerate_readings` lists every combination (a :class:`Reading`), and for each one
either the shapes it gives or the first layer where the shapes do not chain
(:class:`Mismatch`). A loader keeps the readings that chain: exactly one is loaded, none or
several are refused (``legacy.py``); it never picks one of several.

The user can state (part of) the topology, as ``fpgac convert --padding/--pool`` does: a
``padding`` tuple (one entry per conv, any value >= 0, which also allows later convs to be
padded: outside the family, so only when stated) and a ``pool`` tuple of booleans. Stated parts
are not enumerated; a stated pool after a 1x1 output is a mismatch.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Reading", "Mismatch", "Outcome", "enumerate_readings", "describe_reading",
           "convert_flags", "LEGACY_INPUT_SIZE"]

#: Height and width of the input image the legacy family assumes (MNIST).
LEGACY_INPUT_SIZE = 28

#: At most this many convs are enumerated (2 * 2^convs readings).
MAX_CONVS = 12


@dataclass(frozen=True)
class Reading:
    """One topology of the family: per conv, its padding and whether a max-pool follows."""

    padding: tuple[int, ...]
    pool: tuple[bool, ...]


@dataclass(frozen=True)
class Mismatch:
    """Where a reading's shapes stop chaining: ``layers[index]``, key path, expected, found."""

    index: int
    key: str
    expected: str
    found: object


@dataclass(frozen=True)
class Outcome:
    """A reading and what it gives: ``shapes`` (after every weighted layer) or a mismatch.

    ``shapes[j]`` is the output of ``layers[j]`` after its pool: ``(C, H, W)`` or ``(N,)``;
    ``flat`` is the flattened size fed to the first linear layer (``None`` without one).
    """

    reading: Reading
    shapes: tuple[tuple[int, ...], ...] | None
    flat: int | None
    mismatch: Mismatch | None

    @property
    def chains(self) -> bool:
        return self.mismatch is None


def _shape_text(shape: Sequence[int]) -> str:
    if len(shape) == 3:
        return f"{shape[0]}x{shape[1]}x{shape[2]}"
    return str(shape[0])


def _walk(weights: Sequence[tuple[int, ...]], reading: Reading, size: int) -> Outcome:
    convs = [j for j, s in enumerate(weights) if len(s) == 4]
    channels = weights[0][1] if weights and len(weights[0]) == 4 else 1
    shape: tuple[int, ...] = (channels, size, size)
    shapes: list[tuple[int, ...]] = []
    flat = None

    def fail(j: int, key: str, expected: str, found: object) -> Outcome:
        return Outcome(reading, None, None, Mismatch(j, key, expected, found))

    for j, w in enumerate(weights):
        if len(w) == 4:
            c = convs.index(j)
            pad = reading.padding[c]
            if len(shape) != 3:
                return fail(j, "weight.size", "a linear layer (convs come first)", list(w))
            if w[1] != shape[0]:
                return fail(j, "weight.size[1]", f"{shape[0]} (the channels of the previous "
                            "output)", w[1])
            k = w[2]
            span = shape[1] + 2 * pad
            if k > span:
                return fail(j, "weight.size[2]", f"a kernel of at most {span} (a "
                            f"{shape[1]}x{shape[2]} input with padding {pad})", k)
            side = span - k + 1
            if reading.pool[c]:
                if side < 2:
                    return fail(j, "pool", "an output larger than 1x1 before a 2x2 max-pool",
                                f"{side}x{side}")
                side //= 2
            shape = (w[0], side, side)
            if c == len(convs) - 1:
                flat = shape[0] * shape[1] * shape[2]
        else:
            if len(shape) == 3:
                shape = (shape[0] * shape[1] * shape[2],)
                flat = shape[0]
            if w[1] != shape[0]:
                return fail(j, "weight.size[1]", f"{shape[0]}", w[1])
            shape = (w[0],)
        shapes.append(shape)
    return Outcome(reading, tuple(shapes), flat, None)


def enumerate_readings(weights: Sequence[Sequence[int]], *,
                       padding: Sequence[int] | None = None,
                       pool: Sequence[bool] | None = None,
                       size: int = LEGACY_INPUT_SIZE) -> list[Outcome]:
    """Every reading of the family (within what is stated) and what each one gives.

    Parameters
    ----------
    weights
        The weight shapes of the file's layers, in order (4-D conv, 2-D linear; every conv
        before every linear: the loader has checked this).
    padding, pool
        Stated parts of the topology, one entry per conv (``None``: enumerate them).
    size
        Input height and width.

    Returns
    -------
    list of Outcome
        In a fixed order (first-conv padding ascending, then pool patterns with pools first),
        without duplicates (a 1x1 first kernel has one padding). Readings with a pool after a
        1x1 output are not in the family and are left out unless ``pool`` states them.

    Raises
    ------
    ValueError
        When ``padding`` / ``pool`` do not have one entry per conv, or there are more than
        ``MAX_CONVS`` convs.
    """
    weights = [tuple(int(d) for d in w) for w in weights]
    n_convs = sum(1 for w in weights if len(w) == 4)
    if n_convs > MAX_CONVS:
        raise ValueError(f"at most {MAX_CONVS} convs can be enumerated, found {n_convs}")
    for name, given in (("padding", padding), ("pool", pool)):
        if given is not None and len(given) != n_convs:
            raise ValueError(f"{name}: expected {n_convs} entries (one per conv), "
                             f"found {len(given)}")
    if padding is not None:
        pad_options = [tuple(int(p) for p in padding)]
    elif n_convs:
        k = weights[0][2]
        firsts = sorted({0, (k - 1) // 2} if k % 2 else {0})
        pad_options = [(p,) + (0,) * (n_convs - 1) for p in firsts]
    else:
        pad_options = [()]
    if pool is not None:
        pool_options = [tuple(bool(p) for p in pool)]
    else:
        pool_options = list(itertools.product((True, False), repeat=n_convs))
    out: list[Outcome] = []
    for pads in pad_options:
        for pools in pool_options:
            outcome = _walk(weights, Reading(pads, pools), size)
            m = outcome.mismatch
            if pool is None and m is not None and m.key == "pool":
                continue      # not a member of the family
            out.append(outcome)
    return out


def describe_reading(reading: Reading, names: Sequence[str]) -> str:
    """``conv1 pad 2 + pool, conv2 + pool, conv3`` (``names``: the convs' layer names)."""
    parts = []
    for name, pad, pool in zip(names, reading.padding, reading.pool):
        text = name + (f" pad {pad}" if pad else "")
        parts.append(text + (" + pool" if pool else ""))
    return ", ".join(parts) if parts else "no conv"


def convert_flags(reading: Reading, names: Sequence[str]) -> str:
    """The ``fpgac convert`` options that state ``reading``: ``--padding 2,0,0 --pool conv1,...``."""
    if not names:
        return ""
    pools = [n for n, p in zip(names, reading.pool) if p]
    return (f"--padding {','.join(str(p) for p in reading.padding)} "
            f"--pool {','.join(pools) if pools else 'none'}")


def outcome_text(outcome: Outcome, names: Sequence[str], layer_names: Sequence[str]) -> str:
    """What a reading gives, for messages: its flattened size or where it stops chaining."""
    head = describe_reading(outcome.reading, names)
    m = outcome.mismatch
    if m is None:
        return f"{head}: chains" + (f" (flatten {outcome.flat})" if outcome.flat else "")
    return (f"{head}: layers[{m.index}] ({layer_names[m.index]}).{m.key} expected {m.expected},"
            f" found {m.found}")
