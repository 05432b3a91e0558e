"""``load_model`` on files: dispatch, hardened YAML reading, and legacy / own-format twins that
give identical golden logits in every tensor layout.

``CASES`` (every file-level message, verbatim) are also run by ``test_raise_sites``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from factory import assert_same_model
from frontend_cases import FIXTURES, Case, check, fixture_doc, scratch, write

from fpgac.compiler.frontend import load_model, load_yaml, save_legacy, save_model
from fpgac.compiler.frontend.tensors import LAYOUTS
from fpgac.sim import golden
from fpgac.sim.mnist import load_mnist

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lenet5_g90_8b.yml"
PLAIN = "plain YAML data (mappings, lists, strings, numbers, booleans, null)"
TOP = "a mapping with 'format: fpgac-model/1' or 'head: int_values'"


def F(id: str, content, message: str, **kw) -> Case:
    """``load_model`` on a file holding ``content``; ``message`` follows the file name."""
    name = f"{id}.yml"
    return Case(id, lambda: load_model(write(name, content), **kw),
                f"{scratch(name)}: {message}")


def T(id: str, text, message: str, **kw) -> Case:
    """``load_yaml`` on YAML text (source ``<string>``)."""
    return Case(id, lambda: load_yaml(text, **kw), f"<string>: {message}")


LEGACY_TEXT = (FIXTURES / "tiny_int.yml").read_text()

CASES = [
    # dispatch
    F("top-list", "- 1\n- 2\n", f"(top level): expected {TOP}, found a list of 2 items"),
    F("empty-file", "", f"(top level): expected {TOP}, found a null value"),
    F("no-format-key", "name: x\nlayers: []\n",
      f"(top level): expected {TOP}, found a mapping with keys [layers, name]"),
    F("format-version", "format: fpgac-model/2\n",
      "format: expected 'fpgac-model/1', found 'fpgac-model/2'"),
    F("float-file", (FIXTURES / "tiny_float.yml").read_text(),
      "head: expected 'int_values' (the hardware needs the integer twin of this float "
      "reference file), found 'float_value'"),
    # arguments
    F("std-argument", LEGACY_TEXT, "std (argument): expected a finite number > 0, found 0",
      std=0),
    F("mean-argument", LEGACY_TEXT, "mean (argument): expected a finite number, found nan",
      mean=float("nan")),
    # size caps and unreadable files
    F("file-cap", LEGACY_TEXT, f"(file): expected at most 1000 bytes, found a file of "
      f"{len(LEGACY_TEXT.encode())} bytes", max_bytes=1000),
    T("text-cap", "a: 1\nb: 2\n", "(file): expected at most 5 bytes, found a document of 10 "
      "bytes", max_bytes=5),
    Case("growing-file", lambda: load_yaml("/dev/zero", max_bytes=100),
         "/dev/zero: (file): expected at most 100 bytes, found a file of at least 101 bytes"),
    Case("missing-file", lambda: load_model(scratch("nope.yml")),
         f"{scratch('nope.yml')}: (file): expected a readable YAML file, found an error: No "
         "such file or directory"),
    Case("argument-type", lambda: load_yaml(123),
         "<argument>: (file): expected a file path or YAML text, found an object of type int"),
    # not YAML
    F("syntax", "head: int_values\nlayers: [\n",
      "line 3, column 1: invalid YAML (while parsing a flow node): did not find expected node "
      "content"),
    F("binary", b"head: \x00\xff\xfe\n", "invalid YAML: unacceptable character #x0000: control "
      "characters are not allowed in \"<byte string>\", position 6"),
    T("two-documents", "a: 1\n---\nb: 2\n", "line 2, column 1: invalid YAML (expected a single "
      "document in the stream): but found another document"),
    T("deep-nesting", "a: " + "[" * 100_000 + "\n", "(document): expected at most 100 levels of "
      "nesting, found a document nested deeper (level 101 at line 1)"),
    # integer literals Python would refuse to convert (> 4,300 digits; found by fuzzing)
    F("long-int", LEGACY_TEXT.replace("mqm0: 189", "mqm0: " + "9" * 5000, 1),
      "layers[0].mqm0: expected an integer literal of at most 100 characters, found a literal "
      "of 5000 characters at line 16"),
    T("long-int-in-list", "k: [1, " + "1" * 101 + "]\n", "k[1]: expected an integer literal of "
      "at most 100 characters, found a literal of 101 characters at line 1"),
    T("long-int-root", "-" + "1" * 100 + "\n", "(document): expected an integer literal of at "
      "most 100 characters, found a literal of 101 characters at line 1"),
    # foreign tags (python objects never constructed) and other hardening
    F("python-tag", "head: !!python/object/apply:os.system ['echo pwned']\n",
      f"head: expected {PLAIN}, found a tag !!python/object/apply:os.system"),
    T("root-tag", "!!binary aGk=\n", f"(document): expected {PLAIN}, found a tag !!binary"),
    T("collection-tag", "a: !!set {x: null}\n", f"a: expected {PLAIN}, found a tag !!set"),
    T("list-item-tag", "k: [1, !!python/name:os.system '']\n",
      f"k[1]: expected {PLAIN}, found a tag !!python/name:os.system"),
    T("key-tag", "? !!binary aGk=\n: 1\n", f"(document): expected {PLAIN}, found a tag !!binary"),
    T("value-tag", "layers:\n- wz: !custom 3\n",
      f"layers[0].wz: expected {PLAIN}, found a tag !custom"),
    T("timestamp", "d: 2024-01-01\n", f"d: expected {PLAIN}, found a tag !!timestamp"),
    F("duplicate-key", "head: int_values\nins: 0.1\nhead: int_values\n",
      "head: expected each key at most once, found a duplicate key at line 3 (first at line 1)"),
    T("list-key", "? [1]\n: 2\n",
      "(document): expected scalar mapping keys, found a sequence as a key at line 1"),
    T("recursive-alias", "a: &x [1, *x]\n",
      "a[1]: expected a non-recursive document, found an alias that refers to its own parent"),
    T("alias-bomb", "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{n}: &{n} [" + ", ".join([f"*{p}"] * 10) + "]\n" for p, n in zip("abcdef", "bcdefg")),
      "(document): expected at most 1000000 nodes after alias expansion, found a document of "
      "12345685 nodes (60 aliases)"),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_message(case):
    check(case)


def test_case_ids_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


def test_python_object_is_never_constructed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yml"
    path.write_text(f"head: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(Exception):
        load_model(path)
    assert not marker.exists()


def test_merge_keys_and_aliases_are_plain_data(tmp_path):
    doc = fixture_doc("tiny_int.yml")
    text = (FIXTURES / "tiny_int.yml").read_text()
    assert load_yaml(text) == doc
    # The network input scale given once (anchor) and reused by layers[0] (alias).
    aliased = text.replace("\nins: 0.0078431\n", "\nins: &i 0.0078431\n", 1)
    aliased = aliased.replace("  ins: 0.0078431\n", "  ins: *i\n", 1)
    assert aliased.count("*i") == 1 and aliased.count("&i") == 1
    path = tmp_path / "a.yml"
    path.write_text(aliased)
    assert_same_model(load_model(FIXTURES / "tiny_int.yml"),
                      dataclasses.replace(load_model(path), name="tiny_int"))
    assert load_yaml("base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n")["m"] == {"x": 1, "y": 2}


def test_size_cap_is_inclusive():
    size = len((FIXTURES / "tiny_int.yml").read_bytes())
    load_model(FIXTURES / "tiny_int.yml", max_bytes=size)


# --------------------------------------------------------------------------------------------
# Twins: the same model in every file format and tensor layout gives identical logits


@pytest.fixture(scope="module")
def images():
    return load_mnist("test")[0][:200]


def _twins(source: Path, tmp_path: Path) -> dict[str, Path]:
    model = load_model(source)
    files = {}
    for coo in (False, True):
        path = tmp_path / f"legacy_{'coo' if coo else 'dense'}.yml"
        save_legacy(model, path, coo=coo)
        files[path.stem] = path
    for layout in LAYOUTS:
        path = tmp_path / f"own_{layout}.yml"
        save_model(model, path, layout=layout)
        files[path.stem] = path
    return files


def _assert_identical_logits(paths: dict[str, Path], images: np.ndarray) -> np.ndarray:
    reference = None
    for label, path in paths.items():
        logits, _ = golden.predict(load_model(path), images)
        assert logits.dtype == np.int64
        if reference is None:
            reference = logits
        else:
            np.testing.assert_array_equal(logits, reference, err_msg=label)
    return reference


def test_tiny_twins_give_identical_logits(images, tmp_path):
    paths = {"tiny_int": FIXTURES / "tiny_int.yml", "tiny_int_coo": FIXTURES / "tiny_int_coo.yml",
             "tiny.fpgac (csr)": FIXTURES / "tiny.fpgac.yml"}
    paths.update(_twins(FIXTURES / "tiny_int.yml", tmp_path))
    logits = _assert_identical_logits(paths, images)
    # Not a degenerate model: the logits vary across images and classes.
    assert len({tuple(row) for row in logits.tolist()}) > 20
    assert len(set(logits.argmax(axis=1).tolist())) > 1


@pytest.mark.slow
@pytest.mark.skipif(not EXAMPLE.exists(), reason="examples/lenet5_g90_8b.yml not shipped yet")
def test_lenet5_twins_give_identical_logits(images, tmp_path):
    paths = {"example": EXAMPLE}
    paths.update(_twins(EXAMPLE, tmp_path))
    _assert_identical_logits(paths, images[:100])
