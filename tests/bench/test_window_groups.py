"""``bench/window_groups.py``: the mapping per layer and the compute cycles docs/architecture.md
quotes (build-order step 1, rectangle window groups), with and without rectangles."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = str(ROOT / "examples" / "lenet5_g90_8b.yml")
sys.path.insert(0, str(ROOT / "bench"))

import window_groups as wg  # noqa: E402  (bench/ is a folder of scripts)


def test_lenet5_p54_conv1_takes_rectangles_and_raster_is_the_before():
    after, = wg.rows(MODEL, [54])
    before, = wg.rows(MODEL, [54], raster=True)
    assert after["layers"][0][:3] == ("conv1", "1 x 7x7", 1424)
    assert before["layers"][0][:3] == ("conv1", "1 x 54", 1424)
    assert after["layers"][1:] == before["layers"][1:]
    assert (before["compute"], after["compute"]) == (3432, 3431)


def test_cli_prints_one_row_per_p(capsys):
    assert wg.main(["--pes", "16,54"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith("| 16 | 10,362 |") and "1 x 7x7" in out[1]
