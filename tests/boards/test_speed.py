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


NEXTPNR_LOG = """\
Info: Max frequency for clock 'clk': 64.81 MHz (FAIL at 80.00 MHz)
Info: Critical path report for clock 'clk' (posedge -> posedge):
Info:       type curr  total name
Info:   clk-to-q  5.61  5.61 Source top.core.ctrl.program.0.0.DOA0
Info:    routing  2.41  8.02 Net top.core.ctrl.rp__data[0] (26,70) -> (27,39)
Info:                          Sink top.core.ctrl.hz_LUT4_Z.D
Info:                          Defined in:
Info:                               /share/lattice/cells_map_trellis.v:108.23-108.24
Info:      logic  0.24  8.26 Source top.core.ctrl.hz_LUT4_Z.F
Info:    routing  2.68 10.94 Net top.core.ctrl.program.0.0_ADB7 (27,39) -> (28,70)
Info:                          Sink top.core.ctrl.program.0.1.ADB7
Info:      setup  0.20 11.14 Source top.core.ctrl.program.0.1.ADB7
Info: 6.05 ns logic, 5.09 ns routing

Info: Critical path report for cross-domain path '<async>' -> 'posedge clk':
Info:       type curr  total name
Info:     source  0.00  0.00 Source top.uart_rx_buffer.buf.buf0.O
"""


def test_critical_path_of_a_nextpnr_log():
    from fpgac.boards.speed import critical_path

    cp = critical_path("Info: placing\n" + NEXTPNR_LOG)
    assert cp["delay_ns"] == 11.14
    assert cp["logic_ns"] == pytest.approx(6.05) and cp["routing_ns"] == pytest.approx(5.09)
    assert cp["source"] == "top.core.ctrl.program.0.0.DOA0"
    assert cp["sink"] == "top.core.ctrl.program.0.1.ADB7"
    assert [k for k, _, _ in cp["steps"]] == ["clk-to-q", "routing", "logic", "routing",
                                               "setup"]
    # the last report wins (nextpnr prints one after placement in some versions, one after
    # routing); no report: None
    assert critical_path(NEXTPNR_LOG.replace("11.14", "9.99") + NEXTPNR_LOG)["delay_ns"] == 11.14
    assert critical_path("Info: Program finished normally.\n") is None
