"""``bench/speed_bench.py``'s CPU side: the PyTorch twin of the model file and its int8
engines, timed briefly."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import speed_bench  # noqa: E402  (bench/ is a folder of scripts)

torch = pytest.importorskip("torch")


def test_cpu_figures_time_every_supported_int8_engine_and_keep_the_fastest():
    """float32 and int8 figures on 64 MNIST test images: each supported engine is timed, the
    headline int8 figure is the fastest one's, and both nets classify like golden on nearly
    every image (the twin is built from the file's integers; a wrong weight layout or scale
    would break the agreement)."""
    from fpgac.compiler.frontend import load_model
    from fpgac.sim import golden
    from fpgac.sim.mnist import load_mnist

    model = load_model(speed_bench.DEFAULT_MODEL)
    imgs, labels = load_mnist("test")
    sample = imgs[:64].reshape((64,) + tuple(model.input.shape))
    seen = []
    out = speed_bench.cpu_figures(model, sample, labels[:64].astype(np.int64), 0.05,
                                  seen.append, threads=(1,))
    supported = [e for e in speed_bench.INT8_ENGINES
                 if e in torch.backends.quantized.supported_engines]
    assert sorted(out["int8"]["per_engine"]) == sorted(supported) and supported
    fastest = max(supported, key=lambda e: out["int8"]["per_engine"][e]["images_per_s_batch256"])
    assert out["int8"]["engine"] == out["engine"] == fastest
    assert out["int8"]["images_per_s_batch256"] == \
        out["int8"]["per_engine"][fastest]["images_per_s_batch256"]
    assert any("int8 (" in line for line in seen)
    _, gold = golden.predict(model, sample)
    for name in ("float32", "int8"):
        assert out[name]["threads"] == 1 and out[name]["images_per_s_batch256"] > 0
        assert (out[name]["classes"] == gold).mean() >= 0.95, name
        assert out[name]["accuracy"] == (out[name]["classes"] == labels[:64]).mean()
