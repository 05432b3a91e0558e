"""Tensors in model files: parsing with key-path checks, and the inverse writers.

Layouts (see ``docs/model-format.md``):

* dense: ``{size: [d0, d1, ..], data: nested lists}``;
* COO: ``{size, indices: [[dim-0 indices], [dim-1 indices], ..], values: [..], nnz: N}``, the
  layout of ``torch.sparse_coo_tensor`` (one ``indices`` row per dimension, ``nnz`` columns);
* CSR / CSC (fpgac's own format only): ``{layout: csr|csc, size, indptr, indices, values}`` over
  the 2-D view ``[size[0], prod(size[1:])]`` (rows are output channels; CSC compresses columns).

Entries a sparse layout does not list equal ``fill`` (a weight's zero point ``wz``, 0 for a
bias, 0.0 for float tensors). Integer tensors accept only YAML integers (``true`` is not 1);
float tensors accept finite YAML numbers. Parsing returns ``int64`` / ``float64`` arrays.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Literal

import numpy as np

from fpgac.errors import ModelError

from .checks import check_keys, describe, is_finite_number, is_int, key_path

__all__ = ["parse_tensor", "write_tensor", "LAYOUTS", "LEGACY_LAYOUTS", "MAX_ELEMENTS"]

Kind = Literal["int", "float"]
Layout = Literal["dense", "coo", "csr", "csc"]

LAYOUTS: tuple[str, ...] = ("dense", "coo", "csr", "csc")
LEGACY_LAYOUTS: tuple[str, ...] = ("dense", "coo")

#: Largest tensor (in elements) a model file may declare.
MAX_ELEMENTS = 1 << 28

_KEYS = {
    "dense": ("size", "data"),
    "coo": ("size", "indices", "values", "nnz"),
    "csr": ("size", "indptr", "indices", "values"),
    "csc": ("size", "indptr", "indices", "values"),
}


def _shape_text(layouts: tuple[str, ...]) -> str:
    forms = {"dense": "{size, data}", "coo": "{size, indices, values, nnz}",
             "csr": "{layout: csr, size, indptr, indices, values}",
             "csc": "{layout: csc, ...}"}
    return "a tensor mapping " + " or ".join(forms[layout] for layout in layouts)


def _element_ok(value: object, kind: Kind) -> bool:
    if isinstance(value, bool):
        return False
    if kind == "int":
        return isinstance(value, int) and -(1 << 63) <= value < (1 << 63)
    return is_finite_number(value)


def _element_what(kind: Kind, lo: int | None = None, hi: int | None = None) -> str:
    if kind == "int":
        return f"an integer in [{lo}, {hi}]" if lo is not None and hi is not None else "an integer"
    return "a finite number"


def _index_path(base: str, index: tuple[int, ...]) -> str:
    return base + "".join(f"[{int(i)}]" for i in index)


def _locate_nesting(data: object, size: list[int], path: str, kind: Kind,
                    source: str | None, what: str) -> None:
    """Walk ``data`` to find the first place where nesting or element type is wrong; raise."""
    stack: list[tuple[object, int, str]] = [(data, 0, path)]
    while stack:
        value, depth, where = stack.pop()
        if depth == len(size):
            if not _element_ok(value, kind):
                raise ModelError(where, what, describe(value), source=source)
            continue
        if not isinstance(value, list) or len(value) != size[depth]:
            raise ModelError(where, f"a list of {size[depth]} items (size[{depth}])",
                             describe(value), source=source)
        for i in range(len(value) - 1, -1, -1):
            stack.append((value[i], depth + 1, f"{where}[{i}]"))
    raise AssertionError("unreachable: data looked malformed but no fault was found")


def _nested_array(data: object, size: list[int], path: str, kind: Kind,
                  source: str | None, what: str | None = None) -> np.ndarray:
    """Nested lists of shape ``size`` -> array, or a ModelError locating the first fault."""
    dtype = np.int64 if kind == "int" else np.float64
    arr = None
    if isinstance(data, list):
        try:
            arr = np.array(data, dtype=object if kind == "int" else None)
        except (ValueError, TypeError, OverflowError):
            arr = None
    if arr is not None and list(arr.shape) == list(size):
        flat: object = data
        for _ in range(len(size) - 1):
            flat = itertools.chain.from_iterable(flat)  # type: ignore[arg-type]
        flat = list(flat)  # type: ignore[arg-type]
        types = set(map(type, flat))
        allowed = {int} if kind == "int" else {int, float}
        if types <= allowed:
            try:
                out = np.array(flat, dtype=dtype).reshape(size)
            except OverflowError:
                out = None
            if out is not None and (kind == "int" or np.isfinite(out).all()):
                return out
    _locate_nesting(data, size, path, kind, source, what or _element_what(kind))
    raise AssertionError("unreachable")


def _check_bounds(values: np.ndarray, lo: int | None, hi: int | None, kind: Kind,
                  place: Callable[[tuple[int, ...]], str], source: str | None) -> None:
    if lo is None and hi is None:
        return
    bad = np.zeros(values.shape, dtype=bool)
    if lo is not None:
        bad |= values < lo
    if hi is not None:
        bad |= values > hi
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        value = values[index]
        value = int(value) if kind == "int" else float(value)
        what = f"an integer in [{lo}, {hi}]" if kind == "int" else f"a number in [{lo}, {hi}]"
        raise ModelError(place(index), what, value, source=source)


def _parse_size(obj: dict, path: str, source: str | None) -> list[int]:
    size = obj["size"]
    where = key_path(path, "size")
    if not isinstance(size, list) or not size:
        raise ModelError(where, "a non-empty list of positive integers", describe(size),
                         source=source)
    for i, dim in enumerate(size):
        if not is_int(dim) or dim < 1:
            raise ModelError(f"{where}[{i}]", "a positive integer", describe(dim), source=source)
    count = math.prod(size)
    if count > MAX_ELEMENTS:
        raise ModelError(where, f"at most {MAX_ELEMENTS} elements",
                         f"a size of {count} elements", source=source)
    return list(size)


def _int_list(obj: object, length: int, where: str, what: str, lo: int, hi: int,
              source: str | None) -> np.ndarray:
    """A list of ``length`` integers in ``[lo, hi]`` as int64."""
    if not isinstance(obj, list) or len(obj) != length:
        raise ModelError(where, what, describe(obj), source=source)
    arr = (_nested_array(obj, [length], where, "int", source, f"an integer in [{lo}, {hi}]")
           if length else np.zeros(0, dtype=np.int64))
    _check_bounds(arr, lo, hi, "int", lambda ix: f"{where}[{ix[0]}]", source)
    return arr


def parse_tensor(obj: object, path: str, *, kind: Kind = "int", fill: int | float = 0,
                 layouts: tuple[str, ...] = LEGACY_LAYOUTS, lo: int | None = None,
                 hi: int | None = None, source: str | None = None) -> np.ndarray:
    """Parse a tensor mapping into a dense array.

    Parameters
    ----------
    obj
        The parsed YAML value.
    path
        Its key path, used in every error message (``layers[1].weight``).
    kind
        ``"int"`` (YAML integers only, result ``int64``) or ``"float"`` (finite numbers,
        result ``float64``).
    fill
        Value of the entries a sparse layout does not list.
    layouts
        Accepted layouts. The optional ``layout`` key is accepted only when CSR or CSC are.
    lo, hi
        Inclusive bounds for every stored value (the fill is not checked here).
    source
        File name for messages.

    Raises
    ------
    ModelError
        Wrong keys, sizes, nesting, element types, out-of-range values or indices, duplicate
        coordinates, inconsistent ``nnz``/``indptr``.
    """
    layout, explicit = _layout_of(obj, path, layouts, source)
    check_keys(obj, path, source, _KEYS[layout], ("layout",) if explicit else ())
    size = _parse_size(obj, path, source)
    if layout == "dense":
        where = key_path(path, "data")
        arr = _nested_array(obj["data"], size, where, kind, source, _element_what(kind, lo, hi))
        _check_bounds(arr, lo, hi, kind, lambda ix: _index_path(where, ix), source)
        return arr
    values = _sparse_values(obj, path, layout, size, kind, lo, hi, source)
    if layout == "coo":
        return _coo(obj, path, size, values, fill, source)
    return _compressed(obj, path, layout, size, values, fill, source)


def _layout_of(obj: object, path: str, layouts: tuple[str, ...],
               source: str | None) -> tuple[str, bool]:
    """``(layout, explicit)``: the layout of the tensor mapping ``obj`` (from its ``layout``
    key when CSR/CSC are accepted, else from its keys); ``explicit``: the ``layout`` key is
    allowed."""
    if not isinstance(obj, dict):
        raise ModelError(path, _shape_text(layouts), describe(obj), source=source)
    explicit = "csr" in layouts or "csc" in layouts
    if explicit and "layout" in obj:
        layout = obj["layout"]
        if layout not in layouts:
            raise ModelError(key_path(path, "layout"),
                             "one of " + ", ".join(repr(x) for x in layouts), describe(layout),
                             source=source)
    elif "data" in obj and "dense" in layouts:
        layout = "dense"
    elif ("indices" in obj or "nnz" in obj) and "coo" in layouts and "indptr" not in obj:
        layout = "coo"
    else:
        raise ModelError(path, _shape_text(layouts), describe(obj), source=source)
    return layout, explicit


def _sparse_values(obj: dict, path: str, layout: str, size: list[int], kind: Kind,
                   lo: int | None, hi: int | None, source: str | None) -> np.ndarray:
    """The ``values`` of a sparse layout (checked against ``nnz`` for COO, and ``lo``/``hi``)."""
    values_path = key_path(path, "values")
    if layout == "coo":
        nnz = obj["nnz"]
        count = math.prod(size)
        if not is_int(nnz) or not 0 <= nnz <= count:
            raise ModelError(key_path(path, "nnz"), f"an integer in [0, {count}]", describe(nnz),
                             source=source)
    else:
        nnz = len(obj["values"]) if isinstance(obj["values"], list) else -1
    values_obj = obj["values"]
    if not isinstance(values_obj, list) or (nnz >= 0 and len(values_obj) != nnz):
        what = f"a list of {nnz} values (nnz)" if layout == "coo" else "a list of values"
        raise ModelError(values_path, what, describe(values_obj), source=source)
    values = (_nested_array(values_obj, [nnz], values_path, kind, source,
                            _element_what(kind, lo, hi)) if nnz
              else np.zeros(0, dtype=np.int64 if kind == "int" else np.float64))
    _check_bounds(values, lo, hi, kind, lambda ix: f"{values_path}[{ix[0]}]", source)
    return values


def _coo(obj: dict, path: str, size: list[int], values: np.ndarray, fill: int | float,
         source: str | None) -> np.ndarray:
    """The dense array of a COO mapping whose ``values`` are parsed."""
    nnz = len(values)
    indices_path = key_path(path, "indices")
    rows = obj["indices"]
    if not isinstance(rows, list) or len(rows) != len(size):
        raise ModelError(indices_path, f"a list of {len(size)} rows (one per dimension)",
                         describe(rows), source=source)
    coords = np.zeros((len(size), nnz), dtype=np.int64)
    for d, row in enumerate(rows):
        coords[d] = _int_list(row, nnz, f"{indices_path}[{d}]",
                              f"a list of {nnz} indices (nnz)", 0, size[d] - 1, source)
    linear = np.ravel_multi_index(tuple(coords), size) if nnz else coords[0]
    _reject_duplicates(linear, lambda j: f"{indices_path}[*][{j}]",
                       lambda j: "(" + ", ".join(str(int(c)) for c in coords[:, j]) + ")",
                       source)
    arr = np.full(size, fill, dtype=values.dtype)
    if nnz:
        arr[tuple(coords)] = values
    return arr


def _compressed(obj: dict, path: str, layout: str, size: list[int], values: np.ndarray,
                fill: int | float, source: str | None) -> np.ndarray:
    """The dense array of a CSR / CSC mapping (over the 2-D view ``[rows, cols]``) whose
    ``values`` are parsed."""
    nnz = len(values)
    indices_path = key_path(path, "indices")
    rows_n, cols_n = size[0], math.prod(size[1:])
    outer, inner = (rows_n, cols_n) if layout == "csr" else (cols_n, rows_n)
    indptr_path = key_path(path, "indptr")
    indptr = _int_list(obj["indptr"], outer + 1, indptr_path,
                       f"a list of {outer + 1} integers ({'rows' if layout == 'csr' else 'columns'}"
                       " + 1)", 0, nnz, source)
    if indptr[0] != 0:
        raise ModelError(f"{indptr_path}[0]", "0", int(indptr[0]), source=source)
    steps = np.diff(indptr)
    if (steps < 0).any():
        i = int(np.argmax(steps < 0)) + 1
        raise ModelError(f"{indptr_path}[{i}]", f"an integer >= {int(indptr[i - 1])} "
                         "(indptr is non-decreasing)", int(indptr[i]), source=source)
    if indptr[-1] != nnz:
        raise ModelError(f"{indptr_path}[{outer}]", f"{nnz} (the number of values)",
                         int(indptr[-1]), source=source)
    index = _int_list(obj["indices"], nnz, indices_path,
                      f"a list of {nnz} integers (one per value)", 0, inner - 1, source)
    segment = np.repeat(np.arange(outer, dtype=np.int64), steps)
    linear = segment * inner + index
    unit = "row" if layout == "csr" else "column"
    _reject_duplicates(linear, lambda j: f"{indices_path}[{j}]",
                       lambda j: f"{int(index[j])} again in {unit} {int(segment[j])}", source)
    flat = np.full((rows_n, cols_n), fill, dtype=values.dtype)
    if layout == "csr":
        flat[segment, index] = values
    else:
        flat[index, segment] = values
    return flat.reshape(size)


def _reject_duplicates(linear: np.ndarray, place, show, source: str | None) -> None:
    if linear.size < 2:
        return
    order = np.argsort(linear, kind="stable")
    same = linear[order[1:]] == linear[order[:-1]]
    if same.any():
        dups = order[1:][same]
        j = int(dups.min())
        raise ModelError(place(j), "a coordinate not listed before",
                         f"a duplicate: {show(j)}", source=source)


def write_tensor(arr: np.ndarray, layout: str = "dense", *, fill: int | float = 0,
                 layout_key: bool = False) -> dict:
    """The inverse of :func:`parse_tensor`: a plain-data mapping for ``arr`` in ``layout``.

    Sparse layouts list exactly the entries different from ``fill``, in row-major order (CSC:
    column-major). ``layout_key`` adds ``layout: <name>`` first (fpgac's own format; always
    added for CSR/CSC). Integer arrays are written as ints, others as floats.
    """
    arr = np.asarray(arr)
    if layout not in LAYOUTS:
        raise ValueError(f"unknown tensor layout {layout!r}; expected one of {LAYOUTS}")
    is_integer = np.issubdtype(arr.dtype, np.integer)
    arr = arr.astype(np.int64 if is_integer else np.float64)
    out: dict = {"layout": layout} if (layout_key or layout in ("csr", "csc")) else {}
    out["size"] = [int(d) for d in arr.shape]
    if layout == "dense":
        out["data"] = arr.tolist()
        return out
    if layout == "coo":
        mask = arr != fill
        coords = np.nonzero(mask)
        out["indices"] = [c.tolist() for c in coords]
        out["values"] = arr[mask].tolist()
        out["nnz"] = int(mask.sum())
        return out
    flat = arr.reshape(arr.shape[0], -1)
    if layout == "csc":
        flat = flat.T
    mask = flat != fill
    outer, inner = np.nonzero(mask)
    counts = np.bincount(outer, minlength=flat.shape[0])
    out["indptr"] = [0] + np.cumsum(counts).tolist()
    out["indices"] = inner.tolist()
    out["values"] = flat[mask].tolist()
    return out
