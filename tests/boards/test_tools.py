"""``fpgac.boards.tools``: the open flow's place and route over several nextpnr seeds
(``fpgac build --seeds N``): the script cut into its tools, the choice of a route, and real
iCEBreaker routes of the small board model."""

import filecmp
import json
import os
import subprocess
import sys

import pytest

from fpgac.boards import tools
from fpgac.boards.platforms import get_board
from fpgac.boards.tools import choose_seed, run_tools
from fpgac.errors import FpgacError
from fpgac.flows.build import build


@pytest.fixture(scope="module")
def tiny(tiny_board_model):
    """The YAML file of the shared small board model (``tests/conftest.py``)."""
    return tiny_board_model[1]


def _routes(*fmax):
    return [{"seed": n + 1, "fmax_mhz": f} for n, f in enumerate(fmax)]


@pytest.mark.parametrize("fmax, clock, kept", [
    ((99.0, 101.0, 105.0), 100.0, 2),        # the first that meets, not the fastest
    ((99.0, 98.0), 100.0, 1),                # none meets: the fastest
    ((97.0, 99.5, 99.5), 100.0, 2),          # a tie: the first
    ((97.0, 99.5), None, 2),                 # no clock: the fastest
    ((100.0,), 100.0, 1),                    # exactly the clock meets
])
def test_choose_seed(fmax, clock, kept):
    assert choose_seed(_routes(*fmax), clock) == kept


@pytest.mark.parametrize("board, var", [("icebreaker", "NEXTPNR_ICE40"),
                                        ("ulx3s", "NEXTPNR_ECP5")])
def test_script_parts_are_the_platforms_lines(tiny, tmp_path, board, var):
    """The cut of the script Amaranth writes: running header + the three lines is the
    script itself (nothing dropped, nothing reordered)."""
    build(tiny, board, pes=1, out_dir=tmp_path, pnr=False)
    script = (tmp_path / "build_top.sh").read_text()
    head, syn, pnr, pack = tools._script_parts(script, get_board(board).flow)
    assert syn.startswith('"$YOSYS"') and pnr.startswith(f'"${var}"')
    assert "--report nextpnr_report.json" in pnr and "--json top.json" in pnr
    assert "\n".join([head, syn, pnr, pack]) == script.rstrip("\n")
    with pytest.raises(FpgacError, match=f"expected one Yosys line before one \\${var} line, "
                                         "found 1 and 0"):
        tools._script_parts(script.replace(pnr, ""), get_board(board).flow)


def test_seeds_must_be_positive(tiny, tmp_path):
    with pytest.raises(FpgacError, match="--seeds: expected a positive integer, found 0"):
        run_tools(get_board("icebreaker"), tmp_path, 1, print, seeds=0)
    proc = subprocess.run([sys.executable, "-m", "fpgac", "build", str(tiny), "--board",
                           "ulx3s", "--seeds", "0", "--no-pnr", "-o", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "expected a positive integer, found 0" in proc.stderr


@pytest.mark.slow
def test_two_seeds_route_in_parallel_and_keep_the_fastest(tiny, tmp_path):
    """A clock no route meets: both seeds run (one batch on two cores or two batches on
    one), each in its own directory; the fastest is kept, its logs are the build's, and the
    bitstream is packed from it. Seed 1 is nextpnr's default: its placement is the one-seed
    build's; seed 2 places differently."""
    one = tmp_path / "one"
    build(tiny, "icebreaker", pes=1, out_dir=one, pnr=True)
    out = tmp_path / "two"
    build(tiny, "icebreaker", pes=1, out_dir=out, pnr=False)
    found = run_tools(get_board("icebreaker"), out, 1, lambda text: None, seeds=2,
                      clock_mhz=10_000.0)
    table = found["seeds"]
    assert [r["seed"] for r in table] == [1, 2]
    for r in table:
        report = json.loads((out / f"seed-{r['seed']}" / "nextpnr_report.json").read_text())
        assert r["fmax_mhz"] == min(v["achieved"] for v in report["fmax"].values())
    kept = found["seed"]
    assert kept == choose_seed(table, 10_000.0)
    assert found["fmax_mhz"] == max(r["fmax_mhz"] for r in table)
    for name in ("nextpnr_report.json", "top.tim", "top.asc"):
        assert filecmp.cmp(out / name, out / f"seed-{kept}" / name, shallow=False)
    assert (out / "top.bin").stat().st_size > 100_000
    assert (out / "top.bin").stat().st_mtime >= (out / "top.asc").stat().st_mtime
    assert any(f"kept seed {kept}" in note for note in found["notes"])
    assert filecmp.cmp(one / "top.asc", out / "seed-1" / "top.asc", shallow=False)
    assert not filecmp.cmp(out / "seed-1" / "top.asc", out / "seed-2" / "top.asc",
                           shallow=False)


@pytest.mark.slow
def test_seeds_stop_after_the_batch_that_meets(tiny, tmp_path, monkeypatch):
    """One core: a batch is one route; seed 1 meets the default 30 MHz clock, so seed 2 never runs;
    the report names the routes (``pnr_seeds``, ``pnr_seed``, report.md)."""
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    report = build(tiny, "icebreaker", pes=1, out_dir=tmp_path, pnr=True, seeds=2)
    if not report["timing_met"]:
        pytest.fail(f"the small model should meet the iCEBreaker default clock: {report}")
    assert [r["seed"] for r in report["pnr_seeds"]] == [1] and report["pnr_seed"] == 1
    assert not (tmp_path / "seed-2").exists()
    assert "| nextpnr seeds (Fmax MHz) | 1: " in (tmp_path / "report.md").read_text()
