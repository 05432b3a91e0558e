"""Typed access to parsed YAML with key-path error messages (shared by the frontends).

Every helper takes the key path of the value (``layers[1].wz``) and the file name, and raises
:class:`fpgac.errors.ModelError` with ``path``, what was expected and what was found.
Booleans are never accepted as numbers (YAML ``true`` is not the integer 1 here).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from fpgac.errors import ModelError

__all__ = ["describe", "key_path", "check_keys", "req_mapping", "req_list", "req_int",
           "req_float", "req_str", "is_int", "is_number"]


def describe(value: object) -> object:
    """A short description of a parsed YAML value for the "found" part of a message."""
    if value is None:
        return "a null value"
    if isinstance(value, Mapping):
        keys = ", ".join(sorted(str(k) for k in value))
        return f"a mapping with keys [{keys}]" if value else "an empty mapping"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 30:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, str) and len(value) > 80:
        return f"a string of {len(value)} characters ({value[:40]!r}...)"
    if isinstance(value, (bool, int, float, str)):
        return value
    return f"a value of type {type(value).__name__}"


def key_path(path: str, key: object) -> str:
    """``path.key``, or ``key`` at the top level (``path == ""``)."""
    return f"{path}.{key}" if path else str(key)


def is_int(value: object) -> bool:
    """True for Python/YAML integers, False for booleans."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """True for integers and floats, False for booleans."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite_number(value: object) -> bool:
    """True for an int or float that is a finite float64 (an int too large for a float64,
    e.g. a 400-digit YAML integer, is not: ``math.isfinite`` would raise on it)."""
    if not is_number(value):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def req_mapping(value: object, path: str, source: str | None, what: str = "a mapping") -> dict:
    if not isinstance(value, dict):
        raise ModelError(path or "(top level)", what, describe(value), source=source)
    return value


def req_list(value: object, path: str, source: str | None, what: str = "a list") -> list:
    if not isinstance(value, list):
        raise ModelError(path, what, describe(value), source=source)
    return value


def check_keys(mapping: Mapping, path: str, source: str | None, required: Iterable[str],
               optional: Iterable[str] = ()) -> None:
    """Reject unknown keys (typos must not pass silently) and report missing required keys."""
    required = list(required)
    allowed = set(required) | set(optional)
    for key in mapping:
        if key not in allowed:
            raise ModelError(key_path(path, key),
                             f"one of the keys {', '.join(sorted(allowed))}",
                             "an unknown key", source=source)
    for key in required:
        if key not in mapping:
            raise ModelError(key_path(path, key), "a required key", "no such key", source=source)


def req_int(mapping: Mapping, key: str, path: str, source: str | None, lo: int | None = None,
            hi: int | None = None, default: int | None = None) -> int:
    """``mapping[key]`` as an int in ``[lo, hi]`` (either bound may be None)."""
    value = mapping.get(key, default)
    where = key_path(path, key)
    if lo is not None and hi is not None:
        what = f"an integer in [{lo}, {hi}]"
    elif lo is not None:
        what = f"an integer >= {lo}"
    elif hi is not None:
        what = f"an integer <= {hi}"
    else:
        what = "an integer"
    if value is None and key not in mapping:
        raise ModelError(where, "a required key", "no such key", source=source)
    if not is_int(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ModelError(where, what, describe(value), source=source)
    return int(value)


def req_float(mapping: Mapping, key: str, path: str, source: str | None, *,
              positive: bool = False, default: float | None = None) -> float:
    """``mapping[key]`` as a finite float (``> 0`` if ``positive``); YAML ints are accepted."""
    value = mapping.get(key, default)
    where = key_path(path, key)
    if value is None and key not in mapping:
        raise ModelError(where, "a required key", "no such key", source=source)
    what = "a finite number > 0" if positive else "a finite number"
    if not is_finite_number(value) or (positive and value <= 0):
        raise ModelError(where, what, describe(value), source=source)
    return float(value)


def req_str(mapping: Mapping, key: str, path: str, source: str | None, *,
            choices: Iterable[str] | None = None, default: str | None = None) -> str:
    """``mapping[key]`` as a non-empty string (one of ``choices`` when given)."""
    value = mapping.get(key, default)
    where = key_path(path, key)
    if value is None and key not in mapping:
        raise ModelError(where, "a required key", "no such key", source=source)
    if choices is not None:
        choices = list(choices)
        if value not in choices or not isinstance(value, str):
            raise ModelError(where, "one of " + ", ".join(repr(c) for c in choices),
                             describe(value), source=source)
    elif not isinstance(value, str) or not value:
        raise ModelError(where, "a non-empty string", describe(value), source=source)
    return value
