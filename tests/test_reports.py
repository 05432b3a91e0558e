"""HTML reports (build, verify, eval) rendered in headless Chromium; mismatch location; traces.

The pages are rendered by a real browser (Debian ``chromium``, installed by
``scripts/setup --test``) and the screenshots are checked: the embedded matplotlib figures
must show up as pixels of their colours (bars, confusion matrix), not only the HTML text.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fpgac.compiler.frontend import save_model
from fpgac.compiler.plan import plan_hardware
from fpgac.reports import build_page, memory_parts, verify_page, write_page
from fpgac.sim import diagnose
from fpgac.sim.preprocess import pixel_table
from fpgac.sim.randmodel import random_model

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "lenet5_g90_8b.yml"
BAR_BLUE = (47, 111, 176)          # "#2f6fb0": bars of the cycle and resource figures
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, out: Path, height: int = 2600) -> np.ndarray:
    """Render ``page`` in headless Chromium; return the screenshot as ``uint8 [H, W, 3]``."""
    from PIL import Image

    if CHROMIUM is None:
        pytest.skip("chromium not installed (scripts/setup --test installs it)")
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--screenshot={out}", f"--window-size=1200,{height}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert out.is_file(), proc.stderr[-2000:]
    return np.asarray(Image.open(out).convert("RGB"))


def colour_pixels(img: np.ndarray, rgb, tol: int = 6) -> int:
    return int((np.abs(img.astype(int) - np.array(rgb)).max(axis=2) <= tol).sum())


def _small_model():
    return random_model(4, size=(6, 6), channels=(1, 1), n_bits=(4, 12), max_convs=2,
                        max_linears=2, strides=False, square=True)


def test_build_page_renders_with_figures(tmp_path):
    from fpgac.flows.build import build

    path = tmp_path / "m.fpgac.yml"
    save_model(_small_model(), path)
    report = build(path, "icebreaker", pes=2, out_dir=tmp_path / "b", pnr=False)
    page = tmp_path / "b" / "report.html"
    text = page.read_text()
    assert "data:image/png;base64," in text and "http" not in text.split("<body>")[1]
    img = screenshot(page, tmp_path / "build.png")
    assert img.shape[1] == 1200
    assert colour_pixels(img, BAR_BLUE) > 2000          # per-layer cycle bars drawn
    # the P&R variant shows the timing figure (Fmax vs clock)
    report = dict(report, fmax_mhz=30.5,
                  resources={"ICESTORM_LC": {"used": 1500, "available": 5280}})
    model = _small_model()
    plan = plan_hardware(model, pes=2, pixel_lut=pixel_table(model))
    text = build_page(report, plan)
    assert "timing met: Fmax 30.50 MHz" in text
    assert text.count("data:image/png;base64,") == 4


def test_memory_parts_add_up():
    model = _small_model()
    plan = plan_hardware(model, pes=3, pixel_lut=pixel_table(model))
    parts = memory_parts(plan)
    assert set(parts) == {"weights", "indices", "activations", "control", "other"}
    assert parts["activations"] == 3 * plan.mem_depth * plan.act_bits
    assert parts["weights"] + parts["indices"] == plan.rom_bits
    assert all(v > 0 for v in parts.values())


def test_eval_page_and_confusion_figure(tmp_path):
    from fpgac.cli import main

    fig, page = tmp_path / "conf.png", tmp_path / "eval.html"
    assert main(["eval", str(EXAMPLE), "--limit", "300", "--confusion", str(fig),
                 "--html", str(page)]) == 0
    from PIL import Image

    conf = np.asarray(Image.open(fig).convert("RGB"))
    assert conf.shape[0] > 300 and colour_pixels(conf, (8, 48, 107), tol=25) > 500
    img = screenshot(page, tmp_path / "eval.png")
    assert colour_pixels(img, (8, 48, 107), tol=25) > 500     # dark diagonal of "Blues"


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    from fpgac.compress.tiny import tiny_model

    path = tmp_path_factory.mktemp("tiny") / "tiny.fpgac.yml"
    save_model(tiny_model(0, train_images=0, epochs=0, sparsity=0.6), path)
    return path


@pytest.mark.slow
def test_verify_page_with_a_located_mismatch(tiny_path, tmp_path):
    from fpgac.compiler.frontend import load_model
    from fpgac.flows.verify import verify

    result = verify(tiny_path, images=2, pes=4, simulator="icarus", jobs=1,
                    build_dir=tmp_path / "rtl")
    assert result["passed"] and not result["mismatch_examples"]
    page = write_page(verify_page(result), tmp_path / "verify.html")
    img = screenshot(page, tmp_path / "verify.png")
    assert colour_pixels(img, BAR_BLUE) > 2000

    # a golden model whose second layer's bias differs: the RTL (built from the true model,
    # debug layout: every layer's map survives) first differs from it in that layer
    model = load_model(tiny_path)
    plan = plan_hardware(model, pes=4, pixel_lut=pixel_table(model), reuse_activations=False)
    wrong = copy.deepcopy(model)
    wrong.weighted[1].bias[:] += 1 << 10
    from fpgac.sim.mnist import load_mnist

    image = load_mnist("test")[0][0].reshape(1, 28, 28)
    first = diagnose.first_difference(wrong, plan, image, simulator="icarus",
                                      build_dir=tmp_path / "rtl")
    assert first is not None and first["index"] == 1 and first["layer"] == plan.layers[1].name
    assert first["rtl"] != first["golden"] and first["differing"] >= 1
    assert first["plan"] == "as built"
    assert diagnose.first_difference(model, plan, image, simulator="icarus",
                                     build_dir=tmp_path / "rtl") is None
    # the built plan reuses activation regions: diagnosis runs the model's debug plan
    reused = plan_hardware(model, pes=4, pixel_lut=pixel_table(model))
    assert reused.reuse_activations and not all(la.out_survives for la in reused.layers)
    assert diagnose.first_difference(model, reused, image, simulator="icarus",
                                     build_dir=tmp_path / "rtl") is None
    bad = dict(result, passed=False, mismatches=1, mismatch_examples=[{
        "image": 0, "rtl_class": 1, "golden_class": 2, "logit_indices": [3],
        "first_difference": first}], trace_command=diagnose.trace_command(tiny_path, 0, 4))
    text = verify_page(bad)
    assert f"layer {first['layer']} at" in text and "--trace image0.fst" in text


@pytest.mark.slow
def test_verify_trace_writes_an_fst(tiny_path, tmp_path, capsys):
    from fpgac.cli import main

    fst = tmp_path / "image1.fst"
    assert main(["verify", str(tiny_path), "--images", "2", "--pes", "8", "--jobs", "1",
                 "--trace", str(fst), "--trace-image", "1",
                 "--build-dir", str(tmp_path / "rtl")]) == 0
    assert f"image 1 -> {fst}" in capsys.readouterr().out
    raw = fst.read_bytes()
    # FST header block: type 0, then section length, start time and end time (big endian)
    assert raw[0] == 0 and b"Verilated" in raw[:512]
    end_time = int.from_bytes(raw[17:25], "big")
    assert end_time > 784 * 10                              # at least the pixel load, 10 ns


def test_verify_trace_argument_errors(tiny_path, capsys):
    from fpgac.cli import main

    assert main(["verify", str(tiny_path), "--images", "2", "--trace", "x.fst",
                 "--trace-image", "5"]) == 2
    assert "--trace-image: expected an index in [0, 1]" in capsys.readouterr().err
    assert main(["verify", str(tiny_path), "--simulator", "icarus", "--trace", "x.fst"]) == 2
    assert "--trace: expected --simulator verilator" in capsys.readouterr().err
