"""The golden integer model: executes a :class:`~fpgac.compiler.ir.Model` bit-exactly.

This module is the executable form of ``docs/semantics.md``; the PyTorch integer mode and the
RTL are tested against it to 0 LSB.

Exactness
---------
Every stored quantity is an ``int64`` whose range is checked, never wrapped:

* Before a weighted layer runs, its accumulator bound
  ``B[o] = max(inz, hi - inz) * sum_k |w[o,k] - wz|`` is computed from the weights, with
  ``hi = 2**n - 1``, except for the network input, where ``hi`` is
  :func:`~fpgac.sim.preprocess.input_max` (``2**n`` when a pixel quantizes one past the n-bit
  range, ``docs/semantics.md`` §1). If ``B + |bias|`` or ``(B + |bias|) * mqm0`` could reach
  ``2**62`` the model is rejected with :class:`~fpgac.errors.FpgacError`. Inputs of every layer
  are checked to lie in ``[0, hi]``, so the bound holds for the data actually seen.
* The tap sums ``sum_k (x[k] - inz) * (w[o,k] - wz)`` are matrix products (im2col). Every
  product and every partial sum of such a product, in any order and with or without fused
  multiply-add, is an integer of magnitude at most ``max_o B[o]``. When that bound is below
  ``2**24`` (float32) or ``2**53`` (float64) every such integer is exactly representable, so a
  BLAS product in that format makes no rounding at all and equals the integer sum; the layer
  then uses it (a large speed-up over NumPy's integer matmul). Otherwise the product is done in
  ``int64`` (exact because the bound is below ``2**62``). Bias, requantization, ReLU, pooling
  and saturation are always done in ``int64``.
* Columns of the im2col matrix whose weights all equal ``wz`` contribute exactly 0 and are
  dropped (the sparse hardware skips the same taps).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from fpgac import semantics
from fpgac.compiler.ir import Conv2d, Flatten, Linear, MaxPool2d, Model, ReLU
from fpgac.errors import FpgacError, ModelError

from .preprocess import input_max, quantize_images

__all__ = [
    "LIMIT", "requantize", "conv2d_acc", "linear_acc", "accumulator_bound", "check_model",
    "run", "predict",
]

#: Every int64 intermediate stays strictly inside ``[-LIMIT, LIMIT)``.
LIMIT = semantics.LIMIT

Method = Literal["auto", "int64"]


def _int(value: object, path: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise FpgacError(f"{path}: expected an integer in [{lo}, {hi}], found {value!r}")
    return int(value)


def _check_range(arr: np.ndarray, lo: int, hi: int, what: str) -> None:
    """Raise ``FpgacError`` unless every element of ``arr`` is in ``[lo, hi]``."""
    if arr.size == 0:
        return
    amin, amax = int(arr.min()), int(arr.max())
    if amin < lo or amax > hi:
        raise FpgacError(f"{what}: expected values in [{lo}, {hi}], found values in "
                         f"[{amin}, {amax}]")


# --------------------------------------------------------------------------------------------
# Primitives


def requantize(acc: np.ndarray | int, *, mqm0: int, shift: int, out_zero_point: int,
               relu: bool, n_bits: int, rounding: str = "floor") -> np.ndarray:
    """Requantize accumulators to unsigned ``n_bits`` activations (``semantics.md`` §2).

    ``y = (acc * mqm0 + r) // 2**shift + out_zero_point``, with ``r = 0`` (``floor``) or
    ``r = 2**(shift-1)`` (``half_up``, ``r = 0`` when ``shift == 0``); then
    ``y = max(y, out_zero_point)`` if ``relu``; then ``y`` is saturated to ``[0, 2**n_bits-1]``.

    Parameters
    ----------
    acc
        Integer accumulators (bias included), any shape, each ``|acc * mqm0| < 2**62``.
    mqm0
        Multiplier, in ``[0, 2**n_bits]``.
    shift
        Total right shift ``mn + n_bits``, ``>= 0`` (any size: a shift of 63 or more leaves
        only the sign, as exact floor division would).
    out_zero_point
        In ``[0, 2**n_bits - 1]``.
    relu
        Apply the fused ReLU.
    n_bits
        Output width, in ``[1, 32]``.
    rounding
        ``"floor"`` or ``"half_up"``.

    Returns
    -------
    numpy.ndarray
        ``int64``, same shape as ``acc``.

    Raises
    ------
    FpgacError
        On a parameter out of range or an ``acc * mqm0`` product outside ``(-2**62, 2**62)``.
    """
    n_bits = _int(n_bits, "requantize.n_bits", 1, 32)
    mqm0 = _int(mqm0, "requantize.mqm0", 0, 2**n_bits)
    shift = _int(shift, "requantize.shift", 0, 10**6)
    zp = _int(out_zero_point, "requantize.out_zero_point", 0, 2**n_bits - 1)
    if rounding not in ("floor", "half_up"):
        raise FpgacError(f"requantize.rounding: expected 'floor' or 'half_up', "
                         f"found {rounding!r}")
    a = np.asarray(acc)
    if not np.issubdtype(a.dtype, np.integer):
        raise FpgacError(f"requantize.acc: expected integers, found dtype {a.dtype}")
    a = a.astype(np.int64, copy=False)
    if a.size:
        amax = max(abs(int(a.min())), abs(int(a.max())))
        if amax * mqm0 >= LIMIT:
            raise FpgacError(f"requantize: acc * mqm0: expected |value| < 2^62, found "
                             f"{amax} * {mqm0} = {amax * mqm0}")
    y = np.array(a * np.int64(mqm0), ndmin=1)  # a new array: the steps below work in place
    if rounding == "floor" or shift == 0:
        np.right_shift(y, np.int64(min(shift, 63)), out=y)
    else:
        # floor((t + 2^(s-1)) / 2^s) == floor((floor(t / 2^(s-1)) + 1) / 2): no overflow.
        np.right_shift(y, np.int64(min(shift - 1, 63)), out=y)
        y += 1
        np.right_shift(y, np.int64(1), out=y)
    y += np.int64(zp)
    if relu:
        np.maximum(y, np.int64(zp), out=y)
    np.clip(y, 0, 2**n_bits - 1, out=y)
    return y.reshape(a.shape) if a.ndim == 0 else y


def _diff_weights(weight: np.ndarray, w_zero_point: int, what: str) -> np.ndarray:
    w = np.asarray(weight)
    if not np.issubdtype(w.dtype, np.integer):
        raise FpgacError(f"{what}.weight: expected integers, found dtype {w.dtype}")
    return w.astype(np.int64) - np.int64(w_zero_point)


def _bias(bias: np.ndarray | None, out: int, what: str) -> np.ndarray:
    if bias is None:
        return np.zeros(out, dtype=np.int64)
    b = np.asarray(bias)
    if not np.issubdtype(b.dtype, np.integer) or b.shape != (out,):
        raise FpgacError(f"{what}.bias: expected {out} integers, found shape {list(b.shape)} "
                         f"of {b.dtype}")
    return b.astype(np.int64)


def _matmul_dtype(wd: np.ndarray, xmax: int, method: Method) -> type:
    """The exact dtype for ``cols @ wd.T`` with ``|cols| <= xmax`` (module docstring).

    ``wd`` is ``[O, K]``. Raises when the accumulator bound reaches ``2**62``.
    """
    bound = xmax * int(np.abs(wd).sum(axis=1).max(initial=0))
    if bound >= LIMIT:
        raise FpgacError(f"accumulator bound {bound} reaches 2^62: the model cannot be "
                         f"evaluated exactly in int64")
    if method == "auto" and bound < 2**24:
        return np.float32
    if method == "auto" and bound < 2**53:
        return np.float64
    return np.int64


def _exact_matmul(cols: np.ndarray, wd: np.ndarray, dtype: type) -> np.ndarray:
    """``cols @ wd.T`` exactly, as ``int64``; ``dtype`` from :func:`_matmul_dtype`.

    ``cols`` is ``[M, K]`` (any integer or float dtype holding exact integers), ``wd``
    ``[O, K]`` int64. Columns whose weights are all zero contribute exactly 0; they are dropped
    when that removes at least half of the work (dropping copies ``cols``).
    """
    keep = np.any(wd != 0, axis=0)
    if not keep.any():
        return np.zeros((cols.shape[0], wd.shape[0]), dtype=np.int64)
    if 2 * int(keep.sum()) <= keep.size:
        cols, wd = cols[:, keep], wd[:, keep]
    cols, w = cols.astype(dtype, copy=False), wd.astype(dtype)
    # BLAS is slow on a tall, skinny product (many windows, few outputs); the transposed
    # product is the same exact integers, computed several times faster.
    out = (w @ cols.T).T if w.shape[0] <= 8 else cols @ w.T
    return out.astype(np.int64)


def _acc_bound_of(wd: np.ndarray, bias: np.ndarray, xmax: int) -> int:
    return max(semantics.accumulator_bounds(wd, bias, xmax), default=0)


def conv2d_acc(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, in_zp: int,
               w_zp: int, stride: int = 1, padding: int = 0, *, n_bits: int | None = None,
               method: Method = "auto", in_hi: int | None = None) -> np.ndarray:
    """Convolution accumulators ``sum (x - in_zp) * (w - w_zp) + bias`` (``semantics.md`` §2).

    Parameters
    ----------
    x
        Integer input ``[N, C, H, W]``.
    weight
        Integer weights ``[O, C, k, k]``.
    bias
        ``[O]`` integers or ``None`` (zero).
    in_zp, w_zp
        Input and weight zero points; padding uses ``in_zp`` (padded taps contribute 0).
    stride, padding
        Positive stride, non-negative padding on every side.
    n_bits
        Width of ``x``: if given, ``x`` must lie in ``[0, hi]`` and the accumulator bound uses
        ``max(in_zp, hi - in_zp)``, ``hi = in_hi`` if given (the network input may reach
        ``2**n_bits``), else ``2**n_bits - 1``; without ``n_bits`` the observed
        ``max |x - in_zp|``.
    method
        ``"auto"`` (exact float BLAS when the bound allows it, see the module docstring) or
        ``"int64"`` (always integer matmul).

    Returns
    -------
    numpy.ndarray
        ``int64`` ``[N, O, Ho, Wo]`` with ``Ho = (H + 2*padding - k) // stride + 1``.

    Raises
    ------
    FpgacError
        On shape mismatch, out-of-range input or an accumulator bound reaching ``2**62``.
    """
    x = np.asarray(x)
    wd = _diff_weights(weight, w_zp, "conv2d")
    if x.ndim != 4 or wd.ndim != 4 or wd.shape[1] != x.shape[1] or wd.shape[2] != wd.shape[3]:
        raise FpgacError(f"conv2d: expected input [N, C, H, W] and weight [O, C, k, k], found "
                         f"input {list(x.shape)} and weight {list(wd.shape)}")
    stride = _int(stride, "conv2d.stride", 1, 2**20)
    padding = _int(padding, "conv2d.padding", 0, 2**20)
    o_ch, c_in, k, _ = wd.shape
    b = _bias(bias, o_ch, "conv2d")
    xd, xmax = _centred(x, in_zp, n_bits, "conv2d.input", in_hi)
    if _acc_bound_of(wd, b, xmax) >= LIMIT:
        raise FpgacError(f"conv2d: accumulator bound {_acc_bound_of(wd, b, xmax)} reaches 2^62")
    n, _, h, w = xd.shape
    ho = semantics.conv_out_size(h, k, stride, padding)
    wo = semantics.conv_out_size(w, k, stride, padding)
    if ho <= 0 or wo <= 0:
        raise FpgacError(f"conv2d: kernel {k} does not fit input {h}x{w} with padding {padding}")
    w2 = wd.reshape(o_ch, -1)
    dtype = _matmul_dtype(w2, xmax, method)
    xd = xd.astype(dtype)      # exact: |xd| <= xmax <= bound (unless every weight is wz)
    if padding:
        xd = np.pad(xd, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(xd, (k, k), axis=(2, 3))
    win = win[:, :, : (ho - 1) * stride + 1 : stride, : (wo - 1) * stride + 1 : stride]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c_in * k * k)
    acc = _exact_matmul(cols, w2, dtype)
    acc += b
    return np.ascontiguousarray(acc.reshape(n, ho, wo, o_ch).transpose(0, 3, 1, 2))


def linear_acc(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, in_zp: int,
               w_zp: int, *, n_bits: int | None = None, method: Method = "auto",
               in_hi: int | None = None) -> np.ndarray:
    """Linear accumulators ``sum_k (x[k] - in_zp) * (w[o,k] - w_zp) + bias[o]``.

    ``x`` is ``[N, K]`` (or ``[N, C, H, W]``, flattened channel-major), ``weight`` ``[O, K]``;
    returns ``int64`` ``[N, O]``. ``n_bits``, ``method``, ``in_hi`` and errors as in
    :func:`conv2d_acc`.
    """
    x = np.asarray(x)
    x = x.reshape(x.shape[0], -1) if x.ndim > 2 else x
    wd = _diff_weights(weight, w_zp, "linear")
    if x.ndim != 2 or wd.ndim != 2 or wd.shape[1] != x.shape[1]:
        raise FpgacError(f"linear: expected input [N, K] and weight [O, K], found input "
                         f"{list(x.shape)} and weight {list(wd.shape)}")
    b = _bias(bias, wd.shape[0], "linear")
    xd, xmax = _centred(x, in_zp, n_bits, "linear.input", in_hi)
    if _acc_bound_of(wd, b, xmax) >= LIMIT:
        raise FpgacError(f"linear: accumulator bound {_acc_bound_of(wd, b, xmax)} reaches 2^62")
    acc = _exact_matmul(xd, wd, _matmul_dtype(wd, xmax, method))
    acc += b
    return acc


def _centred(x: np.ndarray, zp: int, n_bits: int | None, what: str,
             in_hi: int | None = None) -> tuple[np.ndarray, int]:
    if not np.issubdtype(x.dtype, np.integer):
        raise FpgacError(f"{what}: expected integers, found dtype {x.dtype}")
    x = x.astype(np.int64)
    if n_bits is not None:
        zp = _int(zp, f"{what}.zero_point", 0, 2**n_bits - 1)
        hi = 2**n_bits - 1 if in_hi is None else _int(in_hi, f"{what}.in_hi", 0, 2**n_bits)
        _check_range(x, 0, hi, what)
        return x - zp, max(zp, hi - zp)
    if abs(int(zp)) >= LIMIT:
        raise FpgacError(f"{what}.zero_point: expected |value| < 2^62, found {zp}")
    _check_range(x, -(LIMIT - 1) // 2, (LIMIT - 1) // 2, what)
    xd = x - np.int64(zp)
    return xd, int(np.abs(xd).max(initial=0))


# --------------------------------------------------------------------------------------------
# Whole model


def accumulator_bound(op: Conv2d | Linear, in_hi: int | None = None) -> int:
    """The static accumulator bound of a weighted layer (``semantics.md`` §2).

    ``max_o sum_k |w[o,k] - wz| * max(inz, hi - inz) + |bias[o]|``, ``hi = in_hi`` (the
    largest input integer, :func:`~fpgac.sim.preprocess.input_max` for the layer fed by the
    network input) or ``2**n - 1``.
    """
    wd = np.asarray(op.weight).astype(np.int64) - int(op.w_zero_point)
    b = _bias(op.bias, wd.shape[0], op.name)
    inz = int(op.in_q.zero_point)
    if in_hi is None:
        return _acc_bound_of(wd, b, semantics.centred_input_max(inz, op.n_bits))
    return _acc_bound_of(wd, b, max(inz, int(in_hi) - inz))


def check_model(model: Model) -> None:
    """Check what the golden model relies on, before any data is touched.

    Checks every weighted layer's parameters against the ranges of ``semantics.md`` §2
    (weights in ``[0, 2**n - 1]``, zero points, ``mqm0``, ``shift >= 0``) and that its
    accumulator bound and ``bound * mqm0`` stay below ``2**62``.

    Raises
    ------
    ModelError
        Naming ``ops[i].<field>``, the expected range and what was found.
    """
    if model.rounding not in semantics.ROUNDINGS:
        raise ModelError("rounding", "'floor' or 'half_up'", model.rounding)
    if not model.ops:
        raise ModelError("ops", "at least one op", "no ops")
    first = True
    for i, op in enumerate(model.ops):
        if not isinstance(op, (Conv2d, Linear)):
            continue
        where = f"ops[{i}] ({op.name})"
        n = op.n_bits
        nlo, nhi = semantics.N_BITS_GOLDEN
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not nlo <= n <= nhi:
            raise ModelError(f"{where}.n_bits", f"an integer in [{nlo}, {nhi}]", n)
        ranges = semantics.param_ranges(n)
        for field, value, kind in (("in_q.zero_point", op.in_q.zero_point, "zero_point"),
                                   ("out_q.zero_point", op.out_q.zero_point, "zero_point"),
                                   ("w_zero_point", op.w_zero_point, "zero_point"),
                                   ("mqm0", op.mqm0, "mqm0"), ("mn", op.mn, "mn")):
            lo, top = ranges[kind]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or not lo <= value <= top:
                raise ModelError(f"{where}.{field}", f"an integer in [{lo}, {top}]", value)
        w = np.asarray(op.weight)
        if not np.issubdtype(w.dtype, np.integer):
            raise ModelError(f"{where}.weight", "integers", f"a {w.dtype} array")
        lo, hi = ranges["weight"]
        if w.size and (int(w.min()) < lo or int(w.max()) > hi):
            bad = int(w.min()) if int(w.min()) < lo else int(w.max())
            raise ModelError(f"{where}.weight", f"integers in [{lo}, {hi}]", f"a weight of {bad}")
        bound = accumulator_bound(op, _input_hi(model) if first else None)
        first = False
        if bound >= LIMIT or bound * int(op.mqm0) >= LIMIT:
            raise ModelError(f"{where}.weight", "an accumulator bound times mqm0 below 2^62",
                             f"a bound of {bound} with mqm0 {op.mqm0}")


def _input_hi(model: Model) -> int | None:
    """``input_max`` of the model's input when it exceeds ``2**n - 1`` (else ``None``)."""
    hi = input_max(model.input)
    return hi if hi > 2**model.input.n_bits - 1 else None


