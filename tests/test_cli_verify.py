"""``fpgac verify``: output, JSON figures and exit status (0 pass, 1 mismatch, 2 user error)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fpgac.cli import main


@pytest.fixture(scope="module")
def tiny_yaml(tmp_path_factory):
    from fpgac.compiler.frontend import save_model
    from fpgac.compress.tiny import tiny_model

    path = tmp_path_factory.mktemp("verify") / "tiny.yml"
    save_model(tiny_model(1, train_images=300, epochs=1, sparsity=0.5), path)
    return path


@pytest.mark.slow
def test_verify_passes_and_writes_json(tiny_yaml, build_dir, tmp_path, capsys):
    out = tmp_path / "v.json"
    rep = tmp_path / "report.json"          # a build report: clock, Fmax and the design's P
    rep.write_text(json.dumps({"clock_mhz": 40.0, "fmax_mhz": 45.5, "pes": 8}))
    code = main(["verify", str(tiny_yaml), "--images", "30",              # P from the build
                 "--build-dir", str(build_dir), "--json", str(out), "--build-report", str(rep)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "mismatches 0 of 30 images vs golden" in text
    assert "PASS: bit-exact and cycle-exact" in text
    fig = json.loads(out.read_text())
    assert fig["mismatches"] == 0 and fig["cycle_mismatches"] == 0 and fig["images"] == 30
    assert fig["pes"] == 8 and fig["weight_store"] == "rom" and fig["overlap"] is False
    assert fig["simulated_compute_cycles_min"] == fig["predicted_compute_cycles"]
    assert fig["simulated_compute_cycles_max"] == fig["predicted_compute_cycles"]
    assert 0 < fig["pe_utilization"] <= 1
    assert fig["accuracy_rtl"] == fig["accuracy_golden"]
    assert fig["sim_images_per_second"] > 0
    sp = fig["speed"]
    cyc, load = fig["predicted_compute_cycles"], fig["load_cycles"]
    assert sp["images"] == 30 and sp["source"] == "simulated"
    assert sp["compute_cycles"] == {"mean": cyc, "min": cyc, "max": cyc}
    assert sp["latency_cycles"]["max"] == cyc + load
    assert sp["clock_mhz"] == 40.0 and sp["fmax_mhz"] == 45.5
    assert sp["images_per_s_at_clock"] == pytest.approx(40e6 / (cyc + load))
    assert sp["images_per_s_at_fmax"] == pytest.approx(45.5e6 / (cyc + load))
    assert sp["latency_us_at_clock"]["mean"] == pytest.approx((cyc + load) / 40.0)
    # the printed latency is the report's (a tie such as 255.75 us may round either way)
    assert f"images/s, {sp['latency_us_at_clock']['mean']:.1f} us at 40 MHz" in text


@pytest.mark.slow
def test_verify_reports_mismatch_with_exit_1(tiny_yaml, build_dir, monkeypatch, capsys):
    from fpgac.sim import golden

    real = golden.predict

    def off_by_one(model, images, **kw):          # a golden model that disagrees on image 2
        logits, klass = real(model, images, **kw)
        logits = logits.copy()
        logits[2, 4] += 1
        return logits, np.argmax(logits, axis=1)

    monkeypatch.setattr(golden, "predict", off_by_one)
    code = main(["verify", str(tiny_yaml), "--images", "5", "--pes", "8",
                 "--build-dir", str(build_dir)])
    text = capsys.readouterr().out
    assert code == 1
    assert "mismatches 1 of 5 images vs golden (logits 1," in text
    assert "image 2: class rtl" in text and "logits differ at [4]" in text
    assert "FAIL" in text


def test_verify_user_errors_exit_2(tmp_path, tiny_yaml, capsys):
    assert main(["verify", str(tmp_path / "missing.yml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fpgac verify: error: ") and len(err.strip().splitlines()) == 1
    assert main(["verify", str(tiny_yaml), "--images", "10001"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("fpgac verify: error: --images: expected at most 10000 (test images "
                   "available), found 10001")
    assert main(["verify", str(tiny_yaml), "--build-report", str(tmp_path / "no.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fpgac verify: error: --build-report: expected a readable report.json")
    (tmp_path / "r.json").write_text("{}")
    assert main(["verify", str(tiny_yaml), "--build-report", str(tmp_path / "r.json")]) == 2
    assert "expected key clock_mhz" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(tiny_yaml), "--pes", "0"])
    assert exc.value.code == 2
    assert "expected a positive integer, found 0" in capsys.readouterr().err


@pytest.mark.slow
def test_verify_parallel_split_matches_serial(tiny_yaml, build_dir, monkeypatch, tmp_path):
    """Two simulator processes over the images give the same figures as one."""
    from fpgac.flows import verify as vmod

    serial = vmod.verify(tiny_yaml, images=9, pes=8, build_dir=build_dir, jobs=1)
    monkeypatch.setattr(vmod, "PARALLEL_MIN", 4)
    calls = []
    real = vmod._simulate_parallel

    def spy(*args, **kw):
        calls.append(args[2])
        return real(*args, **kw)

    monkeypatch.setattr(vmod, "_simulate_parallel", spy)
    par = vmod.verify(tiny_yaml, images=9, pes=8, build_dir=build_dir, jobs=2)
    assert calls == [2]
    for key in ("mismatches", "cycle_mismatches", "simulated_compute_cycles_mean",
                "accuracy_rtl", "predicted_compute_cycles"):
        assert par[key] == serial[key], key
    assert par["passed"] and par["images"] == 9


@pytest.mark.slow
def test_verify_the_loaded_weight_store(tiny_yaml, build_dir, monkeypatch, tmp_path, capsys):
    """``--weight-store loaded``: every simulator process uploads the weight image (with its
    CRC-16) before the images; bit-exact and cycle-exact, the upload reported taken."""
    from fpgac.flows import verify as vmod

    monkeypatch.setattr(vmod, "PARALLEL_MIN", 4)             # the parallel path: 2 uploads
    out = tmp_path / "v.json"
    code = main(["verify", str(tiny_yaml), "--images", "9", "--pes", "4", "--jobs", "2",
                 "--weight-store", "loaded", "--build-dir", str(build_dir),
                 "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "weights    loaded store: upload taken, CRC-16 match" in text
    assert "mismatches 0 of 9 images vs golden" in text
    fig = json.loads(out.read_text())
    assert fig["weight_store"] == "loaded" and fig["weight_upload"]["ok"]
    assert fig["cycle_mismatches"] == 0 and fig["passed"]
    rom = vmod.verify(tiny_yaml, images=2, pes=4, build_dir=build_dir, jobs=1)
    assert rom["weight_store"] == "rom" and rom["weight_upload"] is None
    assert rom["predicted_compute_cycles"] == fig["predicted_compute_cycles"]


@pytest.mark.slow
def test_verify_overlap_back_to_back(tiny_yaml, build_dir, monkeypatch, tmp_path, capsys):
    """``--overlap``: the images run back to back in one simulator process even where the run
    would be split; bit-exact, every compute count and every start-to-start interval equal to
    the cycle model; images/s over the interval. A build report must agree on the design, and
    stalls are refused."""
    from fpgac.flows import verify as vmod

    monkeypatch.setattr(vmod, "PARALLEL_MIN", 4)
    monkeypatch.setattr(vmod, "_simulate_parallel", None)     # must not be called
    out = tmp_path / "v.json"
    code = main(["verify", str(tiny_yaml), "--images", "6", "--pes", "4", "--jobs", "2",
                 "--overlap", "--clock-mhz", "100", "--build-dir", str(build_dir),
                 "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    fig = json.loads(out.read_text())
    assert fig["overlap"] and fig["passed"] and fig["interval_mismatches"] == 0
    want = fig["predicted_interval_cycles"]
    assert fig["simulated_interval_cycles_min"] == fig["simulated_interval_cycles_max"] == want
    assert want < fig["load_cycles"] + fig["predicted_compute_cycles"]
    assert fig["speed"]["images_per_s_at_clock"] == pytest.approx(100e6 / want)
    assert f"interval   {want} simulated, {want} predicted start to start" in text
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"clock_mhz": 100, "overlap": False, "pes": 4}))
    code = main(["verify", str(tiny_yaml), "--images", "2", "--overlap",
                 "--build-report", str(report)])
    assert code == 2 and "--overlap: expected --no-overlap" in capsys.readouterr().err
    code = main(["verify", str(tiny_yaml), "--images", "2", "--overlap", "--stalls", "3"])
    assert code == 2 and "stalls: expected none with overlap" in capsys.readouterr().err


def test_verify_takes_the_design_from_the_build_report_and_refuses_another(tiny_yaml,
                                                                            tmp_path, capsys):
    """With ``--build-report`` the design options default to the build's (P, weight store,
    overlap); an option that contradicts it would give another design's figures at that
    build's clock, so it is refused with the key, expected and found."""
    from fpgac.commands.verify import _design_args
    from fpgac.cli import build_parser

    rep = tmp_path / "report.json"
    rep.write_text(json.dumps({"clock_mhz": 55.0, "pes": 64, "overlap": True,
                               "board": "ulx3s", "compute_cycles": 1234,
                               "weight_store": {"kind": "loaded", "spram_blocks": 4}}))

    def design(*argv):
        return _design_args(build_parser().parse_args(["verify", str(tiny_yaml), *argv]))

    assert design("--build-report", str(rep)) == (64, "loaded", True, "ulx3s", 1234)
    assert design("--build-report", str(rep), "--pes", "64", "--overlap", "--board", "ulx3s",
                  "--weight-store", "loaded") == (64, "loaded", True, "ulx3s", 1234)
    assert design() == (16, None, None, None, None)       # overlap: off (no board)
    assert design("--pes", "3", "--overlap", "--board", "arty") == (3, None, True, "arty", None)
    # P and overlap: the build's defaults (--pes auto, --overlap auto)
    assert design("--board", "icebreaker") == (None, None, None, "icebreaker", None)
    for argv, message in (
            (["--pes", "16"], "--pes: expected --pes 64 (the build in"),
            (["--no-overlap"], "--no-overlap: expected --overlap (the build in"),
            (["--board", "arty"], "--board: expected --board ulx3s (the build in"),
            (["--weight-store", "rom"], "--weight-store: expected --weight-store loaded")):
        assert main(["verify", str(tiny_yaml), "--images", "2", "--build-report", str(rep),
                     *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and "found " + " ".join(argv) in err, err
        assert len(err.strip().splitlines()) == 1


def test_verify_refuses_a_build_report_of_another_design(tiny_yaml, tmp_path, capsys):
    """The plan verified must predict the build's compute cycles: a report of another design
    (another model or fpgac version) is refused before anything is simulated."""
    rep = tmp_path / "report.json"
    rep.write_text(json.dumps({"clock_mhz": 100.0, "pes": 3, "overlap": False,
                               "board": "arty", "compute_cycles": 1,
                               "weight_store": {"kind": "rom"}}))
    assert main(["verify", str(tiny_yaml), "--images", "2", "--build-report", str(rep)]) == 2
    err = capsys.readouterr().err
    assert "build report: expected compute_cycles" in err and "found 1:" in err, err
    assert len(err.strip().splitlines()) == 1


def test_verify_netlist_needs_an_open_flow_board(tiny_yaml, capsys):
    for argv, found in (([], "found no board"), (["--board", "arty"], "found arty"),
                        (["--board", "ulx3s"], "found ulx3s (Yosys 0.70 ships DP16KD")):
        assert main(["verify", str(tiny_yaml), "--images", "2", "--netlist", *argv]) == 2
        err = capsys.readouterr().err
        assert "--netlist: expected --board (or a --build-report of) icebreaker (a flow" in err
        assert found in err and len(err.strip().splitlines()) == 1, err


def test_verify_board_plans_the_builds_default_overlap(tiny_yaml):
    """``fpgac verify --board B`` without ``--overlap`` simulates the core ``fpgac build
    --board B`` makes: the overlap plan where the build's default (``--overlap auto``) takes
    it (ULX3S, Arty), the plain one on the iCEBreaker, without a board and with
    ``--no-overlap``."""
    from fpgac.compiler.frontend import load_model
    from fpgac.flows.verify import _plan

    model = load_model(tiny_yaml)
    assert _plan(model, 2, "ulx3s", None, None).overlap is True
    assert _plan(model, 2, "arty", None, None).overlap is True
    assert _plan(model, 2, "icebreaker", None, None).overlap is False
    assert _plan(model, 2, "ulx3s", None, False).overlap is False
    assert _plan(model, 2, None, None, None).overlap is False
