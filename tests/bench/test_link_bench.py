"""``bench/link_bench.py``: each board's default link simulated through the harness and the core
(frames checked against golden inside the bench) at the rate ``link_figures`` computes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_link_bench_simulates_each_board_at_its_computed_rate(tmp_path):
    out = tmp_path / "link"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "link_bench.py"), "--images", "3",
                           "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {r["board"]: r for r in json.loads((out / "link.json").read_text())}
    assert {b: (r["baud"], round(r["divisor"], 2)) for b, r in rows.items()} == {
        "arty": (12_000_000, 8.33), "icebreaker": (3_000_000, 10.0),
        "ulx3s": (3_000_000, 28.33)}      # 85 MHz / 3 Mbaud
    for r in rows.values():
        # a fractional divisor: each bit floor or ceil of it, so the rate within 0.1 %
        assert abs(r["small_model_images_per_s_simulated"]
                   / r["small_model_images_per_s_computed"] - 1) < 1e-3