def _layer(op: Conv2d | Linear, x: np.ndarray, rounding: str, relu: bool,
           method: Method, in_hi: int | None = None) -> np.ndarray:
    common = dict(n_bits=op.n_bits, method=method, in_hi=in_hi)
    if isinstance(op, Conv2d):
        acc = conv2d_acc(x, op.weight, op.bias, op.in_q.zero_point, op.w_zero_point,
                         op.stride, op.padding, **common)
    else:
        acc = linear_acc(x, op.weight, op.bias, op.in_q.zero_point, op.w_zero_point, **common)
    return requantize(acc, mqm0=op.mqm0, shift=op.shift, out_zero_point=op.out_q.zero_point,
                      relu=relu, n_bits=op.n_bits, rounding=rounding)


def _maxpool(x: np.ndarray, kernel: int, stride: int, name: str) -> np.ndarray:
    if x.ndim != 4:
        raise FpgacError(f"{name}: expected a [C, H, W] input, found shape {list(x.shape[1:])}")
    kernel = _int(kernel, f"{name}.kernel", 1, 2**20)
    stride = _int(stride, f"{name}.stride", 1, 2**20)
    n, c, h, w = x.shape
    ho, wo = semantics.pool_out_size(h, kernel, stride), semantics.pool_out_size(w, kernel, stride)
    if ho <= 0 or wo <= 0:
        raise FpgacError(f"{name}: kernel {kernel} does not fit input {h}x{w}")
    # The max over the window, as kernel**2 element-wise maxima of strided slices (much faster
    # than reducing a sliding-window view).
    out = None
    for dy in range(kernel):
        for dx in range(kernel):
            tap = x[:, :, dy: dy + (ho - 1) * stride + 1: stride,
                    dx: dx + (wo - 1) * stride + 1: stride]
            out = tap.copy() if out is None else np.maximum(out, tap, out=out)
    return out


