"""Shared helpers for the frontend error-message tests.

Every message test is a :class:`Case`: a thunk that must raise an :class:`FpgacError` and the
exact message it must raise. The modules ``test_checks``, ``test_legacy``, ``test_native`` and
``test_load`` each export a ``CASES`` list; ``test_raise_sites`` runs all of them and checks that
together they reach every raise site in ``compiler/frontend``.
"""

from __future__ import annotations

import atexit
import copy
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from fpgac.compiler.frontend import dump_yaml, load_yaml
from fpgac.errors import FpgacError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "models"

#: Marker for :func:`edit`: delete the key.
DELETE = object()


@dataclass(frozen=True)
class Case:
    """``run()`` must raise an :class:`FpgacError` whose ``str`` is exactly ``message``."""

    id: str
    run: Callable[[], object]
    message: str

    def param(self):
        return pytest.param(self, id=self.id)


def check(case: Case) -> FpgacError:
    """Run ``case`` and assert its message verbatim; return the error."""
    with pytest.raises(FpgacError) as info:
        case.run()
    found = str(info.value)
    assert found == case.message, f"\nfound:    {found!r}\nexpected: {case.message!r}"
    assert "\n" not in found
    return info.value


_CACHE: dict[str, object] = {}


def fixture_doc(name: str):
    """A fresh parsed copy of ``tests/fixtures/models/<name>``."""
    if name not in _CACHE:
        _CACHE[name] = load_yaml(FIXTURES / name)
    return copy.deepcopy(_CACHE[name])


_TMP: list[Path] = []


def scratch(name: str) -> Path:
    """A path ``name`` in a per-process scratch directory (removed at exit)."""
    if not _TMP:
        _TMP.append(Path(tempfile.mkdtemp(prefix="fpgac-frontend-")))
        atexit.register(shutil.rmtree, _TMP[0], ignore_errors=True)
    return _TMP[0] / name


def write(name: str, content: object) -> Path:
    """Write ``content`` (text, bytes, or plain data dumped as YAML) to :func:`scratch`."""
    path = scratch(name)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        dump_yaml(content, path, sort_keys=False)
    return path


_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m:
            raise ValueError(f"bad path {path!r} at {pos}")
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    return steps


def edit(doc: object, *changes: tuple[str, object]) -> object:
    """A deep copy of ``doc`` with ``(path, value)`` changes applied in order.

    ``path`` is a key path as in the error messages (``layers[1].weight.size``); ``value``
    :data:`DELETE` removes the key (or list item); a path one past the end of a list appends.
    """
    doc = copy.deepcopy(doc)
    for path, value in changes:
        steps = _steps(path)
        target = doc
        for step in steps[:-1]:
            target = target[step]
        last = steps[-1]
        if value is DELETE:
            del target[last]
        elif isinstance(target, list) and last == len(target):
            target.append(value)
        else:
            target[last] = value
    return doc
