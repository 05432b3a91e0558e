"""Tensor layouts: dense, COO, CSR, CSC parsing (with key-path errors) and their writers."""

import numpy as np
import pytest

from fpgac.compiler.frontend.tensors import LAYOUTS, parse_tensor, write_tensor
from fpgac.compiler.frontend.yamlio import dump_yaml, load_yaml
from fpgac.errors import ModelError

ALL = LAYOUTS
P = "layers[1].weight"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(4, 3, 2, 2), (5, 7), (6,), (1, 1, 1, 1)])
def test_round_trip_int(layout, shape):
    rng = np.random.default_rng(hash((layout, shape)) % 2**32)
    fill = 7
    arr = rng.integers(0, 255, size=shape)
    arr[rng.random(shape) < 0.7] = fill
    obj = load_yaml(dump_yaml(write_tensor(arr, layout, fill=fill)))
    back = parse_tensor(obj, P, fill=fill, layouts=ALL, lo=0, hi=255)
    assert back.dtype == np.int64 and back.shape == shape and (back == arr).all()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_round_trip_float(layout):
    rng = np.random.default_rng(1)
    arr = rng.normal(size=(3, 2, 3, 3))
    arr[rng.random(arr.shape) < 0.5] = 0.0
    obj = load_yaml(dump_yaml(write_tensor(arr, layout)))
    back = parse_tensor(obj, P, kind="float", fill=0.0, layouts=ALL)
    assert back.dtype == np.float64 and (back == arr).all()


def test_all_fill_and_layout_key():
    arr = np.full((2, 3), 5)
    coo = write_tensor(arr, "coo", fill=5)
    assert coo == {"size": [2, 3], "indices": [[], []], "values": [], "nnz": 0}
    assert (parse_tensor(coo, P, fill=5) == 5).all()
    csr = write_tensor(arr, "csr", fill=5)
    assert csr == {"layout": "csr", "size": [2, 3], "indptr": [0, 0, 0], "indices": [],
                   "values": []}
    assert (parse_tensor(csr, P, fill=5, layouts=ALL) == 5).all()
    assert write_tensor(arr, "dense", layout_key=True) == {
        "layout": "dense", "size": [2, 3], "data": [[5, 5, 5], [5, 5, 5]]}


def test_coo_missing_entries_are_fill():
    obj = {"size": [2, 2], "indices": [[0, 1], [1, 0]], "values": [3, 4], "nnz": 2}
    assert parse_tensor(obj, P, fill=9).tolist() == [[9, 3], [4, 9]]


def test_csc_layout():
    obj = {"layout": "csc", "size": [2, 3], "indptr": [0, 1, 1, 3], "indices": [1, 0, 1],
           "values": [5, 6, 7]}
    assert parse_tensor(obj, P, layouts=ALL).tolist() == [[0, 0, 6], [5, 0, 7]]


def test_float_tensor_accepts_ints_and_rejects_inf():
    assert parse_tensor({"size": [2], "data": [1, 2.5]}, P, kind="float").tolist() == [1.0, 2.5]
    with pytest.raises(ModelError) as info:
        parse_tensor({"size": [2], "data": [1.0, float("inf")]}, P, kind="float")
    assert str(info.value) == f"{P}.data[1]: expected a finite number, found inf"


D = {"size": [2, 2], "data": [[1, 2], [3, 4]]}
C = {"size": [2, 3], "indices": [[0, 1], [2, 0]], "values": [10, 20], "nnz": 2}
R = {"layout": "csr", "size": [2, 3], "indptr": [0, 1, 2], "indices": [2, 0], "values": [1, 2]}


def m(base, **changes):
    out = dict(base)
    for k, v in changes.items():
        if v is ...:
            del out[k]
        else:
            out[k] = v
    return out