def _forward(model: Model, q: np.ndarray, method: Method, keep: bool
             ) -> tuple[np.ndarray, list[np.ndarray]]:
    outs: list[np.ndarray] = []
    zp = int(model.input.quant.zero_point)
    in_hi = _input_hi(model)
    hi = 2**int(model.input.n_bits) - 1 if in_hi is None else in_hi
    for i, op in enumerate(model.ops):
        if isinstance(op, (Conv2d, Linear)):
            q = _layer(op, q, model.rounding, bool(op.relu), method, in_hi)
            zp, hi, in_hi = int(op.out_q.zero_point), 2**int(op.n_bits) - 1, None
        elif isinstance(op, ReLU):
            q = np.maximum(q, np.int64(zp))
        elif isinstance(op, MaxPool2d):
            q = _maxpool(q, op.kernel, op.stride, f"ops[{i}] ({op.name})")
        elif isinstance(op, Flatten):
            q = q.reshape(q.shape[0], -1)
        else:
            raise ModelError(f"ops[{i}]", "Conv2d, Linear, ReLU, MaxPool2d or Flatten",
                             type(op).__name__)
        _check_range(q, 0, hi, f"ops[{i}] ({getattr(op, 'name', '?')}) output")
        if keep:
            outs.append(q)
    return q.reshape(q.shape[0], -1), outs


