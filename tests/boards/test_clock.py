"""``fpgac.boards.clock``: PLL divider arithmetic per family, refusals, the clock domain module
on every board's platform, and the UART divisor following the real clock."""

from fractions import Fraction

import pytest

from fpgac.boards.clock import (DEFAULT_CLOCK_MHZ, LIMITS, TOLERANCE, ClockedTop, LockReset,
                                achievable_range, default_clock_mhz, pll_config, plan_clock)
from fpgac.boards.harness import BoardTop
from fpgac.boards.platforms import BOARDS, get_board
from fpgac.boards.uart import uart_divisor
from fpgac.compiler.frontend import load_model
from fpgac.compiler.plan import plan_hardware
from fpgac.errors import FpgacError
from fpgac.sim.preprocess import pixel_table

MHZ = 1_000_000

# Settings printed by the reference tools (ecppll of Project Trellis, icepll of Project
# IceStorm) for these requests, as found in public projects that embed their output.
ECPPLL = [  # (f_in, f_out, CLKI_DIV, CLKFB_DIV, CLKOP_DIV, CLKOP_CPHASE)
    (12, 16, 3, 4, 37, 18),
    (25, 120, 5, 24, 5, 2),
    (48, 160, 3, 10, 4, 2),
    (25, 100, 1, 4, 6, 3),
]
ICEPLL = [  # (f_in, f_out, DIVR, DIVF, DIVQ, FILTER_RANGE)
    (12, 96, 0, 63, 3, 1),
    (48, 100, 2, 49, 3, 1),
    (48, 150, 1, 24, 2, 2),
    (100, 30, 4, 47, 5, 2),
    (48, 16, 2, 63, 6, 1),
]


@pytest.mark.parametrize("f_in,f_out,clki,clkfb,clkop,cphase", ECPPLL)
def test_ecp5_matches_ecppll(f_in, f_out, clki, clkfb, clkop, cphase):
    cfg = pll_config("ecp5", f_in * MHZ, f_out * MHZ)
    assert cfg.primitive == "EHXPLLL"
    assert cfg.dividers == {"CLKI_DIV": clki, "CLKFB_DIV": clkfb, "CLKOP_DIV": clkop,
                            "CLKOP_CPHASE": cphase}
    assert cfg.f_out == f_out * MHZ
    assert cfg.f_vco == Fraction(f_in * MHZ, clki) * clkfb * clkop


@pytest.mark.parametrize("f_in,f_out,divr,divf,divq,filt", ICEPLL)
def test_ice40_matches_icepll(f_in, f_out, divr, divf, divq, filt):
    cfg = pll_config("ice40", f_in * MHZ, f_out * MHZ)
    assert cfg.primitive == "SB_PLL40_PAD"
    assert cfg.dividers == {"DIVR": divr, "DIVF": divf, "DIVQ": divq, "FILTER_RANGE": filt}
    assert cfg.f_out == f_out * MHZ


def test_xilinx_known_settings():
    cfg = pll_config("vivado", 100 * MHZ, 100 * MHZ)
    assert cfg.primitive == "MMCME2_BASE"
    assert cfg.dividers == {"DIVCLK_DIVIDE": 1, "CLKFBOUT_MULT_F": 10, "CLKOUT0_DIVIDE_F": 10}
    cfg = pll_config("vivado", 100 * MHZ, 125 * MHZ)
    assert cfg.f_out == 125 * MHZ and cfg.f_vco == 1000 * MHZ
    # 148.5 MHz needs fractional steps: 100 * 37.125 / 25 / 1 is not reachable, but
    # 100 / 1 * 10.395 is not a multiple of 1/8 either; the search finds an exact setting
    cfg = pll_config("vivado", 100 * MHZ, Fraction(1485, 10) * MHZ)
    d = cfg.dividers
    assert cfg.f_out == Fraction(1485, 10) * MHZ
    assert (d["CLKFBOUT_MULT_F"] * 8).denominator == 1
    assert (d["CLKOUT0_DIVIDE_F"] * 8).denominator == 1


