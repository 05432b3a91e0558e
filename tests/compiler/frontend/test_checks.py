"""Typed YAML access helpers (``frontend/checks.py``) and the message format of ModelError.

``CASES`` are also run by ``test_raise_sites``.
"""

from __future__ import annotations

import math

import pytest
from frontend_cases import Case, check

from fpgac.compiler.frontend.checks import (check_keys, describe, is_int, is_number, key_path,
                                            req_float, req_int, req_list, req_mapping, req_str)
from fpgac.errors import FpgacError, ModelError

S = "m.yml"
MAP = {"i": 5, "f": 0.5, "s": "conv", "b": True, "n": None, "l": [1], "e": ""}

CASES = [
    Case("mapping", lambda: req_mapping([1, 2], "layers[0]", S),
         "m.yml: layers[0]: expected a mapping, found a list of 2 items"),
    Case("mapping-top", lambda: req_mapping(None, "", S, "a model"),
         "m.yml: (top level): expected a model, found a null value"),
    Case("list", lambda: req_list({"a": 1, "b": 2}, "layers", S),
         "m.yml: layers: expected a list, found a mapping with keys [a, b]"),
    Case("keys-unknown", lambda: check_keys({"a": 1, "zz": 2}, "x", S, ["a"], ["b"]),
         "m.yml: x.zz: expected one of the keys a, b, found an unknown key"),
    Case("keys-missing", lambda: check_keys({"a": 1}, "x", S, ["a", "c"]),
         "m.yml: x.c: expected a required key, found no such key"),
    Case("keys-top", lambda: check_keys({"q": 1}, "", None, ["a"]),
         "q: expected one of the keys a, found an unknown key"),
    Case("int-missing", lambda: req_int(MAP, "zz", "p", S),
         "m.yml: p.zz: expected a required key, found no such key"),
    Case("int-range", lambda: req_int(MAP, "i", "p", S, 0, 3),
         "m.yml: p.i: expected an integer in [0, 3], found 5"),
    Case("int-lo", lambda: req_int(MAP, "i", "p", S, lo=6),
         "m.yml: p.i: expected an integer >= 6, found 5"),
    Case("int-hi", lambda: req_int(MAP, "i", "p", S, hi=4),
         "m.yml: p.i: expected an integer <= 4, found 5"),
    Case("int-bool", lambda: req_int(MAP, "b", "p", S),
         "m.yml: p.b: expected an integer, found True"),
    Case("int-float", lambda: req_int(MAP, "f", "p", S),
         "m.yml: p.f: expected an integer, found 0.5"),
    Case("int-null", lambda: req_int(MAP, "n", "p", S),
         "m.yml: p.n: expected an integer, found a null value"),
    Case("float-missing", lambda: req_float(MAP, "zz", "", S),
         "m.yml: zz: expected a required key, found no such key"),
    Case("float-string", lambda: req_float(MAP, "s", "p", S),
         "m.yml: p.s: expected a finite number, found 'conv'"),
    Case("float-bool", lambda: req_float(MAP, "b", "p", S, positive=True),
         "m.yml: p.b: expected a finite number > 0, found True"),
    Case("float-nan", lambda: req_float({"x": math.nan}, "x", "p", S),
         "m.yml: p.x: expected a finite number, found nan"),
    Case("float-negative", lambda: req_float({"x": -0.0}, "x", "p", S, positive=True),
         "m.yml: p.x: expected a finite number > 0, found -0.0"),
    # an int beyond float64 (math.isfinite would raise OverflowError on it; found by fuzzing)
    Case("float-huge-int", lambda: req_float({"x": 10 ** 400}, "x", "p", S),
         "m.yml: p.x: expected a finite number, found an integer of 1329 bits"),
    Case("str-missing", lambda: req_str(MAP, "zz", "p", S),
         "m.yml: p.zz: expected a required key, found no such key"),
    Case("str-choice", lambda: req_str(MAP, "s", "p", S, choices=["a", "b"]),
         "m.yml: p.s: expected one of 'a', 'b', found 'conv'"),
    Case("str-choice-list", lambda: req_str(MAP, "l", "p", S, choices=["a"]),
         "m.yml: p.l: expected one of 'a', found a list of 1 item"),
    Case("str-empty", lambda: req_str(MAP, "e", "p", S),
         "m.yml: p.e: expected a non-empty string, found ''"),
    Case("str-int", lambda: req_str(MAP, "i", "p", S),
         "m.yml: p.i: expected a non-empty string, found 5"),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_message(case):
    error = check(case)
    assert isinstance(error, ModelError) and isinstance(error, FpgacError)


def test_values_and_defaults():
    assert req_int(MAP, "i", "p", S, 0, 5) == 5
    assert req_int({}, "k", "p", S, 1, default=3) == 3
    assert req_float(MAP, "i", "p", S, positive=True) == 5.0
    assert type(req_float(MAP, "i", "p", S)) is float
    assert req_float({}, "k", "p", S, default=0.5) == 0.5
    assert req_str(MAP, "s", "p", S, choices=["conv"]) == "conv"
    assert req_str({}, "k", "p", S, default="floor") == "floor"
    assert req_mapping({"a": 1}, "", S) == {"a": 1} and req_list([1], "l", S) == [1]
    check_keys({"a": 1, "b": 2}, "", S, ["a"], ["b"])


def test_predicates_and_paths():
    assert is_int(3) and not is_int(True) and not is_int(3.0)
    assert is_number(3) and is_number(2.5) and not is_number(False) and not is_number("1")
    assert key_path("", "wz") == "wz" and key_path("layers[1]", "wz") == "layers[1].wz"
    assert describe(None) == "a null value" and describe({}) == "an empty mapping"
    assert describe({"b": 1, "a": 2}) == "a mapping with keys [a, b]"
    assert describe([]) == "a list of 0 items" and describe([1]) == "a list of 1 item"
    assert describe("x") == "x" and describe(1.5) == 1.5 and describe(True) is True
    assert describe(object()) == "a value of type object"
    assert describe(10 ** 29) == 10 ** 29 and describe(-10 ** 30) == "an integer of 100 bits"
    assert describe("y" * 80) == "y" * 80
    assert describe("y" * 81) == "a string of 81 characters ('" + "y" * 40 + "'...)"


def test_model_error_fields_and_format():
    e = ModelError("layers[2].wz", "an integer in [0, 255]", 300, source="model.yml")
    assert str(e) == "model.yml: layers[2].wz: expected an integer in [0, 255], found 300"
    assert (e.path, e.expected, e.found, e.source) == ("layers[2].wz", "an integer in [0, 255]",
                                                       300, "model.yml")
    assert str(ModelError("p", "x", "abc")) == "p: expected x, found 'abc'"
    # Descriptions ("a ...", "an ...", "shape ...", "no ...") are not quoted; long values are cut.
    for text in ("a list of 3 items", "an unknown key", "shape [1, 2]", "no such key"):
        assert str(ModelError("p", "x", text)).endswith(f"found {text}")
    long = ModelError("p", "x", "y" * 100)
    assert str(long) == "p: expected x, found '" + "y" * 56 + "..."
