"""``fpgac selftest``: table, exit status 0 / 1 / 2, and the families' plan."""

from __future__ import annotations

import pytest

from fpgac.cli import main
from fpgac.sim import selftest


@pytest.fixture
def tiny_plan(monkeypatch):
    monkeypatch.setitem(selftest.PLAN, "accumulate-rtl", (3, 3))
    monkeypatch.setitem(selftest.PLAN, "determinism", (1, 1))


def test_selftest_passes(tiny_plan, capsys):
    assert main(["selftest", "--only", "accumulate-rtl", "determinism"]) == 0
    out = capsys.readouterr().out
    assert "accumulation RTL/golden vs bigint" in out and "ok" in out


def test_selftest_reports_a_disagreement(tiny_plan, monkeypatch, capsys):
    """Mutation check: a broken lane accumulator makes the command fail (exit 1)."""
    monkeypatch.setattr(selftest, "run_lane", lambda vec, acc_bits=None: vec.expected() + 1)
    assert main(["selftest", "--only", "accumulate-rtl"]) == 1
    assert "FAIL accumulation RTL/golden vs bigint" in capsys.readouterr().out


def test_selftest_usage_errors(capsys):
    with pytest.raises(SystemExit) as info:
        main(["selftest", "--models", "0"])
    assert info.value.code == 2
    assert "--models: expected a positive integer, found 0" in capsys.readouterr().err


def test_unknown_family_is_an_fpgac_error():
    from fpgac.errors import FpgacError
    with pytest.raises(FpgacError, match="--only: expected some of"):
        selftest.run_selftest(only=("nope",))


def test_long_sizes_meet_the_issue():
    assert selftest.PLAN["requant-golden"][1] >= 1_000_000
    assert selftest.PLAN["requant-rtl"][1] >= 1_000_000
    assert selftest.PLAN["fuzz"][1] >= 10_000
    assert selftest.PLAN["models"][1] >= 100
