"""The pixel table against PyTorch's own normalisation and quantization, exact (no clamp, the
default and the legacy format's rule) and with an explicit clamp."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from fpgac.compiler.ir import InputSpec, QuantParams
from fpgac.errors import FpgacError, ModelError
from fpgac.sim.preprocess import input_max, pixel_table, quantize_images


def torch_x(mean: float, std: float) -> torch.Tensor:
    """What ``ToTensor`` + ``Normalize`` produce for every pixel value (float32)."""
    p = torch.arange(256, dtype=torch.uint8)
    return (p.float().div(255) - torch.tensor(mean)) / torch.tensor(std)


def torch_q(x: torch.Tensor, scale: float, zp: int, n_bits: int) -> np.ndarray:
    """``torch.quantize_per_tensor`` (qint32: no clamping inside torch), clamped to n bits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = torch.quantize_per_tensor(x, scale, zp, torch.qint32).int_repr()
    return np.clip(q.numpy().astype(np.int64), 0, 2**n_bits - 1)


def near_tie(x: torch.Tensor, scale: float) -> np.ndarray:
    """Pixels whose ``x / scale`` is within float32 rounding error of a half-integer."""
    r = x.numpy().astype(np.float64) / np.float64(np.float32(scale))
    return np.abs(np.abs(r - np.floor(r)) - 0.5) < 1e-5 * np.maximum(1, np.abs(r))


CASES = [  # scale, zero point, n_bits, mean, std
    (0.0078431, 128, 8, 0.5, 0.5),          # the value legacy files print
    (0.0123, 97, 8, 0.5, 0.5),
    (0.02, 40, 8, 0.1307, 0.3081),          # classic MNIST normalisation
    (0.1, 7, 4, 0.5, 0.5),                  # 4 bits: heavy clamping at both ends
    (0.5, 2, 3, 0.5, 0.5),
    (1 / 32768, 32768, 16, 0.5, 0.5),       # 16 bits
    (3e-4, 100, 12, 0.5, 0.5),
    (2.0, 0, 2, 0.5, 0.5),
]


@pytest.mark.parametrize("scale,zp,n_bits,mean,std", CASES)
def test_table_equals_torch(scale, zp, n_bits, mean, std):
    """Equal to torch's float32 ``round(x / scale)`` (what fake quantization in training
    computes) everywhere, and to ``torch.quantize_per_tensor`` except at near-ties."""
    spec = InputSpec((1, 28, 28), QuantParams(scale, zp), n_bits, mean=mean, std=std,
                     clamp=True)
    table = pixel_table(spec)
    assert table.dtype == np.int64 and table.shape == (256,)
    x = torch_x(mean, std)
    by_division = torch.clamp(torch.round(x / scale).to(torch.int64) + zp, 0, 2**n_bits - 1)
    np.testing.assert_array_equal(table, by_division.numpy())
    kernel = torch_q(x, scale, zp, n_bits)
    diff = table != kernel
    assert np.all(near_tie(x, scale)[diff]) and np.all(np.abs(table - kernel) <= 1)
    assert table.min() >= 0 and table.max() <= 2**n_bits - 1
    assert np.all(np.diff(table) >= 0)                       # monotone in the pixel


def test_exact_two_over_255_scale_sits_on_ties():
    """scale = 2/255, zp = 128 (what a min/max observer gives for [-1, 1]) puts x/scale within
    an ulp of p - 127.5 for every pixel: the division rule decides, and it must be fpgac's."""
    spec = InputSpec((1, 28, 28), QuantParams(2 / 255, 128), 8)
    table = pixel_table(spec)
    x = torch_x(0.5, 0.5)
    assert near_tie(x, 2 / 255).all()
    quotient = x.numpy() / np.float32(2 / 255)
    np.testing.assert_array_equal(table, np.clip(np.rint(quotient).astype(np.int64) + 128,
                                                 0, 255))
    assert (table != torch_q(x, 2 / 255, 128, 8)).sum() > 0   # torch's kernel rounds otherwise


def test_table_equals_torch_on_random_scales_up_to_ties():
    """Over many random scales, any disagreement with torch is one LSB at a near-tie only.

    torch's kernels compute ``x * (1/scale)`` (with or without FMA) where fpgac divides; the
    results can differ only where the quotient is within a rounding error of a half-integer.
    """
    rng = np.random.default_rng(0)
    x = torch_x(0.5, 0.5)
    exact = 0
    for _ in range(300):
        scale = float(10 ** rng.uniform(-3, 0))
        zp = int(rng.integers(0, 256))
        table = pixel_table(InputSpec((1, 28, 28), QuantParams(scale, zp), 8, clamp=True))
        ref = torch_q(x, scale, zp, 8)
        diff = table != ref
        exact += not diff.any()
        assert np.all(np.abs(table - ref)[diff] == 1)
        assert np.all(near_tie(x, scale)[diff])
    assert exact >= 290


