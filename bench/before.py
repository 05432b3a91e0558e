"""Run a bench script as it was at an earlier commit: the "before" column of a before/after table.

:func:`run_at` checks ``rev`` out into a temporary git worktree of this repository, makes that
commit's rooms importable as ``fpgac`` (the ``[tool.setuptools.package-dir]`` map of *its*
``pyproject.toml``, as symlinks inside the temporary tree, first on ``PYTHONPATH``, so the
installed fpgac is not used), runs *its* ``bench/<script>`` with ``--json`` and the given
arguments, and returns the rows it wrote. The worktree is removed afterwards. Needs a git
checkout that has ``rev`` (a shallow clone may not).

Example: ``python bench/memory_bench.py --before 67982c3`` (the seed accelerator: the first
commit with this bench, before issue 13's weight banks).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["run_at", "BeforeError"]


class BeforeError(RuntimeError):
    """The earlier commit could not be run (no git checkout, unknown commit, no such script)."""


def _git(*args: str) -> str:
    proc = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BeforeError(f"git {' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


def _link_rooms(src: Path) -> None:
    """Symlink each sub-package of ``src``'s package-dir map into ``src/fpgac``."""
    setup = tomllib.loads((src / "pyproject.toml").read_text())["tool"]["setuptools"]
    for pkg, folder in setup.get("package-dir", {}).items():
        parts = pkg.split(".")
        if len(parts) < 2 or parts[0] != "fpgac":
            continue
        link = src.joinpath(*parts)
        if not link.exists():
            os.symlink(os.path.relpath(src / folder, link.parent), link)


def run_at(rev: str, script: str, args: list[str], *, timeout: float = 3600) -> list:
    """Rows of ``bench/<script> --json OUT *args`` run on the code of commit ``rev``.

    Raises :class:`BeforeError` when ``rev`` is not in this checkout, the script does not
    exist there, or it fails (its stderr tail in the message).
    """
    try:
        commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    except BeforeError as exc:
        raise BeforeError(f"--before {rev}: expected a commit of this git checkout ({ROOT}), "
                          f"found none ({exc})") from None
    with tempfile.TemporaryDirectory(prefix="fpgac-before-") as tmp:
        src = Path(tmp) / f"src-{Path(tmp).name}"   # a unique worktree name: runs in parallel
        _git("worktree", "add", "--detach", "--quiet", str(src), commit)
        try:
            if not (src / "bench" / script).is_file():
                raise BeforeError(f"--before {rev}: expected bench/{script} at {commit[:10]}, "
                                  f"found no such file (choose a later commit)")
            _link_rooms(src)
            out = Path(tmp) / "rows.json"
            env = dict(os.environ, PYTHONPATH=str(src))
            proc = subprocess.run([sys.executable, str(src / "bench" / script), "--json",
                                   str(out), *args], cwd=tmp, env=env, capture_output=True,
                                  text=True, timeout=timeout)
            if proc.returncode != 0 or not out.is_file():
                raise BeforeError(f"--before {rev}: bench/{script} at {commit[:10]} failed "
                                  f"(exit {proc.returncode}): {proc.stderr.strip()[-800:]}")
            return json.loads(out.read_text())
        finally:
            _git("worktree", "remove", "--force", str(src))
