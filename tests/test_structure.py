"""Structure rules of the package that a reviewer would otherwise check by hand.

* No function or method in the package is longer than :data:`MAX_LINES` lines (from its
  ``def`` to its last line, docstring and nested functions included), except in the files of
  :data:`ALLOWED` (files being redesigned by other work, each entry saying by which; none
  today).
  A new long function anywhere else fails here: split it into named steps.
* The rooms of ``docs/architecture.md``: ``compiler/`` imports nothing from ``sim/``, ``hw/``,
  ``boards/`` or ``compress/`` (but for :data:`ROOM_EXCEPTIONS`); nothing outside
  ``fpgac/commands`` (and ``fpgac/cli.py``) imports a command module, ``bench/`` included.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Longest function allowed (lines).
MAX_LINES = 100

#: Files whose long functions are left to the work that owns them (path: reason).
ALLOWED: dict[str, str] = {}


def _package_dirs() -> list[Path]:
    """The source folders installed under ``fpgac`` (``[tool.setuptools.package-dir]``)."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dirs = conf["tool"]["setuptools"]["package-dir"].values()
    return sorted({ROOT / d for d in dirs if (ROOT / d).is_dir()})


def long_functions(path: Path, limit: int = MAX_LINES) -> list[tuple[str, int, int]]:
    """``(qualified name, first line, length)`` of every function in ``path`` longer than
    ``limit`` lines."""
    found = []

    def visit(node, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    length = child.end_lineno - child.lineno + 1
                    if length > limit:
                        found.append((name, child.lineno, length))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(), filename=str(path)), "")
    return found


def test_the_checker_finds_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    path = tmp_path / "m.py"
    path.write_text(f"class C:\n    def f(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n"
                    f"\ndef g():\n    return 1\n")
    assert long_functions(path) == [("C.f", 2, MAX_LINES + 1)]
    assert long_functions(path, limit=MAX_LINES + 1) == []


def test_no_function_longer_than_the_limit():
    files = [p for d in _package_dirs() for p in sorted(d.rglob("*.py"))]
    assert len(files) > 50, "the package sources were not found"
    for rel in ALLOWED:
        assert (ROOT / rel).is_file(), f"allow-list entry {rel} is not a file any more"
    bad = [f"{p.relative_to(ROOT)}:{line} {name}: {length} lines"
           for p in files if p.relative_to(ROOT).as_posix() not in ALLOWED
           for name, line, length in long_functions(p)]
    assert not bad, (f"functions longer than {MAX_LINES} lines (split them into named steps):\n"
                     + "\n".join(bad))


def imported_modules(path: Path, package: str) -> set[str]:
    """The absolute names of the modules ``path`` imports (relative imports resolved against
    ``package``, the dotted name of the module's own package), at any depth of the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _dotted(path: Path) -> str:
    """The package of a source file, by ``[tool.setuptools.package-dir]``."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    rel = path.parent.relative_to(ROOT).as_posix()
    for name, folder in sorted(conf["tool"]["setuptools"]["package-dir"].items(),
                               key=lambda kv: -len(kv[1])):
        if rel == folder or rel.startswith(folder + "/"):
            return ".".join([name] + rel[len(folder):].strip("/").split("/")).rstrip(".")
    return rel.replace("/", ".")


def test_the_import_reader_resolves_relative_imports(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from ..sim import golden\nfrom . import ir\nimport fpgac.hw.core\n")
    got = imported_modules(path, "fpgac.compiler.frontend")
    assert {"fpgac.compiler.sim", "fpgac.compiler.sim.golden", "fpgac.compiler.frontend.ir",
            "fpgac.hw.core"} <= got


#: Known imports of another room by compiler/ (path: room), each said in docs/architecture.md.
ROOM_EXCEPTIONS = {
    # the estimate of the board harness's receive queue reads the harness's own sizing rule
    "compiler/analysis/resources.py": "boards",
}


def test_rooms_imports():
    bad = []
    for path in sorted((ROOT / "compiler").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for name in imported_modules(path, _dotted(path)):
            room = name.split(".")[1] if name.startswith("fpgac.") else None
            if room in ("sim", "hw", "boards", "compress") and ROOM_EXCEPTIONS.get(rel) != room:
                bad.append(f"{rel} imports {name}")
    files = [p for d in _package_dirs() + [ROOT / "bench"] for p in d.rglob("*.py")]
    for path in sorted(set(files)):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("fpgac/commands/") or rel == "fpgac/cli.py":
            continue
        for name in imported_modules(path, _dotted(path)):
            if name.startswith("fpgac.commands"):
                bad.append(f"{rel} imports {name}")
    assert not bad, "imports across the rooms of docs/architecture.md:\n" + "\n".join(bad)