def _check_setting(flow, cfg):
    """Every frequency inside its documented range; the output equals the divider formula."""
    lim = LIMITS[flow]
    d = cfg.dividers
    for name, f in (("pfd", cfg.f_pfd), ("vco", cfg.f_vco), ("output", cfg.f_out)):
        lo, hi = lim[name]
        assert lo * MHZ <= f <= hi * MHZ, (name, f)
    if flow == "ecp5":
        assert 1 <= d["CLKI_DIV"] <= 128 and 1 <= d["CLKFB_DIV"] <= 80
        assert 1 <= d["CLKOP_DIV"] <= 128
        assert cfg.f_out == cfg.f_in / d["CLKI_DIV"] * d["CLKFB_DIV"]
        assert cfg.f_vco == cfg.f_out * d["CLKOP_DIV"]          # feedback from CLKOP
    elif flow == "ice40":
        assert 0 <= d["DIVR"] <= 15 and 0 <= d["DIVF"] <= 127 and 1 <= d["DIVQ"] <= 6
        assert cfg.f_vco == cfg.f_in / (d["DIVR"] + 1) * (d["DIVF"] + 1)
        assert cfg.f_out == cfg.f_vco / 2 ** d["DIVQ"]
        assert 1 <= d["FILTER_RANGE"] <= 6
    else:
        m, o = d["CLKFBOUT_MULT_F"], d["CLKOUT0_DIVIDE_F"]
        assert 1 <= d["DIVCLK_DIVIDE"] <= 106 and 2 <= m <= 64 and 1 <= o <= 128
        assert (m * 8).denominator == 1 and (o * 8).denominator == 1
        assert cfg.f_vco == cfg.f_in / d["DIVCLK_DIVIDE"] * m
        assert cfg.f_out == cfg.f_vco / o


@pytest.mark.parametrize("flow,f_in", [("ecp5", 25), ("ice40", 12), ("vivado", 100)])
def test_settings_in_range_over_a_sweep(flow, f_in):
    lo, hi = achievable_range(flow, f_in * MHZ)
    for mhz in (17, 23.5, 30, 33.333, 40, 48, 55, 66.6, 75, 90, 100, 125, 150, 200, 250):
        if not lo <= mhz * MHZ <= hi:
            continue
        try:
            cfg = pll_config(flow, f_in * MHZ, mhz * MHZ)
        except FpgacError as exc:               # inexact: must name the nearest settings
            assert "nearest" in str(exc)
            continue
        _check_setting(flow, cfg)
        assert abs(cfg.f_out - cfg.requested) <= TOLERANCE * cfg.requested


@pytest.mark.parametrize("flow,f_in,f_out,text", [
    ("ecp5", 25, 500, "expected 10 MHz..400 MHz"),
    ("ecp5", 25, 5, "expected 10 MHz..400 MHz"),
    ("ice40", 12, 10, "expected 16.125 MHz..270 MHz"),
    ("ice40", 12, 300, "expected 16.125 MHz..270 MHz"),
    ("vivado", 100, 3, "expected 4.69 MHz..464 MHz"),
    ("vivado", 100, 500, "expected 4.69 MHz..464 MHz"),
])
def test_out_of_range_refused_with_range(flow, f_in, f_out, text):
    with pytest.raises(FpgacError, match="--clock-mhz") as exc:
        pll_config(flow, f_in * MHZ, f_out * MHZ)
    assert text in str(exc.value)


def test_inexact_request_names_nearest():
    # 12 MHz * (DIVF+1) / 2**DIVQ: 31.3 MHz is 0.6 % from 31.125 and 31.5 (> 0.5 %)
    with pytest.raises(FpgacError, match=r"nearest: 31.125 MHz or 31.5 MHz"):
        pll_config("ice40", 12 * MHZ, 31.3 * MHZ)
    # within the tolerance: the nearest setting, stated exactly
    cfg = pll_config("ice40", 12 * MHZ, 31.4 * MHZ)
    assert cfg.f_out == Fraction(315, 10) * MHZ and cfg.requested == Fraction(314, 10) * MHZ


def test_input_out_of_range_refused():
    with pytest.raises(FpgacError, match="input clock"):
        pll_config("ice40", 5 * MHZ, 30 * MHZ)
    with pytest.raises(FpgacError, match="flow"):
        pll_config("gowin", 5 * MHZ, 30 * MHZ)


def test_plan_clock_default_oscillator_and_errors():
    ice = get_board("icebreaker")
    assert plan_clock(ice, 12).pll is None                    # below the PLL's 16 MHz
    assert plan_clock(ice, 12).hz == 12e6
    ck = plan_clock(ice, None)
    assert ck.pll is not None and ck.hz == ck.pll.f_out
    assert plan_clock(get_board("ulx3s"), 25).pll is not None  # the PLL can make 25 MHz
    assert plan_clock(get_board("arty"), None).mhz >= 100
    with pytest.raises(FpgacError, match="--clock-mhz"):
        plan_clock(ice, -3)
    with pytest.raises(FpgacError, match="--clock-mhz: expected 16.125 MHz..270 MHz"):
        plan_clock(ice, 400)


