"""Random models end to end: golden vs big-int reference vs PyTorch integer mode (0 LSB),
file round trips, and the generator's own contract (seeded, valid, covering the corners).

RTL comparisons of random models are in ``test_rel_rtl.py`` (slow).
"""

from __future__ import annotations

import numpy as np
import pytest

from fpgac.compiler import ir
from fpgac.compiler.frontend import load_model, save_model
from fpgac.sim import golden
from fpgac.sim.preprocess import quantize_images
from fpgac.sim.randmodel import T_LIMIT, accumulator_bound, model_summary, random_model
from fpgac.sim.selftest import check_random_models, model_images, reference_logits

CI_MODELS = range(1000, 1150)


def test_random_models_golden_bigint_torch_agree(tmp_path):
    res = check_random_models(CI_MODELS, images=3, replay_dir=tmp_path)
    assert res.cases == len(CI_MODELS)
    assert res.failures == 0, res.line()
    assert not list(tmp_path.iterdir())


def test_generator_is_deterministic():
    for seed in (0, 17, 99):
        a, b = random_model(seed), random_model(seed)
        assert model_summary(a) == model_summary(b)
        for x, y in zip(a.weighted, b.weighted):
            assert np.array_equal(x.weight, y.weight)
            assert (x.bias is None and y.bias is None) or np.array_equal(x.bias, y.bias)
            assert (x.in_q, x.out_q, x.w_scale) == (y.in_q, y.out_q, y.w_scale)


def test_generator_covers_the_corners():
    models = [random_model(s) for s in range(400)]
    layers = [op for m in models for op in m.weighted]
    n_bits = {m.input.n_bits for m in models}
    assert n_bits == set(range(2, 17))
    assert {m.rounding for m in models} == {"floor", "half_up"}
    convs = [op for op in layers if isinstance(op, ir.Conv2d)]
    assert {op.kernel for op in convs} == set(range(1, 8))
    assert any(op.padding > 0 for op in convs) and any(op.stride == 2 for op in convs)
    assert any(isinstance(op, ir.MaxPool2d) for m in models for op in m.ops)
    sparsity = [float(np.mean(op.weight == op.w_zero_point)) for op in layers]
    assert min(sparsity) == 0.0 and max(sparsity) == 1.0
    assert any(0.95 < s < 1.0 for s in sparsity)
    dead = sum(bool(np.any(np.all(op.weight.reshape(op.weight.shape[0], -1) == op.w_zero_point,
                                  axis=1))) for op in layers)
    assert dead > 20
    assert any(op.w_zero_point == 0 for op in layers)
    assert any(op.w_zero_point == (1 << op.n_bits) - 1 for op in layers)
    assert any(op.in_q.zero_point == (1 << op.n_bits) - 1 for op in layers)
    assert any(op.mqm0 == 0 for op in layers) and any(op.mqm0 == 1 << op.n_bits for op in layers)
    assert any(op.mn == 64 for op in layers) and any(op.mn == -op.n_bits for op in layers)
    assert any(op.bias is None for op in layers)
    # 1x1-output convolutions (channel-parallel in hardware)
    assert any(isinstance(op, ir.Conv2d) for op in convs)
    for m in models:
        for op in m.weighted:
            bound = accumulator_bound(op.weight, op.bias, op.in_q.zero_point,
                                      op.w_zero_point, op.n_bits)
            assert bound * op.mqm0 < T_LIMIT
            assert 0 <= op.mqm0 <= 1 << op.n_bits and -op.n_bits <= op.mn <= 64
        golden.check_model(m)


def test_most_random_models_are_informative():
    """A model whose outputs are all saturated tests little: most must spread their logits."""
    spread = 0
    for s in range(60):
        m = random_model(s)
        logits = golden.run(m, quantize_images(model_images(m, s, 6), m))
        spread += len(np.unique(logits)) > 2
    assert spread >= 30


@pytest.mark.parametrize("layout", ["coo", "dense", "csr", "csc"])
def test_random_models_survive_own_format_round_trip(tmp_path, layout):
    for s in range(2000, 2025):
        m = random_model(s)
        path = tmp_path / f"{s}.yml"
        save_model(m, path, layout=layout)
        m2 = load_model(path)
        imgs = model_images(m, s, 3)
        a = golden.run(m, quantize_images(imgs, m))
        b = golden.run(m2, quantize_images(imgs, m2))
        assert np.array_equal(a, b), f"seed {s} ({layout})"


def test_checker_detects_a_wrong_implementation(monkeypatch, tmp_path):
    """Mutation check: a golden that is off by one on one logit is caught and saved."""
    real = golden.run

    def broken(model, q, **kw):
        out = np.array(real(model, q, **kw))
        out[0, 0] ^= 1
        return out
    monkeypatch.setattr(golden, "run", broken)
    res = check_random_models([5], images=2, replay_dir=tmp_path)
    assert res.failures == 1 and "golden vs bigint" in res.first_failure
    assert (tmp_path / "rand5.yml").exists() and (tmp_path / "rand5.images.npy").exists()


def test_reference_logits_shapes():
    m = random_model(3)
    out = reference_logits(m, model_images(m, 3, 2))
    assert set(out) == {"golden", "bigint", "torch"}
    assert all(v.shape == (2, m.weighted[-1].weight.shape[0]) for v in out.values())
