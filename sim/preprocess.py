"""Input preprocessing: 8-bit pixels to quantized input integers (``docs/semantics.md`` §1).

The whole transform is a function of one byte, so it is a 256-entry table. :func:`pixel_table`
is the single implementation: the golden model, the PyTorch integer mode and the hardware pixel
LUT all use it, so they agree by construction.

Contract
--------
For a pixel ``p`` in ``[0, 255]``, in IEEE float32, each operation rounded to float32 in this
order (the order of ``ToTensor`` + ``Normalize`` in PyTorch)::

    x = (float32(p) / float32(255) - float32(mean)) / float32(std)
    q = rint(x / float32(scale))                 # float32 division, round half to even
    q = q + zero_point                           # exact: no clamp (legacy-format.md)
    q = min(max(q, 0), 2**n_bits - 1)            # only when the spec says clamp=True

Without the clamp ``q`` may be ``2**n_bits``: the legacy calibration (``ins = 2/(2^n-1)``,
``inz = 2^(n-1)``) maps a white pixel there for n = 2, 5, 7, 9, 10, 11, 13..16. fpgac carries
that value exactly (one more bit in the hardware's pixel path). A table value below 0 or above
``2**n_bits`` is refused (:class:`~fpgac.errors.ModelError` naming the pixel): such a model
needs an explicit ``clamp: true``.

PyTorch's own ``torch.quantize_per_tensor`` is not one fixed function: its ``quint8`` kernel
evaluates ``rint(fma(x, 1/scale, zp))`` and its ``qint32`` kernel ``rint(x * (1/scale) + zp)``
(two float32 roundings). All three agree except when ``x / scale`` lies within a float32
rounding error of a half-integer, where they can differ by one; fpgac fixes the division form
above (what the legacy format documents, and what ``torch.round(x / scale)`` -- fake
quantization in training -- computes) so the table does not depend on the CPU's FMA. Beware the
scale ``2/255`` with zero point 128 (a min/max observer on ``[-1, 1]``): there every quotient is
within an ulp of ``p - 127.5``, and ``torch.quantize_per_tensor`` differs from this table in
about a quarter of the entries.
"""

from __future__ import annotations

import numpy as np

from fpgac.compiler.ir import InputSpec, Model
from fpgac.errors import FpgacError, ModelError

__all__ = ["pixel_table", "quantize_images", "input_max"]


def _spec(spec: InputSpec | Model) -> InputSpec:
    if isinstance(spec, Model):
        return spec.input
    if isinstance(spec, InputSpec):
        return spec
    raise TypeError(f"expected an InputSpec or a Model, got {type(spec).__name__}")


def _check_spec(spec: InputSpec) -> None:
    n = spec.n_bits
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 1 <= n <= 32:
        raise ModelError("input.n_bits", "an integer in [1, 32]", n)
    zp = spec.quant.zero_point
    if not isinstance(zp, (int, np.integer)) or isinstance(zp, bool) or not 0 <= zp < 2**n:
        raise ModelError("input.zero_point", f"an integer in [0, {2**n - 1}]", zp)
    scale = float(spec.quant.scale)
    if not (np.isfinite(scale) and np.float32(scale) > 0 and np.isfinite(np.float32(scale))):
        raise ModelError("input.scale", "a positive finite float32", spec.quant.scale)
    std = float(spec.std)
    if not (np.isfinite(std) and np.float32(std) != 0 and np.isfinite(np.float32(std))):
        raise ModelError("input.std", "a non-zero finite float32", spec.std)
    if not np.isfinite(np.float32(spec.mean)):
        raise ModelError("input.mean", "a finite float32", spec.mean)


