"""Every error the frontend can raise has a verbatim message test.

The raise sites are found by reading ``compiler/frontend/*.py``: every call that builds a
``ModelError``, ``FpgacError`` or ``UnsupportedError`` (and every call of the local ``refuse`` /
``bad_tag`` helpers, which build one for their caller). Then every message case of the frontend
tests (``CASES`` of test_checks, test_legacy, test_native, test_load; the layout tables of
test_tensors) is run while the error constructors record the source lines on the stack. A site
no case reaches fails this test, naming the file and line.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
import test_checks
import test_legacy
import test_load
import test_native
import test_tensors
from frontend_cases import Case

import fpgac.compiler.frontend as frontend
import fpgac.errors as errors
from fpgac.compiler.frontend.tensors import LAYOUTS, parse_tensor
from fpgac.errors import FpgacError, ModelError

FRONTEND = Path(frontend.__file__).resolve().parent
ERRORS = {"ModelError", "FpgacError", "UnsupportedError"}
HELPERS = {"refuse", "bad_tag"}


def raise_sites() -> dict[tuple[str, int], tuple[int, str]]:
    """``(file, first line) -> (last line, source text)`` of every error built in the frontend."""
    sites = {}
    for path in sorted(FRONTEND.glob("*.py")):
        text = path.read_text()
        tree = ast.parse(text)
        helper_bodies = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in HELPERS:
                helper_bodies.update(id(n) for n in ast.walk(node))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            name = node.func.id
            if (name in ERRORS and id(node) not in helper_bodies) or name in HELPERS:
                sites[(path.name, node.lineno)] = (node.end_lineno,
                                                   ast.get_source_segment(text, node))
    return sites


def all_cases() -> list[Case]:
    cases = []
    for module in (test_checks, test_legacy, test_native, test_load):
        cases += module.CASES
    for label, obj, message in test_tensors.CASES:
        cases.append(Case(f"tensors-{label}", lambda obj=obj: parse_tensor(
            obj, test_tensors.P, lo=0, hi=255), message))
    for label, obj, message in test_tensors.OWN_CASES:
        cases.append(Case(f"tensors-own-{label}", lambda obj=obj: parse_tensor(
            obj, test_tensors.P, lo=0, hi=255, layouts=LAYOUTS), message))
    return cases


def test_sites_are_found():
    sites = raise_sites()
    files = {f for f, _ in sites}
    assert files >= {"checks.py", "layers.py", "legacy.py", "load.py", "native.py",
                     "tensors.py", "yamlio.py"}
    assert len(sites) > 60


def test_every_raise_site_is_reached(monkeypatch):
    sites = raise_sites()
    hit: set[tuple[str, int]] = set()

    def record() -> None:
        frame = sys._getframe(2)
        while frame is not None:
            path = Path(frame.f_code.co_filename)
            if path.parent == FRONTEND:
                hit.add((path.name, frame.f_lineno))
            frame = frame.f_back

    def wrap(cls):
        original = cls.__init__

        def __init__(self, *args, **kwargs):
            if type(self) is cls:
                record()
            original(self, *args, **kwargs)
        monkeypatch.setattr(cls, "__init__", __init__)

    for cls in (ModelError, FpgacError, errors.UnsupportedError):
        wrap(cls)
    cases = all_cases()
    for case in cases:
        with pytest.raises(FpgacError):
            case.run()
    missing = []
    for (name, first), (last, source) in sorted(sites.items()):
        if not any(f == name and first <= line <= last for f, line in hit):
            missing.append(f"compiler/frontend/{name}:{first}: {source.splitlines()[0]}")
    assert not missing, (f"{len(missing)} of {len(sites)} raise sites have no message test "
                         f"(ran {len(cases)} cases):\n" + "\n".join(missing))