@pytest.fixture(scope="module")
def tiny_plan():
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "fixtures" / "models" / "tiny_int.yml"
    model = load_model(path)
    return plan_hardware(model, pes=1, pixel_lut=pixel_table(model))


@pytest.mark.parametrize("board,mhz", [("icebreaker", 30), ("ulx3s", 40), ("arty", 100),
                                       ("ulx3s", 25)])
def test_clockgen_on_platform(tmp_path, tiny_plan, board, mhz):
    b = get_board(board)
    clock = plan_clock(b, mhz)
    top = BoardTop(tiny_plan, b, baud=115200, clk_freq=clock.hz)
    plat = b.make_platform()
    plat.build(ClockedTop(top, clock), name="top", do_build=False, emit_src=False,
               ).extract(str(tmp_path))
    d = clock.pll.dividers
    # the UART divisor follows the PLL clock, not the oscillator
    assert top.harness._divisor == uart_divisor(clock.hz, 115200)
    if b.flow == "vivado":
        text = (tmp_path / "top.v").read_text()
        assert "MMCME2_BASE" in text and "BUFG " in text
        assert f".CLKFBOUT_MULT_F({float(d['CLKFBOUT_MULT_F'])})" in text
        xdc = (tmp_path / "sync_clock.xdc").read_text()
        assert "create_generated_clock" in xdc and "pll/CLKOUT0" in xdc
        assert 'read_xdc "sync_clock.xdc"' in (tmp_path / "top.tcl").read_text()
        assert "create_clock -name clk100_0__io -period 10.0" in (tmp_path /
                                                                  "top.xdc").read_text()
        return
    rtlil = (tmp_path / "top.il").read_text()
    if b.flow == "ecp5":
        assert "cell \\EHXPLLL" in rtlil
        for name in ("CLKI_DIV", "CLKFB_DIV", "CLKOP_DIV"):
            assert f"parameter \\{name} {d[name]}" in rtlil
        assert 'FREQUENCY PORT "clk25_0__io" 25000000.0 HZ' in (tmp_path / "top.lpf").read_text()
    else:
        assert "cell \\SB_PLL40_PAD" in rtlil
        for name in ("DIVR", "DIVF", "DIVQ", "FILTER_RANGE"):
            assert f"parameter \\{name} {d[name]}" in rtlil
        assert "set_frequency clk12_0__io 12.0" in (tmp_path / "top.pcf").read_text()


def test_pll_top_resets_the_core_from_one_register(tmp_path, tiny_plan):
    """With the PLL, the lock reset reaches the design on the top's ``por`` and ``sync``'s own
    reset is undriven, so the core's flip-flops read one register, the harness's
    ``core_rst``, on their ECP5 ``LSR`` pin (Yosys ``synth_ecp5`` with the open flow's script).
    Before, the domain's reset was the lock reset and Amaranth ORed it with ``core_rst``: one
    LUT in front of every core flip-flop's reset (the ULX3S P = 64 routes' worst path)."""
    import json
    from collections import Counter

    from ecp5_synth import synth_ecp5

    from fpgac.boards.tools import platform_overrides

    b = get_board("ulx3s")
    clock = plan_clock(b, 40)
    top = BoardTop(tiny_plan, b, baud=115200, clk_freq=clock.hz)
    b.make_platform().build(ClockedTop(top, clock), name="top", do_build=False,
                            emit_src=False).extract(str(tmp_path))
    synth_ecp5(tmp_path, "s", (tmp_path / "top.il").read_text(),
               platform_overrides("ecp5")["script_after_read"], "write_json s.json")
    mod = json.loads((tmp_path / "s.json").read_text())["modules"]["top"]
    driver = {bit: (cell["type"], name) for name, cell in mod["cells"].items()
              for port, way in cell["port_directions"].items() if way == "output"
              for bit in cell["connections"][port]}
    fanout = Counter(cell["connections"]["LSR"][0] for cell in mod["cells"].values()
                     if cell["type"] == "TRELLIS_FF"
                     and isinstance(cell["connections"].get("LSR", [None])[0], int))
    (net, most), = fanout.most_common(1)
    kind, name = driver[net]
    assert kind == "TRELLIS_FF" and "core_rst" in name, (kind, name, most)
    # the lock reset (the harness's own flip-flops) and small local resets (a LUT of the
    # reset and a flip-flop's own clear condition) remain; no LUT drives a wide reset
    lut_nets = {n: c for n, c in fanout.items() if driver[n][0] != "TRELLIS_FF"}
    assert max(lut_nets.values()) < most // 10, (most, sorted(lut_nets.values())[-3:])


