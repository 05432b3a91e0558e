"""Seeded generator of random, valid integer models (the reliability regression's input).

:func:`random_model` builds an :class:`fpgac.compiler.ir.Model` that obeys every range of
``docs/semantics.md`` while stressing the corners: ``n_bits`` 2..16, zero points anywhere in
``[0, 2^n - 1]`` (including both ends), sparsity from fully dense to 99 % with all-zero filters,
``mqm0`` in ``[0, 2^n]`` and ``mn`` in ``[-n, 64]`` (extremes included), kernels 1..7, padding,
max-pooling, stride, ReLU or not, bias or not, both rounding modes. Input maps are small (1..3
channels, 6..16 pixels a side) so one model runs through RTL simulation in seconds.

Contract
--------
* Deterministic: the same seed (or the same ``numpy.random.Generator`` state) and options give
  an identical model (arrays and floats compare equal).
* Valid: shapes chain; every op's input zero point equals the previous op's output zero point;
  one ``n_bits`` for the whole model (as the legacy format); every layer's accumulator bound
  times ``mqm0`` plus the rounding constant stays below :data:`T_LIMIT` (``2^61``), inside the
  golden's ``2^62`` assertion range.
* Chain shape: ``[conv [relu] [maxpool2d]]* flatten [linear [relu]]+`` -- zero or more
  convolutions, then a flatten, then one or more linear layers; the last layer may or may not
  have a ReLU. A convolution whose output is 1x1 (channel-parallel in hardware) is generated on
  purpose now and then.
* Input: a random scale and zero point; ``clamp=True`` (stated) only when the exact table
  would leave ``[0, 2**n]``. Legacy models use the legacy calibration of ``[-1, 1]`` (no
  clamp; a white pixel may give ``2**n``) and are unambiguous (one reading chains).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import semantics
from ..compiler import ir
from ..compiler.frontend.topology import enumerate_readings
from ..errors import ModelError
from .preprocess import pixel_table

__all__ = ["T_LIMIT", "RandomOptions", "random_model", "accumulator_bound", "model_summary"]

#: Upper bound (exclusive) this generator keeps for ``|acc * mqm0| + r`` of every layer.
T_LIMIT = 2 ** 61


@dataclass(frozen=True)
class RandomOptions:
    """Knobs of :func:`random_model` (all ranges inclusive)."""

    max_convs: int = 3
    max_linears: int = 2
    channels: tuple[int, int] = (1, 3)          # input channels
    size: tuple[int, int] = (6, 16)             # input height / width
    max_conv_channels: int = 6
    max_features: int = 12
    max_kernel: int = 7
    n_bits: tuple[int, int] = (2, 16)
    strides: bool = True                        # allow conv stride 2
    square: bool = False                        # force H == W
    rounding: tuple[str, ...] = ("floor", "half_up")
    max_flat: int = 1024                        # cap of the flattened feature count
    wild: float = 0.3                           # share of models with extreme requantization
    #: the legacy LeNet-style topology (28x28 input, first conv "same", 2x2 pools, last conv
    #: 1x1, ReLU after every layer but the last, floor rounding): writable as ``int_values``
    legacy: bool = False


def _edge_int(rng: np.random.Generator, lo: int, hi: int, p_edge: float = 0.25) -> int:
    """An integer in ``[lo, hi]``; with probability ``p_edge`` one of the two ends."""
    if rng.random() < p_edge:
        return int(lo if rng.random() < 0.5 else hi)
    return int(rng.integers(lo, hi + 1))


def accumulator_bound(weight: np.ndarray, bias: np.ndarray | None, inz: int, wz: int,
                      n_bits: int) -> int:
    """Per-layer bound of ``|acc|`` from semantics.md section 2 (max over output channels)."""
    wd = np.asarray(weight, dtype=np.int64) - int(wz)
    return max(semantics.accumulator_bounds(wd, bias, semantics.centred_input_max(inz, n_bits)),
               default=0)


def _weights(rng: np.random.Generator, shape: tuple[int, ...], n: int, wz: int, wild: bool
             ) -> np.ndarray:
    """Unsigned ``n``-bit weights with a random sparsity style around ``wz``."""
    top = (1 << n) - 1
    w = rng.integers(0, top + 1, size=shape, dtype=np.int64)
    style = rng.choice(["dense", "uniform", "high", "extreme"], p=[0.2, 0.3, 0.3, 0.2])
    sparsity = {"dense": 0.0, "uniform": float(rng.random()), "high": 0.9,
                "extreme": 0.99}[str(style)]
    mask = rng.random(shape) < sparsity
    w[mask] = wz
    if wild and rng.random() < 0.3:                 # extreme weights: all at one end
        w[~mask] = top if rng.random() < 0.5 else 0
    n_out = shape[0]
    if n_out > 1 and rng.random() < 0.35:           # some all-zero filters
        dead = rng.random(n_out) < 0.4
        w[dead] = wz
    if wild and rng.random() < 0.1:                 # a fully pruned layer
        w[...] = wz
    return w


def _bias(rng: np.random.Generator, n_out: int, scale: int) -> np.ndarray | None:
    r = rng.random()
    if r < 0.2:
        return None
    if r < 0.3:
        return np.zeros(n_out, dtype=np.int64)
    mag = max(1, int(scale * rng.choice([0.01, 0.3, 1.0, 3.0])))
    return rng.integers(-mag, mag + 1, size=n_out, dtype=np.int64)


def _pick_mqm0(rng: np.random.Generator, n: int, wild: bool) -> int:
    top = 1 << n
    choice = rng.random()
    if wild and choice < 0.3:
        return int(rng.choice([0, 1, top, top - 1, top // 2]))
    if choice < 0.75:
        return int(rng.integers(top // 2, top + 1))      # legacy range [2^(n-1), 2^n]
    return int(rng.integers(1, top + 1))


def _pick_shift(rng: np.random.Generator, n: int, acc: np.ndarray, mqm0: int, wild: bool
                ) -> tuple[int, int | None]:
    """``(shift, out_zero_point or None)``: usually calibrated on sample accumulators so the
    outputs spread over the ``n``-bit range (a meaningful network), sometimes an extreme."""
    r = rng.random() if wild else 1.0
    if r < 0.06:
        return 0, None
    if r < 0.12:
        return 64 + n, None
    if r < 0.18:
        return int(rng.integers(0, 64 + n + 1)), None
    t = acc.astype(object).ravel() * mqm0
    if len(t) == 0:
        return n, None
    lo, hi = int(min(t)), int(max(t))
    spread = max(1, hi - lo)
    s = max(0, spread.bit_length() - n + int(rng.integers(-1, 2)))
    s = min(s, 64 + n)
    mid = (lo + hi) // 2
    outz = (1 << (n - 1)) - (mid >> s)
    return s, int(min(max(outz, 0), (1 << n) - 1))


def _sample_acc(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, inz: int, wz: int,
                stride: int = 1, padding: int = 0) -> np.ndarray:
    """Accumulators of sample inputs ``x`` ``[S, C, H, W]`` (conv) or ``[S, K]`` (linear)."""
    wd = w.astype(np.int64) - wz
    if w.ndim == 2:
        acc = (x.astype(np.int64) - inz) @ wd.T
    else:
        k = w.shape[2]
        xp = np.pad(x.astype(np.int64) - inz,
                    ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        sw = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
        sw = sw[:, :, ::stride, ::stride]                     # [S, C, Ho, Wo, k, k]
        acc = np.einsum("schwyx,ocyx->sohw", sw, wd, optimize=True)
    if bias is not None:
        shape = (1, -1) + (1,) * (acc.ndim - 2)
        acc = acc + bias.reshape(shape)
    return acc


def _apply(acc: np.ndarray, mqm0: int, s: int, outz: int, n: int, relu: bool,
           rounding: str) -> np.ndarray:
    t = acc.astype(object) * mqm0
    r = semantics.rounding_constant(s, rounding)
    y = (t + r) // (1 << s) + outz
    y = np.asarray(y, dtype=object)
    if relu:
        y = np.maximum(y, outz)
    return np.clip(y, 0, (1 << n) - 1).astype(np.int64)


def _quant(rng: np.random.Generator, n: int) -> ir.QuantParams:
    zp = _edge_int(rng, 0, (1 << n) - 1)
    scale = float(np.float32(2.0 / (1 << n) * float(rng.uniform(0.5, 4.0))))
    return ir.QuantParams(scale=scale, zero_point=zp)


def random_model(rng: np.random.Generator | int, *, options: RandomOptions | None = None,
                 **overrides) -> ir.Model:
    """Return a random valid :class:`~fpgac.compiler.ir.Model`.

    Parameters
    ----------
    rng
        A seed (int) or a NumPy ``Generator``; the model is a pure function of it.
    options
        :class:`RandomOptions`; keyword ``overrides`` replace single fields (e.g.
        ``max_convs=0`` for an MLP, ``n_bits=(8, 8)``).

    Returns
    -------
    Model
        ``source_format="fpgac"``, ``name="rand<seed>"`` when a seed was given.
    """
    name = "random"
    if not isinstance(rng, np.random.Generator):
        name = f"rand{int(rng)}"
        rng = np.random.default_rng(int(rng))
    opt = options or RandomOptions()
    if overrides:
        opt = RandomOptions(**{**opt.__dict__, **overrides})
    for _attempt in range(100):
        model = _try_model(rng, opt, name)
        if model is not None:
            return model
    raise RuntimeError("random_model: no valid model in 100 attempts (options too tight)")


def _try_model(rng: np.random.Generator, opt: RandomOptions, name: str) -> ir.Model | None:
    """One attempt: a random chain, or None when a draw is out of range (the caller retries
    with the same generator, so the model stays a pure function of the seed)."""
    spec, rounding, wild, legacy_kernels = _random_input(rng, opt)
    c, h, w = spec.shape
    top = (1 << spec.n_bits) - 1
    # sample activations used to calibrate each layer's shift (never stored in the model)
    sample = rng.integers(0, top + 1, size=(6, c, h, w), dtype=np.int64)
    n_convs = int(rng.integers(0, opt.max_convs + 1))
    n_lin = int(rng.integers(1, opt.max_linears + 1))
    if opt.legacy:
        n_convs = len(legacy_kernels)
    chain = _Chain(rng, opt, spec.n_bits, rounding, wild, spec.quant, sample, c, h, w)
    for index in range(n_convs):
        added = chain.add_conv(index, legacy_kernels)
        if added is None:
            return None
        if not added:
            break
    if not chain.add_linears(n_lin):
        return None
    model = ir.Model(input=spec, ops=chain.ops, out_q=chain.q, rounding=rounding, name=name,
                     source_format="fpgac")
    if opt.legacy:
        shapes = [op.weight.shape for op in model.weighted]
        if sum(o.chains for o in enumerate_readings(shapes)) != 1:
            return None        # an ambiguous legacy file: the loader would refuse it
    return model


def _random_input(rng: np.random.Generator,
                  opt: RandomOptions) -> tuple[ir.InputSpec, str, bool, list[int] | None]:
    """``(input spec, rounding, wild, legacy conv kernels or None)`` of one attempt."""
    n = int(rng.integers(opt.n_bits[0], opt.n_bits[1] + 1))
    top = (1 << n) - 1
    c = int(rng.integers(opt.channels[0], opt.channels[1] + 1))
    h = int(rng.integers(opt.size[0], opt.size[1] + 1))
    w = h if (opt.square or rng.random() < 0.7) else int(rng.integers(opt.size[0],
                                                                       opt.size[1] + 1))
    rounding = str(rng.choice(list(opt.rounding)))
    wild = bool(rng.random() < opt.wild)
    legacy_kernels = None
    if opt.legacy:
        c, h, w, rounding = 1, 28, 28, "floor"
        legacy_kernels = _legacy_kernels(rng)
    q_in = _quant(rng, n)
    if opt.legacy:
        # the legacy exporter's calibration of [-1, 1]: a white pixel may quantize to 2**n
        scale = 2.0 / top
        q_in = ir.QuantParams(scale, min(max(int(round(1.0 / scale)), 0), top))
    spec = ir.InputSpec(shape=(c, h, w), quant=q_in, n_bits=n)
    if not opt.legacy:
        # a random scale may map pixels outside [0, 2**n]: such a model states its clamp
        try:
            pixel_table(spec)
        except ModelError:
            spec.clamp = True
    return spec, rounding, wild, legacy_kernels


@dataclass
class _Chain:
    """The chain of one attempt while it grows: its ops, the current activation shape
    ``(c, h, w)``, quantization ``q`` and calibration ``sample``."""

    rng: np.random.Generator
    opt: RandomOptions
    n: int
    rounding: str
    wild: bool
    q: ir.QuantParams
    sample: np.ndarray
    c: int
    h: int
    w: int
    ops: list = field(default_factory=list)
    layer_no: int = 0

    def weighted(self, shape: tuple[int, ...], fan_in: int, stride: int = 1,
                 padding: int = 0):
        """Weights, bias and requantization of one layer; ``None`` if out of range."""
        rng, n, top = self.rng, self.n, (1 << self.n) - 1
        q = self.q
        wz = _edge_int(rng, 0, top)
        wq = _weights(rng, shape, n, wz, self.wild)
        xmax = max(q.zero_point, top - q.zero_point)
        bias = _bias(rng, shape[0], max(1, fan_in * xmax * max(1, top // 4)))
        bound = accumulator_bound(wq, bias, q.zero_point, wz, n)
        mqm0 = _pick_mqm0(rng, n, self.wild)
        if bound * mqm0 >= T_LIMIT // 2:
            return None
        acc = _sample_acc(self.sample, wq, bias, q.zero_point, wz, stride, padding)
        s, outz = _pick_shift(rng, n, acc, mqm0, self.wild)
        out_q = _quant(rng, n)
        if outz is not None and rng.random() < 0.85:
            out_q = ir.QuantParams(out_q.scale, outz)
        ws = float(np.float32(rng.uniform(0.001, 0.05)))
        y = _apply(acc, mqm0, s, out_q.zero_point, n, False, self.rounding)
        return wq, bias, wz, mqm0, s - n, out_q, ws, y

    def add_conv(self, index: int, legacy_kernels: list[int] | None) -> bool | None:
        """Append conv ``index`` (and maybe a ReLU and a max-pool): True; False when the map
        is too small for it (the convs end); None when its draw is out of range."""
        rng, opt = self.rng, self.opt
        cin, hin, win = self.c, self.h, self.w
        k = int(rng.integers(1, min(opt.max_kernel, 7) + 1))
        pad = int(rng.integers(0, k)) if rng.random() < 0.6 else 0
        stride = 2 if (opt.strides and rng.random() < 0.15) else 1
        if hin == win and hin <= 7 and rng.random() < 0.3:   # a 1x1-output conv on purpose
            pad, stride, k = 0, 1, hin
        if opt.legacy:
            k, stride = legacy_kernels[index], 1
            pad = (k - 1) // 2 if index == 0 else 0
        hout = semantics.conv_out_size(hin, k, stride, pad)
        wout = semantics.conv_out_size(win, k, stride, pad)
        if hout < 1 or wout < 1:
            return False
        cout = int(rng.integers(1, opt.max_conv_channels + 1))
        got = self.weighted((cout, cin, k, k), cin * k * k, stride, pad)
        if got is None:
            return None
        wq, bias, wz, mqm0, mn, out_q, ws, self.sample = got
        self.layer_no += 1
        self.ops.append(ir.Conv2d(name=f"conv{self.layer_no}", weight=wq, bias=bias, in_q=self.q,
                                  out_q=out_q, w_scale=ws, w_zero_point=wz, mn=mn, mqm0=mqm0,
                                  n_bits=self.n, stride=stride, padding=pad))
        self.q = out_q
        self.c, self.h, self.w = cout, hout, wout
        h, w = hout, wout
        if opt.legacy or rng.random() < 0.75:
            self.ops.append(ir.ReLU(name=f"relu{self.layer_no}"))
            self.sample = np.maximum(self.sample, self.q.zero_point)
        if (opt.legacy and h > 1) or (not opt.legacy and h >= 2 and w >= 2
                                      and rng.random() < 0.5):
            pk = 2 if (opt.legacy or h < 3 or w < 3 or rng.random() < 0.8) else 3
            self.ops.append(ir.MaxPool2d(kernel=pk, stride=pk, name=f"pool{self.layer_no}"))
            self.h, self.w = h, w = h // pk, w // pk
            sw = np.lib.stride_tricks.sliding_window_view(self.sample, (pk, pk), axis=(2, 3))
            self.sample = sw[:, :, ::pk, ::pk][:, :, :h, :w].max(axis=(-2, -1))
        return True

    def add_linears(self, count: int) -> bool:
        """Append a flatten and ``count`` linear layers (ReLUs between them, maybe one after
        the last); False when the flat size or a draw is out of range."""
        rng, opt = self.rng, self.opt
        flat = self.c * self.h * self.w
        if flat > opt.max_flat:
            return False
        self.ops.append(ir.Flatten(name="flatten"))
        self.sample = self.sample.reshape(self.sample.shape[0], -1)
        for i in range(count):
            last = i == count - 1
            fout = int(rng.integers(1, opt.max_features + 1))
            got = self.weighted((fout, flat), flat)
            if got is None:
                return False
            wq, bias, wz, mqm0, mn, out_q, ws, self.sample = got
            self.layer_no += 1
            self.ops.append(ir.Linear(name=f"fc{self.layer_no}", weight=wq, bias=bias,
                                      in_q=self.q, out_q=out_q, w_scale=ws, w_zero_point=wz,
                                      mn=mn, mqm0=mqm0, n_bits=self.n))
            self.q = out_q
            flat = fout
            if not last or (not opt.legacy and rng.random() < 0.3):
                self.ops.append(ir.ReLU(name=f"relu{self.layer_no}"))
                self.sample = np.maximum(self.sample, self.q.zero_point)
        return True


def _legacy_kernels(rng: np.random.Generator) -> list[int]:
    """Kernels of a legacy conv chain on 28x28 that ends in a 1x1 output (or no convs)."""
    if rng.random() < 0.1:
        return []
    k1 = int(rng.choice([1, 3, 5, 7]))           # "same" conv: 28 -> pool -> 14
    if rng.random() < 0.3:
        return [k1, 14]                           # 14 -> 1x1 would need k = 14: too big
    k2 = int(rng.choice([3, 5]))                  # 14 -> 12 or 10 -> pool -> 6 or 5
    return [k1, k2, (14 - k2 + 1) // 2]


def model_summary(model: ir.Model) -> str:
    """One line describing a model (for progress output and failure reports)."""
    parts = [f"{model.name}: n={model.input.n_bits} in={model.input.shape} "
             f"inz={model.input.quant.zero_point} {model.rounding}"]
    for op in model.ops:
        if isinstance(op, ir.Conv2d):
            nz = int(np.count_nonzero(op.weight != op.w_zero_point))
            parts.append(f"conv{op.out_channels}x{op.in_channels}k{op.kernel}p{op.padding}"
                         f"s{op.stride}[nz={nz},wz={op.w_zero_point},m={op.mqm0},mn={op.mn}]")
        elif isinstance(op, ir.Linear):
            nz = int(np.count_nonzero(op.weight != op.w_zero_point))
            parts.append(f"fc{op.out_features}x{op.in_features}"
                         f"[nz={nz},wz={op.w_zero_point},m={op.mqm0},mn={op.mn}]")
        elif isinstance(op, ir.MaxPool2d):
            parts.append(f"pool{op.kernel}")
        elif isinstance(op, ir.ReLU):
            parts.append("relu")
    return " ".join(parts)
