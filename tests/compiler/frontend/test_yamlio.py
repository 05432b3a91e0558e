"""Hardened YAML I/O: safe tags only, duplicate keys, size cap, alias bombs, syntax errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpgac.compiler.frontend import dump_yaml, load_yaml
from fpgac.errors import FpgacError, ModelError

PLAIN = "plain YAML data (mappings, lists, strings, numbers, booleans, null)"


def error(text, **kw):
    with pytest.raises(FpgacError) as info:
        load_yaml(text, **kw)
    return str(info.value)


def test_plain_data_loads():
    text = "a: 1\nb: [1, 2.5, -3]\nc: {d: null, e: true, f: 'x'}\n"
    assert load_yaml(text) == {"a": 1, "b": [1, 2.5, -3], "c": {"d": None, "e": True, "f": "x"}}
    assert load_yaml("\n") is None


def test_file_and_pathlike(tmp_path):
    p = tmp_path / "m.yml"
    p.write_text("x: [1, 2]\n")
    assert load_yaml(p) == {"x": [1, 2]}
    assert load_yaml(str(p)) == {"x": [1, 2]}


def test_aliases_and_merge_keys_are_plain_data():
    assert load_yaml("a: &a [1, 2]\nb: *a\n") == {"a": [1, 2], "b": [1, 2]}
    assert load_yaml("base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n")["m"] == {"x": 1, "y": 2}


@pytest.mark.parametrize("text, message", [
    ("a: 1\na: 2\n",
     "<string>: a: expected each key at most once, found a duplicate key at line 2 "
     "(first at line 1)"),
    ("x:\n  y: 1\n  z: 0\n  y: 2\n",
     "<string>: x.y: expected each key at most once, found a duplicate key at line 4 "
     "(first at line 2)"),
    ("l:\n- {a: 1, b: 2}\n- {a: 1, a: 2}\n",
     "<string>: l[1].a: expected each key at most once, found a duplicate key at line 3 "
     "(first at line 3)"),
], ids=["top", "nested", "in-list"])
def test_duplicate_keys(text, message):
    assert error(text) == message


@pytest.mark.parametrize("text, path, tag", [
    ("a: !!python/object:os.system {}\n", "a", "!!python/object:os.system"),
    ("a: !!python/object/apply:os.system ['echo hi']\n", "a", "!!python/object/apply:os.system"),
    ("k: [1, !!python/name:os.system '']\n", "k[1]", "!!python/name:os.system"),
    ("!!python/object:x {}\n", "(document)", "!!python/object:x"),
    ("a: !custom 3\n", "a", "!custom"),
    ("a: !!binary aGVsbG8=\n", "a", "!!binary"),
    ("a: !!set {x: null}\n", "a", "!!set"),
    ("d: 2024-01-01\n", "d", "!!timestamp"),
], ids=["object", "apply", "name", "root", "custom", "binary", "set", "timestamp"])
def test_foreign_tags_rejected(text, path, tag):
    assert error(text) == f"<string>: {path}: expected {PLAIN}, found a tag {tag}"


def test_python_object_never_constructed(tmp_path):
    marker = tmp_path / "pwned"
    text = f"a: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ModelError):
        load_yaml(text)
    assert not marker.exists()


def test_size_cap_file(tmp_path):
    p = tmp_path / "big.yml"
    p.write_text("a: " + "x" * 200 + "\n")
    assert error(p, max_bytes=100) == (
        f"{p}: (file): expected at most 100 bytes, found a file of 204 bytes")
    assert load_yaml(p, max_bytes=204) == {"a": "x" * 200}


def test_size_cap_text():
    assert error("a: 1\nb: 2\n", max_bytes=5) == (
        "<string>: (file): expected at most 5 bytes, found a document of 10 bytes")


def test_alias_bomb():
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, name in zip("abcdef", "bcdefg"):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    text = "\n".join(lines) + "\n"
    assert len(text) < 400
    assert error(text) == ("<string>: (document): expected at most 1000000 nodes after alias "
                           "expansion, found a document of 12345685 nodes (60 aliases)")


def test_recursive_alias():
    assert error("a: &x [1, *x]\n") == (
        "<string>: a[1]: expected a non-recursive document, found an alias that refers to its "
        "own parent")


@pytest.mark.parametrize("text, message", [
    ("a: [\n", "<string>: line 2, column 1: invalid YAML (while parsing a flow node): did not "
               "find expected node content"),
    ("a: 1\n b: 2\n", "<string>: line 2, column 3: invalid YAML: mapping values are not allowed "
                      "in this context"),
    ("---\na: 1\n---\nb: 2\n", "<string>: line 3, column 1: invalid YAML (expected a single "
                               "document in the stream): but found another document"),
    ("? [1]\n: 2\n", "<string>: (document): expected scalar mapping keys, found a sequence as a "
                     "key at line 1"),
], ids=["unclosed", "indent", "two-documents", "list-key"])
def test_syntax_errors_have_line(text, message):
    assert error(text) == message


def test_syntax_error_names_file(tmp_path):
    p = tmp_path / "bad.yml"
    p.write_text("layers:\n- name: x\n  wz: [1\n")
    msg = error(p)
    assert msg.startswith(f"{p}: line 4, column 1: invalid YAML")


def test_missing_file(tmp_path):
    p = tmp_path / "nope.yml"
    assert error(p) == f"{p}: (file): expected a readable YAML file, found an error: No such " \
                       "file or directory"


def test_bad_encoding():
    assert error(b"a: \xff\n").startswith("<string>: invalid YAML: unacceptable character")


def test_dump_is_compact_and_loads_back(tmp_path):
    obj = {"w": {"size": [2, 2], "data": [[1, 2], [3, 4]]}, "s": np.float64(0.1),
           "n": np.int64(7), "a": np.arange(3)}
    text = dump_yaml(obj)
    assert "data:\n  - [1, 2]\n  - [3, 4]\n" in text
    assert load_yaml(text) == {"w": {"size": [2, 2], "data": [[1, 2], [3, 4]]}, "s": 0.1,
                               "n": 7, "a": [0, 1, 2]}
    p = tmp_path / "o.yml"
    assert dump_yaml({"b": 1, "a": 2}, p, sort_keys=False) is None
    assert p.read_text() == "{b: 1, a: 2}\n"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=20))
def test_floats_round_trip_exactly(values):
    back = load_yaml(dump_yaml({"v": values}))["v"]
    assert all(type(b) is float for b in back)
    assert [math.copysign(1, v) for v in values] == [math.copysign(1, b) for b in back]
    assert back == values
