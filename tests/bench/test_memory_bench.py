"""``bench/memory_bench.py --before REV``: the bench run on an earlier commit's code
(``bench/before.py``: a temporary git worktree, its rooms importable as ``fpgac``) and the
before -> after table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = str(ROOT / "examples" / "lenet5_g90_8b.yml")
sys.path.insert(0, str(ROOT / "bench"))

import before  # noqa: E402  (bench/ is a folder of scripts)
import memory_bench  # noqa: E402


def test_run_at_runs_that_commits_code():
    """HEAD's bench in a temporary worktree gives the rows this tree's bench computes for the
    model-only figures, and the worktree is gone afterwards."""
    rows = before.run_at("HEAD", "memory_bench.py", ["--model", MODEL, "--pes", "1"])
    here = memory_bench.rows(MODEL, [1])
    assert [(r["model"], r["pes"]) for r in rows] == [("lenet5_g90_8b.yml", 1)]
    assert rows[0]["dense_rom_bits"] == here[0]["dense_rom_bits"] > 0
    listed = subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], capture_output=True,
                            text=True, check=True).stdout
    assert "fpgac-before-" not in listed


def test_before_after_table(capsys):
    assert memory_bench.main(["--model", MODEL, "--pes", "1", "--before", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "lenet5_g90_8b.yml: before (HEAD) -> after (this tree)" in out
    row = next(line for line in out.splitlines() if line.startswith("| 1 | ") and "->" in line)
    assert row.count("->") == len(memory_bench.COMPARED)


def test_unknown_commit_is_refused(capsys):
    assert memory_bench.main(["--model", MODEL, "--pes", "1", "--before", "no-such-rev"]) == 2
    err = capsys.readouterr().err
    assert "--before no-such-rev: expected a commit of this git checkout" in err


def test_commit_without_the_script_is_refused():
    with pytest.raises(before.BeforeError, match="expected bench/no_such_bench.py at"):
        before.run_at("HEAD", "no_such_bench.py", [])