CASES = [
    ("not-mapping", 5, f"{P}: expected a tensor mapping {{size, data}} or {{size, indices, "
     "values, nnz}, found 5"),
    ("no-form", {"size": [2]}, f"{P}: expected a tensor mapping {{size, data}} or {{size, "
     "indices, values, nnz}, found a mapping with keys [size]"),
    ("unknown-key", m(D, extra=1), f"{P}.extra: expected one of the keys data, size, found an "
     "unknown key"),
    ("missing-size", m(D, size=...), f"{P}.size: expected a required key, found no such key"),
    ("size-str", m(D, size="a"), f"{P}.size: expected a non-empty list of positive integers, "
     "found 'a'"),
    ("size-empty", m(D, size=[]), f"{P}.size: expected a non-empty list of positive integers, "
     "found a list of 0 items"),
    ("size-zero", m(D, size=[2, 0]), f"{P}.size[1]: expected a positive integer, found 0"),
    ("size-bool", m(D, size=[True, 2]), f"{P}.size[0]: expected a positive integer, found True"),
    ("size-huge", m(D, size=[1 << 20, 1 << 20]), f"{P}.size: expected at most 268435456 "
     "elements, found a size of 1099511627776 elements"),
    ("data-short", m(D, data=[[1, 2]]), f"{P}.data: expected a list of 2 items (size[0]), "
     "found a list of 1 item"),
    ("data-ragged", m(D, data=[[1, 2], [3]]), f"{P}.data[1]: expected a list of 2 items "
     "(size[1]), found a list of 1 item"),
    ("data-deep", m(D, data=[[1, 2], [3, [4]]]), f"{P}.data[1][1]: expected an integer in "
     "[0, 255], found a list of 1 item"),
    ("data-bool", m(D, data=[[1, True], [3, 4]]), f"{P}.data[0][1]: expected an integer in "
     "[0, 255], found True"),
    ("data-float", m(D, data=[[1, 2], [3.0, 4]]), f"{P}.data[1][0]: expected an integer in "
     "[0, 255], found 3.0"),
    ("data-str", m(D, data=[[1, 2], [3, "x"]]), f"{P}.data[1][1]: expected an integer in "
     "[0, 255], found 'x'"),
    ("data-null", m(D, data=None), f"{P}.data: expected a list of 2 items (size[0]), found a "
     "null value"),
    ("data-range", m(D, data=[[1, 2], [300, 4]]), f"{P}.data[1][0]: expected an integer in "
     "[0, 255], found 300"),
    ("data-negative", m(D, data=[[1, -2], [3, 4]]), f"{P}.data[0][1]: expected an integer in "
     "[0, 255], found -2"),
    ("data-bigint", m(D, data=[[1, 2], [3, 1 << 70]]), f"{P}.data[1][1]: expected an integer "
     "in [0, 255], found 1180591620717411303424"),
    ("nnz-str", m(C, nnz="2"), f"{P}.nnz: expected an integer in [0, 6], found '2'"),
    ("nnz-big", m(C, nnz=7), f"{P}.nnz: expected an integer in [0, 6], found 7"),
    ("values-len", m(C, values=[10]), f"{P}.values: expected a list of 2 values (nnz), found a "
     "list of 1 item"),
    ("values-range", m(C, values=[10, 256]), f"{P}.values[1]: expected an integer in [0, 255], "
     "found 256"),
    ("values-bool", m(C, values=[False, 1]), f"{P}.values[0]: expected an integer in [0, 255], "
     "found False"),
    ("indices-rows", m(C, indices=[[0, 1]]), f"{P}.indices: expected a list of 2 rows (one per "
     "dimension), found a list of 1 item"),
    ("indices-len", m(C, indices=[[0, 1], [2]]), f"{P}.indices[1]: expected a list of 2 indices "
     "(nnz), found a list of 1 item"),
    ("indices-range", m(C, indices=[[0, 1], [2, 3]]), f"{P}.indices[1][1]: expected an integer "
     "in [0, 2], found 3"),
    ("indices-negative", m(C, indices=[[0, -1], [2, 0]]), f"{P}.indices[0][1]: expected an "
     "integer in [0, 1], found -1"),
    ("indices-float", m(C, indices=[[0, 1.0], [2, 0]]), f"{P}.indices[0][1]: expected an integer "
     "in [0, 1], found 1.0"),
    ("coo-duplicate", m(C, indices=[[1, 1], [0, 0]]), f"{P}.indices[*][1]: expected a "
     "coordinate not listed before, found a duplicate: (1, 0)"),
    ("layout-legacy", m(R), f"{P}: expected a tensor mapping {{size, data}} or {{size, indices, "
     "values, nnz}, found a mapping with keys [indices, indptr, layout, size, values]"),
]

OWN_CASES = [
    ("layout-bad", m(R, layout="bsr"), f"{P}.layout: expected one of 'dense', 'coo', 'csr', "
     "'csc', found 'bsr'"),
    ("csr-nnz-key", m(R, nnz=2), f"{P}.nnz: expected one of the keys indices, indptr, layout, "
     "size, values, found an unknown key"),
    ("indptr-len", m(R, indptr=[0, 2]), f"{P}.indptr: expected a list of 3 integers (rows + 1), "
     "found a list of 2 items"),
    ("indptr-start", m(R, indptr=[1, 1, 2]), f"{P}.indptr[0]: expected 0, found 1"),
    ("indptr-decreasing", m(R, indptr=[0, 2, 1], values=[1, 2]), f"{P}.indptr[2]: expected an "
     "integer >= 2 (indptr is non-decreasing), found 1"),
    ("indptr-end", m(R, indptr=[0, 1, 1]), f"{P}.indptr[2]: expected 2 (the number of values), "
     "found 1"),
    ("indptr-range", m(R, indptr=[0, 1, 3]), f"{P}.indptr[2]: expected an integer in [0, 2], "
     "found 3"),
    ("csr-indices-len", m(R, indices=[2]), f"{P}.indices: expected a list of 2 integers (one "
     "per value), found a list of 1 item"),
    ("csr-indices-range", m(R, indices=[3, 0]), f"{P}.indices[0]: expected an integer in "
     "[0, 2], found 3"),
    ("csr-duplicate", m(R, indptr=[0, 2, 2], indices=[1, 1]), f"{P}.indices[1]: expected a "
     "coordinate not listed before, found a duplicate: 1 again in row 0"),
    ("csc-indptr-len", m(R, layout="csc"), f"{P}.indptr: expected a list of 4 integers "
     "(columns + 1), found a list of 3 items"),
    ("csc-duplicate", {"layout": "csc", "size": [2, 1], "indptr": [0, 2], "indices": [0, 0],
                       "values": [1, 2]}, f"{P}.indices[1]: expected a coordinate not listed "
     "before, found a duplicate: 0 again in column 0"),
]


@pytest.mark.parametrize("obj, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_legacy_layout_errors(obj, message):
    with pytest.raises(ModelError) as info:
        parse_tensor(obj, P, lo=0, hi=255)
    assert str(info.value) == message


@pytest.mark.parametrize("obj, message", [c[1:] for c in OWN_CASES],
                         ids=[c[0] for c in OWN_CASES])
def test_own_layout_errors(obj, message):
    with pytest.raises(ModelError) as info:
        parse_tensor(obj, P, lo=0, hi=255, layouts=ALL)
    assert str(info.value) == message


def test_error_names_source():
    with pytest.raises(ModelError) as info:
        parse_tensor(m(D, data=[[1, 2], [3, 999]]), P, lo=0, hi=255, source="m.yml")
    assert str(info.value) == f"m.yml: {P}.data[1][1]: expected an integer in [0, 255], found 999"
    assert info.value.path == f"{P}.data[1][1]" and info.value.found == 999
