"""Range checks for memory contents (Amaranth only warns when an ``init`` value does not fit)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["check_unsigned", "check_signed"]


def check_unsigned(what: str, values: Iterable[int], bits: int) -> list[int]:
    """Return ``values`` as a list of ints after checking each is in ``[0, 2**bits)``.

    Raises
    ------
    ValueError
        Naming ``what``, the index, the allowed range and the value found.
    """
    out = []
    for i, v in enumerate(values):
        v = int(v)
        if not 0 <= v < 2**bits:
            raise ValueError(f"{what}[{i}]: expected an integer in [0, {2**bits - 1}], found {v}")
        out.append(v)
    return out


def check_signed(what: str, values: Iterable[int], bits: int) -> list[int]:
    """Like :func:`check_unsigned` for two's complement ``[-2**(bits-1), 2**(bits-1))``."""
    out = []
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    for i, v in enumerate(values):
        v = int(v)
        if not lo <= v <= hi:
            raise ValueError(f"{what}[{i}]: expected an integer in [{lo}, {hi}], found {v}")
        out.append(v)
    return out
