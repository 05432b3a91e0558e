"""``fpgac.boards.speed.speed_figures``: per-image cycle statistics, latency, images/s."""

import pytest

from fpgac.boards.speed import speed_figures


def test_stats_latency_and_rates():
    sp = speed_figures([100, 120, 110], 784, 40e6, 50e6)
    assert sp["images"] == 3 and sp["source"] == "simulated"
    assert sp["compute_cycles"] == {"mean": 110.0, "min": 100, "max": 120}
    assert sp["latency_cycles"] == {"mean": 894.0, "min": 884, "max": 904}
    assert sp["images_per_s_at_clock"] == pytest.approx(40e6 / 894)
    assert sp["images_per_s_at_fmax"] == pytest.approx(50e6 / 894)
    assert sp["latency_us_at_clock"] == pytest.approx({"mean": 894 / 40, "min": 884 / 40,
                                                       "max": 904 / 40})
    assert sp["interval_cycles_mean"] == 894.0


def test_no_clock_and_overlap_interval():
    sp = speed_figures(1000, 784, source="predicted")
    assert sp["clock_mhz"] is None and sp["images_per_s_at_clock"] is None
    assert sp["fmax_mhz"] is None and sp["latency_us_at_fmax"] is None
    sp = speed_figures([1000, 1000], 784, 100e6, interval_cycles=[1000, 1000])
    assert sp["images_per_s_at_clock"] == pytest.approx(100e6 / 1000)   # throughput
    assert sp["latency_us_at_clock"]["mean"] == pytest.approx(17.84)     # latency


def test_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        speed_figures([], 784, 1e6)
    with pytest.raises(ValueError, match=">= 0"):
        speed_figures([-1], 784, 1e6)