def run(model: Model, q_input: np.ndarray, *, intermediates: bool = False,
        batch_size: int = 256, progress: bool | Callable[[int], None] = False,
        method: Method = "auto"):
    """Execute ``model`` on quantized inputs, bit-exactly (``docs/semantics.md``).

    Parameters
    ----------
    model
        The integer model. Weighted ops with ``relu=True`` (fused) and standalone
        :class:`~fpgac.compiler.ir.ReLU` ops give identical integers.
    q_input
        Integers ``[N, C, H, W]`` in ``[0, input_max(model.input)]`` (``2**n_bits`` is possible,
        see :func:`fpgac.sim.preprocess.quantize_images`), ``(C, H, W) == model.input.shape``.
    intermediates
        Also return every op's output.
    batch_size
        Images per chunk (bounds memory; results do not depend on it).
    progress
        ``True`` shows a ``rich`` progress bar; a callable is called with the number of images
        finished after every chunk.
    method
        ``"auto"`` or ``"int64"``: how tap sums are computed (both exact, module docstring).

    Returns
    -------
    numpy.ndarray or tuple
        ``logits`` ``int64`` ``[N, classes]`` (the last op's output, flattened per image); with
        ``intermediates=True``, ``(logits, outputs)`` where ``outputs[i]`` is the ``int64``
        output of ``model.ops[i]`` for all ``N`` images.

    Raises
    ------
    FpgacError
        On an invalid model (:func:`check_model`), a wrong input shape or range.
    """
    check_model(model)
    q = np.asarray(q_input)
    want = tuple(int(d) for d in model.input.shape)
    if q.ndim != 4 or tuple(q.shape[1:]) != want:
        raise FpgacError(f"q_input: expected shape [N, {', '.join(map(str, want))}], found "
                         f"{list(q.shape)}")
    if not np.issubdtype(q.dtype, np.integer):
        raise FpgacError(f"q_input: expected integers, found dtype {q.dtype}")
    _check_range(q, 0, input_max(model.input), "q_input")
    q = q.astype(np.int64)
    batch_size = _int(batch_size, "batch_size", 1, 2**31)
    chunks = range(0, q.shape[0], batch_size)
    logits, outs = [], []

    def step(start: int) -> None:
        lg, inter = _forward(model, q[start:start + batch_size], method, intermediates)
        logits.append(lg)
        outs.append(inter)

    if progress is True:
        from rich.progress import Progress
        with Progress(transient=True) as bar:
            task = bar.add_task(f"golden {model.name}", total=q.shape[0])
            for start in chunks:
                step(start)
                bar.update(task, completed=min(start + batch_size, q.shape[0]))
    else:
        for start in chunks:
            step(start)
            if callable(progress):
                progress(min(start + batch_size, q.shape[0]))
    if not logits:
        empty = _forward(model, q, method, True)
        logits, outs = [empty[0]], [empty[1]]
    result = np.concatenate(logits).astype(np.int64)
    if not intermediates:
        return result
    per_op = [np.concatenate([o[i] for o in outs]) for i in range(len(model.ops))]
    return result, per_op


def predict(model: Model, images: np.ndarray, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Classify raw 8-bit images.

    Parameters
    ----------
    model
        The integer model.
    images
        ``uint8`` ``[N, H, W]`` or ``[N, C, H, W]``.
    **kwargs
        Passed to :func:`run` (``batch_size``, ``progress``, ``method``).

    Returns
    -------
    (logits, classes)
        ``logits`` ``int64`` ``[N, classes]``; ``classes`` ``int64`` ``[N]``, the index of the
        first maximum of each row.
    """
    logits = run(model, quantize_images(images, model.input), **kwargs)
    return logits, np.argmax(logits, axis=1).astype(np.int64)
