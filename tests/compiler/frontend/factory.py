"""Random small valid IR models for tests (NumPy RNG, reproducible from a seed).

``random_model(seed, legacy=True)`` has exactly the legacy LeNet-style topology (so it can be
written as an ``int_values`` file); ``legacy=False`` uses what only the own format can say:
stride, explicit padding, a 3x3/1 max-pool, a fused ReLU, ``half_up`` rounding, 6-bit values,
non-default preprocessing and a non-MNIST input.
"""

from __future__ import annotations

import numpy as np

from fpgac.compiler.ir import (Conv2d, Flatten, InputSpec, Linear, MaxPool2d, Model, QuantParams,
                               ReLU)


def _quant(rng: np.random.Generator, n: int) -> QuantParams:
    return QuantParams(float(rng.uniform(1e-3, 0.2)), int(rng.integers(0, 1 << n)))


def _weighted(rng, cls, name, shape, in_q, n, sparsity, **kw):
    wz = int(rng.integers(0, 1 << n))
    weight = rng.integers(0, 1 << n, size=shape, dtype=np.int64)
    weight[rng.random(shape) < sparsity] = wz
    bias = None
    if rng.random() < 0.8:
        bias = rng.integers(-5000, 5000, size=shape[0], dtype=np.int64)
        bias[rng.random(shape[0]) < 0.3] = 0
    return cls(name=name, weight=weight, bias=bias, in_q=in_q, out_q=_quant(rng, n),
               w_scale=float(rng.uniform(1e-4, 1e-2)), w_zero_point=wz,
               mn=int(rng.integers(0, 12)), mqm0=int(rng.integers(1 << (n - 1), (1 << n) + 1)),
               n_bits=n, **kw)


def random_model(seed: int = 0, *, legacy: bool = True, sparsity: float = 0.7) -> Model:
    """A valid random model; ``legacy`` selects the legacy-expressible topology."""
    rng = np.random.default_rng(seed)
    if legacy:
        n = 8
        in_q = _quant(rng, n)
        c1 = _weighted(rng, Conv2d, "conv1", (2, 1, 3, 3), in_q, n, sparsity, padding=1)
        c2 = _weighted(rng, Conv2d, "conv2", (3, 2, 5, 5), c1.out_q, n, sparsity)
        c3 = _weighted(rng, Conv2d, "conv3", (4, 3, 5, 5), c2.out_q, n, sparsity)
        f1 = _weighted(rng, Linear, "fc1", (6, 4), c3.out_q, n, sparsity)
        f2 = _weighted(rng, Linear, "fc2", (10, 6), f1.out_q, n, sparsity)
        ops = [c1, ReLU("conv1_relu"), MaxPool2d(2, 2, "conv1_pool"),
               c2, ReLU("conv2_relu"), MaxPool2d(2, 2, "conv2_pool"),
               c3, ReLU("conv3_relu"), Flatten("flatten"),
               f1, ReLU("fc1_relu"), f2]
        return Model(InputSpec((1, 28, 28), in_q, n), ops, f2.out_q, "floor", f"rand{seed}",
                     "fpgac")
    n = 6
    in_q = _quant(rng, n)
    c1 = _weighted(rng, Conv2d, "c1", (3, 2, 3, 3), in_q, n, sparsity, stride=2, padding=1)
    c2 = _weighted(rng, Conv2d, "c2", (4, 3, 3, 3), c1.out_q, n, sparsity, relu=True)
    f1 = _weighted(rng, Linear, "f1", (5, 4), c2.out_q, n, sparsity)
    ops = [c1, ReLU("r1"), MaxPool2d(3, 1, "p1"), c2, Flatten("flat"), f1, ReLU("r2")]
    return Model(InputSpec((2, 9, 9), in_q, n, mean=0.1307, std=0.3081), ops, f1.out_q,
                 "half_up", f"free{seed}", "fpgac")


def random_float_weights(model: Model, seed: int = 0) -> dict:
    """A float twin for ``model``: weights with zeros where the integer weight is ``wz``."""
    rng = np.random.default_rng(seed + 1000)
    out = {}
    for op in model.weighted:
        w = rng.normal(0, 0.1, size=op.weight.shape)
        w[op.weight == op.w_zero_point] = 0.0
        b = None if op.bias is None else rng.normal(0, 0.01, size=op.bias.shape)
        out[op.name] = (w, b)
    return out


def assert_same_model(a: Model, b: Model, *, ignore=("source_format",)) -> None:
    """Every field and array of ``a`` and ``b`` equal (exactly; floats bit-for-bit)."""
    for field in ("name", "rounding", "out_q", "input", "source_format"):
        if field not in ignore:
            assert getattr(a, field) == getattr(b, field), field
    assert len(a.ops) == len(b.ops)
    for x, y in zip(a.ops, b.ops):
        assert type(x) is type(y), (x, y)
        for key, value in vars(x).items():
            other = vars(y)[key]
            if isinstance(value, np.ndarray) or isinstance(other, np.ndarray):
                assert isinstance(value, np.ndarray) and isinstance(other, np.ndarray), key
                assert value.dtype == np.int64 and other.dtype == np.int64, key
                assert value.shape == other.shape and (value == other).all(), (x.name, key)
            else:
                assert value == other and type(value) is type(other), (x.name, key, value, other)
