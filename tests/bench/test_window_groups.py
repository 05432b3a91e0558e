"""``bench/window_groups.py``: the mapping per layer and the compute cycles docs/architecture.md
quotes (build-order step 1, rectangle window groups; step 2, one-window slices), with and
without them."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = str(ROOT / "examples" / "lenet5_g90_8b.yml")
sys.path.insert(0, str(ROOT / "bench"))

import window_groups as wg  # noqa: E402  (bench/ is a folder of scripts)


def test_lenet5_p54_conv1_takes_rectangles_and_raster_is_the_before():
    after, = wg.rows(MODEL, [54], slices=False)
    before, = wg.rows(MODEL, [54], raster=True)
    assert after["layers"][0][:3] == ("conv1", "1 x 7x7", 1424)
    assert before["layers"][0][:3] == ("conv1", "1 x 54", 1424)
    assert after["layers"][1:] == before["layers"][1:]
    # (3,438 / 3,437 when measured for docs/architecture.md; + 5 since the lane's pool
    # compare stage, lane_latency 9: one cycle per layer)
    assert (before["compute"], after["compute"]) == (3443, 3442)


def test_lenet5_p64_slices_the_one_window_layers():
    """Build-order step 2 at P = 64: conv3 / fc1 / fc2 sliced (16 x 4, 4 x 16, 4 x 16), fewer
    steps and cycles in each of them; the window layers keep their mapping (their cycles
    grow by the adder tree's 4 stages)."""
    after, = wg.rows(MODEL, [64])
    before, = wg.rows(MODEL, [64], slices=False)
    assert [m for _, m, _, _ in after["layers"][2:]] == [
        "16 x 4 slices", "4 x 16 slices", "4 x 16 slices"]
    assert [m for _, m, _, _ in before["layers"][2:]] == ["64 ch", "32 ch", "10 ch"]
    assert [s for _, _, s, _ in before["layers"][2:]] == [140, 61, 35]
    assert [s for _, _, s, _ in after["layers"][2:]] == [101, 59, 13]
    for b, a in zip(before["layers"][:2], after["layers"][:2]):
        assert a[:3] == b[:3] and a[3] == b[3] + 4
    assert (before["compute"], after["compute"]) == (3357, 3258)     # docs: 3,352 / 3,253 + 5


def test_cli_prints_one_row_per_p(capsys):
    assert wg.main(["--pes", "16,54"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith("| 16 | 10,362 |") and "1 x 7x7" in out[1]
    assert "4 x 4 slices" in out[0]