def test_every_board_has_a_default_clock():
    for name, board in BOARDS.items():
        for pes in (None, 1, 16, 64, 200):
            ck = plan_clock(board, None, pes=pes)
            assert ck.hz > 0 and ck.mhz == pytest.approx(default_clock_mhz(name, pes),
                                                         rel=float(TOLERANCE))
        table = DEFAULT_CLOCK_MHZ[name]
        if isinstance(table, tuple):                        # increasing P
            assert [p for p, _ in table] == sorted({p for p, _ in table})


def test_default_clock_table_takes_the_smallest_measured_p_at_or_above(monkeypatch):
    """A table default: the entry of the smallest measured P >= pes, the last one above the
    table, the lowest clock without a P; a plain default ignores P."""
    monkeypatch.setitem(DEFAULT_CLOCK_MHZ, "ulx3s", ((16, 90), (32, 80), (64, 60)))
    got = [default_clock_mhz("ulx3s", p) for p in (1, 16, 17, 32, 33, 64, 65)]
    assert got == [90, 90, 80, 80, 60, 60, 60]
    assert default_clock_mhz("ulx3s") == 60
    assert plan_clock(get_board("ulx3s"), None, pes=20).mhz == 80
    assert plan_clock(get_board("ulx3s"), 50, pes=20).mhz == 50       # an explicit clock wins
    assert default_clock_mhz("arty", 3) == default_clock_mhz("arty") == 100


def _lock_reset_trace(delay, lock_wave):
    """``rst`` per cycle of a :class:`LockReset` driven with ``lock_wave`` (one value a cycle)."""
    from fpgac.hw.amsim import run_testbench

    dut = LockReset(delay)
    trace = []

    async def bench(ctx):
        for v in lock_wave:
            ctx.set(dut.lock, v)
            await ctx.tick()
            trace.append(ctx.get(dut.rst))

    run_testbench(dut, bench, period=1e-6)
    return trace


@pytest.mark.parametrize("delay", [1, 5])
def test_lock_reset_releases_after_lock_and_delay(delay):
    n = delay + 10
    trace = _lock_reset_trace(delay, [1] * n)
    first_low = trace.index(0)
    assert first_low == delay + 3          # rst low from cycle delay + 4 (1-based ticks)
    assert all(trace[:first_low]) and not any(trace[first_low:])


def test_lock_reset_holds_without_lock_and_reasserts_on_loss():
    assert all(_lock_reset_trace(3, [0] * 20))                     # never locked: in reset
    trace = _lock_reset_trace(3, [1] * 12 + [0] * 6 + [1] * 12)
    assert trace[:6] == [1] * 6 and trace[6:15] == [0] * 9          # released after lock
    # lock low from tick 12: 2 synchronizer ticks, ready, then rst: high from tick 15
    assert trace[15:21] == [1] * 6
    # lock high again from tick 18: released delay + 4 ticks later, at tick 24 (0-based 24)
    assert trace[21:24] == [1] * 3 and trace[24:] == [0] * 6


def test_overlap_plans_take_their_own_default_clock(monkeypatch):
    """A plan with the overlapped load takes ``OVERLAP_CLOCK_MHZ`` where the board has an
    entry (same rule over P), the others ``DEFAULT_CLOCK_MHZ``; ``plan_clock`` follows."""
    from fpgac.boards.clock import OVERLAP_CLOCK_MHZ

    monkeypatch.setitem(DEFAULT_CLOCK_MHZ, "ulx3s", ((16, 90), (64, 60)))
    monkeypatch.setitem(OVERLAP_CLOCK_MHZ, "ulx3s", ((16, 95), (64, 70)))
    assert [default_clock_mhz("ulx3s", p) for p in (8, 40)] == [90, 60]
    assert [default_clock_mhz("ulx3s", p, overlap=True) for p in (8, 40)] == [95, 70]
    assert plan_clock(get_board("ulx3s"), None, pes=40, overlap=True).mhz == 70
    assert plan_clock(get_board("ulx3s"), None, pes=40).mhz == 60
    assert default_clock_mhz("arty", 35, overlap=True) == 100      # no overlap entry