def pixel_table(spec: InputSpec | Model) -> np.ndarray:
    """The 256-entry pixel table of an input spec.

    Parameters
    ----------
    spec
        The network input (``model.input``); a :class:`~fpgac.compiler.ir.Model` is accepted
        too and its ``input`` is used.

    Returns
    -------
    numpy.ndarray
        ``int64``, shape ``(256,)``: entry ``p`` is the quantized input integer of pixel value
        ``p``, in ``[0, 2**n_bits]`` (``[0, 2**n_bits - 1]`` with ``clamp``; module docstring
        for the exact float32 arithmetic).

    Raises
    ------
    ModelError
        If ``n_bits``, the zero point, the scale or ``std`` are out of range, or (without
        ``clamp``) a pixel quantizes outside ``[0, 2**n_bits]``.
    """
    spec = _spec(spec)
    _check_spec(spec)
    f32 = np.float32
    p = np.arange(256, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        x = (p / f32(255) - f32(spec.mean)) / f32(spec.std)
        t = np.rint(x / f32(spec.quant.scale))
    if not np.all(np.isfinite(t)):
        raise ModelError("input.scale", "a scale for which every pixel quantizes to a finite value",
                         spec.quant.scale)
    hi = 2**spec.n_bits - 1
    # Clip in float64 first: a float32 value may exceed the int64 range.
    t = np.clip(t.astype(np.float64), -(2.0**40), 2.0**40).astype(np.int64)
    q = t + int(spec.quant.zero_point)
    if getattr(spec, "clamp", False):
        return np.clip(q, 0, hi).astype(np.int64)
    bad = np.nonzero((q < 0) | (q > hi + 1))[0]
    if bad.size:
        p = int(bad[0])
        raise ModelError("input.scale", f"a scale and zero point that map every pixel into "
                         f"[0, {hi + 1}] (or an explicit input clamp)",
                         f"pixel {p} -> {int(q[p])}")
    return q.astype(np.int64)


def input_max(spec: InputSpec | Model) -> int:
    """The largest input integer the model can see: ``2**n_bits`` when some pixel quantizes
    one past the n-bit range (module docstring), else ``2**n_bits - 1``.

    The golden model's accumulator bound and the hardware's pixel width use it. Never raises
    for a table outside ``[0, 2**n_bits]``: :func:`pixel_table`
    refuses such a table where it is built (``2**n_bits - 1`` is returned for it).
    """
    spec = _spec(spec)
    top = 2**spec.n_bits - 1
    if getattr(spec, "clamp", False):
        return top
    try:
        return max(top, int(pixel_table(spec).max()))
    except ModelError:
        return top         # a table outside [0, 2**n] is refused where it is built


def quantize_images(images: np.ndarray, spec: InputSpec | Model) -> np.ndarray:
    """Quantize raw 8-bit images with :func:`pixel_table`.

    Parameters
    ----------
    images
        ``uint8`` array ``[N, H, W]`` (one channel) or ``[N, C, H, W]``; integer arrays of
        another dtype are accepted when every value is in ``[0, 255]``.
    spec
        The network input spec (or a model). ``(C, H, W)`` must equal ``spec.shape``.

    Returns
    -------
    numpy.ndarray
        ``int64`` ``[N, C, H, W]``, each value in ``[0, input_max(spec)]``.

    Raises
    ------
    FpgacError
        On a wrong dtype, rank, shape or pixel range.
    """
    spec = _spec(spec)
    arr = np.asarray(images)
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.integer):
            raise FpgacError(f"images: expected uint8 pixels, found dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise FpgacError(f"images: expected pixels in [0, 255], found values in "
                             f"[{arr.min()}, {arr.max()}]")
        arr = arr.astype(np.uint8)
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4:
        raise FpgacError(f"images: expected shape [N, H, W] or [N, C, H, W], "
                         f"found shape {list(np.asarray(images).shape)}")
    want = tuple(int(d) for d in spec.shape)
    if tuple(arr.shape[1:]) != want:
        raise FpgacError(f"images: expected per-image shape (C, H, W) = {want} (the model input), "
                         f"found {tuple(arr.shape[1:])}")
    return pixel_table(spec)[arr]