def test_rounding_is_half_to_even():
    """With mean 0, std 1/255, scale 2 the float32 quotient is an exact half-integer for 65
    pixels; each goes to the even neighbour (0.5 -> 0, 1.5 -> 2, 2.5 -> 2), as torch.round."""
    spec = InputSpec((1, 1, 1), QuantParams(2.0, 0), 8, mean=0.0, std=1 / 255)
    table = pixel_table(spec)
    f32 = np.float32
    quotient = (np.arange(256, dtype=f32) / f32(255) - f32(0)) / f32(1 / 255) / f32(2)
    ties = quotient - np.floor(quotient) == 0.5
    assert ties.sum() == 65
    assert np.all(table[ties] % 2 == 0)
    np.testing.assert_array_equal(table[ties], np.floor(quotient[ties]) + (np.floor(quotient[
        ties]) % 2))
    x = torch.arange(256, dtype=torch.float32) / 255 / torch.tensor(1 / 255)
    np.testing.assert_array_equal(table, torch.round(x / 2.0).to(torch.int64).numpy())


def test_quantize_images_uses_the_table():
    rng = np.random.default_rng(1)
    spec = InputSpec((1, 5, 4), QuantParams(0.0123, 97), 8)
    images = rng.integers(0, 256, size=(6, 5, 4)).astype(np.uint8)
    q = quantize_images(images, spec)
    assert q.shape == (6, 1, 5, 4) and q.dtype == np.int64
    np.testing.assert_array_equal(q[:, 0], pixel_table(spec)[images])
    np.testing.assert_array_equal(quantize_images(images[:, None], spec), q)
    spec3 = InputSpec((3, 2, 2), QuantParams(0.0123, 97), 8)
    rgb = rng.integers(0, 256, size=(2, 3, 2, 2)).astype(np.uint8)
    np.testing.assert_array_equal(quantize_images(rgb, spec3), pixel_table(spec3)[rgb])


def test_bad_images_and_specs():
    spec = InputSpec((1, 5, 4), QuantParams(0.0123, 97), 8)
    with pytest.raises(FpgacError, match=r"images: expected per-image shape \(C, H, W\) = "
                                         r"\(1, 5, 4\) \(the model input\), found \(1, 4, 5\)"):
        quantize_images(np.zeros((2, 4, 5), dtype=np.uint8), spec)
    with pytest.raises(FpgacError, match=r"images: expected pixels in \[0, 255\], found "
                                         r"values in \[-1, 256\]"):
        quantize_images(np.stack([np.full((5, 4), 256), np.full((5, 4), -1)]), spec)
    with pytest.raises(FpgacError, match="images: expected uint8 pixels, found dtype float32"):
        quantize_images(np.zeros((1, 5, 4), dtype=np.float32), spec)
    with pytest.raises(ModelError, match=r"input.zero_point: expected an integer in \[0, 15\], "
                                         r"found 16"):
        pixel_table(InputSpec((1, 5, 4), QuantParams(0.1, 16), 4))
    with pytest.raises(ModelError, match="input.scale: expected a positive finite float32, "
                                         "found 0.0"):
        pixel_table(InputSpec((1, 5, 4), QuantParams(0.0, 1), 4))


#: Widths at which the legacy calibration of [-1, 1] maps a white pixel to 2**n
#: (legacy-format.md, "The input preprocessing").
ONE_PAST = {2, 5, 7, 9, 10, 11, 13, 14, 15, 16}


def legacy_input(n: int) -> tuple[float, int]:
    """The exporter's input calibration: [-1, 1] onto [0, 2^n - 1] (scale, zero point)."""
    scale = 2.0 / (2**n - 1)
    return scale, int(round(1.0 / scale))


@pytest.mark.parametrize("n", range(2, 17))
def test_exact_input_integer_at_every_width(n):
    """No clamp: the table is torch's float32 ``round(x / ins) + inz`` itself, at every width,
    and a white pixel gives exactly 2**n where the calibration puts it there."""
    scale, zp = legacy_input(n)
    spec = InputSpec((1, 28, 28), QuantParams(scale, zp), n)
    table = pixel_table(spec)
    x = torch_x(0.5, 0.5)
    exact = torch.round(x / torch.tensor(scale, dtype=torch.float32)).to(torch.int64) + zp
    np.testing.assert_array_equal(table, exact.numpy())
    assert table[0] == (0 if n in ONE_PAST else 1)      # float32 puts black on the other side
    assert table[255] == (2**n if n in ONE_PAST else 2**n - 1)
    assert input_max(spec) == table[255]
    clamped = pixel_table(InputSpec((1, 28, 28), QuantParams(scale, zp), n, clamp=True))
    np.testing.assert_array_equal(clamped, np.minimum(table, 2**n - 1))


def test_a_table_outside_0_to_2n_is_refused_without_clamp():
    spec = InputSpec((1, 5, 4), QuantParams(0.1, 7), 4)
    with pytest.raises(ModelError, match=r"input.scale: expected a scale and zero point that map "
                                         r"every pixel into \[0, 16\] \(or an explicit input "
                                         r"clamp\), found 'pixel 0 -> -3'"):
        pixel_table(spec)
    assert input_max(spec) == 15     # the refusal happens where the table is built
    spec.clamp = True
    assert pixel_table(spec).min() == 0 and input_max(spec) == 15
