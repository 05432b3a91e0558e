"""No unsafe YAML loading anywhere in the repository.

Every YAML read must go through a safe loader: ``yaml.safe_load`` / ``yaml.safe_load_all`` or
``yaml.load(..., Loader=X)`` where ``X`` is ``SafeLoader`` / ``CSafeLoader`` or a class that
derives from one of them in the same module (the frontend's duplicate-key-checking loader).
The check parses every Python file (AST, so comments and strings do not count) and also
greps for the loader names that can construct arbitrary Python objects.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", "build", "dist", "__pycache__", ".pytest_cache", "node_modules",
             "fpgac.egg-info", "sim_build"}
SAFE_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}
#: attribute / name uses that are unsafe whatever the call looks like
FORBIDDEN_NAMES = {"unsafe_load", "unsafe_load_all", "full_load", "full_load_all",
                   "FullLoader", "UnsafeLoader", "CFullLoader", "CUnsafeLoader"}
#: yaml.Loader / yaml.CLoader are the unsafe default loaders
FORBIDDEN_YAML_ATTRS = FORBIDDEN_NAMES | {"Loader", "CLoader"}


def python_files() -> list[Path]:
    out = []
    for path in ROOT.rglob("*.py"):
        if any(part in SKIP_DIRS or part.startswith(".") for part in
               path.relative_to(ROOT).parts[:-1]):
            continue
        out.append(path)
    return sorted(out)


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _safe_classes(tree: ast.Module) -> set[str]:
    """Names of classes in the module deriving (transitively) from a safe loader."""
    safe = set(SAFE_LOADERS)
    changed = True
    while changed:
        changed = False
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name not in safe:
                if any(_name(b) in safe for b in node.bases):
                    safe.add(node.name)
                    changed = True
    return safe


def unsafe_uses(path: Path, root: Path = ROOT) -> list[str]:
    """Return ``"file:line: reason"`` for every unsafe YAML use in ``path``."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if "yaml" not in text:
        return []
    tree = ast.parse(text, filename=str(path))
    safe = _safe_classes(tree)
    rel = path.relative_to(root)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "yaml" and node.attr in FORBIDDEN_YAML_ATTRS:
            found.append(f"{rel}:{node.lineno}: yaml.{node.attr}")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"{rel}:{node.lineno}: {node.id}")
        elif isinstance(node, ast.alias) and node.name in FORBIDDEN_YAML_ATTRS:
            found.append(f"{rel}: import of {node.name}")
        elif isinstance(node, ast.Call) and _name(node.func) in ("load", "load_all") \
                and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "yaml":
            loader = None
            for kw in node.keywords:
                if kw.arg == "Loader":
                    loader = kw.value
            if loader is None and len(node.args) >= 2:
                loader = node.args[1]
            if loader is None or _name(loader) not in safe:
                shown = ast.unparse(loader) if loader is not None else "no Loader"
                found.append(f"{rel}:{node.lineno}: yaml.{node.func.attr} with {shown}")
    return found


def test_scanner_finds_unsafe_patterns(tmp_path):
    """The scanner itself must flag each unsafe form (so the repo test cannot pass vacuously)."""
    bad = {
        "a.py": "import yaml\nyaml.load(open('f'))\n",
        "b.py": "import yaml\nyaml.load(s, Loader=yaml.Loader)\n",
        "c.py": "import yaml\nyaml.unsafe_load(s)\n",
        "d.py": "import yaml\nyaml.load(s, Loader=yaml.FullLoader)\n",
        "e.py": "from yaml import UnsafeLoader\n",
        "f.py": "import yaml\nclass L(yaml.Loader):\n    pass\nyaml.load(s, Loader=L)\n",
        "g.py": "import yaml\nyaml.full_load(s)\n",
    }
    good = {
        "ok1.py": "import yaml\nyaml.safe_load(s)\n",
        "ok2.py": "import yaml\nclass L(yaml.SafeLoader):\n    pass\nclass M(L):\n"
                  "    pass\nyaml.load(s, Loader=M)\n",
        "ok3.py": "import yaml\nyaml.load(s, Loader=yaml.CSafeLoader)\n",
    }
    for name, src in {**bad, **good}.items():
        (tmp_path / name).write_text(src)
    for name in bad:
        assert unsafe_uses(tmp_path / name, tmp_path), name
    for name in good:
        assert unsafe_uses(tmp_path / name, tmp_path) == [], name


def test_no_unsafe_yaml_loading_in_repo():
    files = python_files()
    assert len(files) > 10, "the scan found almost no Python files: wrong root?"
    problems = [p for f in files for p in unsafe_uses(f)]
    assert problems == [], "unsafe YAML loading:\n" + "\n".join(problems)


def test_no_python_tags_in_shipped_yaml():
    """Shipped YAML (examples, fixtures) must not rely on python/* tags."""
    pattern = re.compile(r"!!python/|!python/")
    hits = []
    for path in list(ROOT.rglob("*.yml")) + list(ROOT.rglob("*.yaml")):
        rel = path.relative_to(ROOT)
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        if "fuzz" in rel.parts:
            continue
        if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
            hits.append(str(rel))
    assert hits == []


@pytest.mark.parametrize("text", ["!!python/object/apply:os.system ['true']\n",
                                  "a: !!python/name:os.system\n"])
def test_frontend_rejects_python_tags(tmp_path, text):
    """The approved loader turns python tags into a clear FpgacError, never an object."""
    frontend = pytest.importorskip("fpgac.compiler.frontend")
    from fpgac.errors import FpgacError
    load_yaml = getattr(frontend, "load_yaml", None)
    if load_yaml is None:
        pytest.skip("frontend.load_yaml not available yet")
    path = tmp_path / "evil.yml"
    path.write_text(text)
    with pytest.raises(FpgacError) as info:
        load_yaml(path)
    assert str(info.value)
