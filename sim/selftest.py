"""Reliability checks shared by ``tests/reliability`` and ``fpgac selftest``.

Each ``check_*`` function runs one family of cross-checks from a seed and returns a
:class:`CheckResult` (how many cases ran, how many disagreed, the first disagreement in words,
how long it took). None of them raises on a disagreement: callers decide (tests assert
``failures == 0``, the CLI prints a table and exits non-zero).

Families
--------
* requantizer primitives: :func:`fpgac.sim.golden.requantize` and the PyTorch integer mode's
  requantizer against :mod:`fpgac.sim.bigint` on random and edge vectors;
* random models end to end (golden vs bigint vs PyTorch integer mode, optionally RTL), with
  failing models saved as replayable fixtures;
* loader fuzzing and determinism live in their own helpers below.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .. import semantics
from . import bigint

__all__ = ["CheckResult", "check_requant_golden", "check_requant_torch", "model_images",
           "reference_logits", "compare_logits", "save_replay", "replay_cases",
           "check_random_models", "rtl_logits", "check_requant_rtl", "accumulate_vectors",
           "run_lane", "check_accumulate_rtl", "check_determinism", "check_fuzz", "check_rtl_extras",
           "check_formal", "PLAN", "run_selftest"]


@dataclass
class CheckResult:
    """Outcome of one check family."""

    name: str
    cases: int = 0
    failures: int = 0
    first_failure: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def fail(self, text: str) -> None:
        self.failures += 1
        if not self.first_failure:
            self.first_failure = text

    @property
    def ok(self) -> bool:
        return self.failures == 0 and self.cases > 0

    def line(self) -> str:
        status = "ok" if self.ok else "FAIL"
        text = f"{self.name}: {status}, {self.cases} cases, {self.failures} failures, " \
               f"{self.seconds:.1f} s"
        if self.first_failure:
            text += f"; first: {self.first_failure}"
        return text


def _describe(v: bigint.RequantVector, acc: int, got: int, want: int) -> str:
    return (f"acc={acc} mqm0={v.mqm0} shift={v.shift} outz={v.out_zero_point} relu={v.relu} "
            f"n={v.n_bits} {v.rounding} ({v.kind}): got {got}, expected {want}")


def check_requant_golden(seed: int, count: int, **vector_opts) -> CheckResult:
    """``fpgac.sim.golden.requantize`` vs :func:`bigint.requantize` on ``count`` accumulators."""
    from .golden import requantize
    res = CheckResult("requantizer golden vs bigint")
    t0 = time.perf_counter()
    for v in bigint.requant_vectors(seed, count, **vector_opts):
        got = requantize(np.array(v.accs, dtype=np.int64), mqm0=v.mqm0, shift=v.shift,
                         out_zero_point=v.out_zero_point, relu=v.relu, n_bits=v.n_bits,
                         rounding=v.rounding).tolist()
        for a, g, w in zip(v.accs, got, v.expected()):
            res.cases += 1
            if g != w:
                res.fail(_describe(v, a, g, w))
    res.seconds = time.perf_counter() - t0
    return res


class _Op:
    """The attributes the PyTorch integer mode's requantizer reads from a weighted op."""

    def __init__(self, v: bigint.RequantVector):
        from ..compiler.ir import QuantParams
        self.name = "vector"
        self.bias = None
        self.mqm0 = v.mqm0
        self.n_bits = v.n_bits
        self.mn = v.shift - v.n_bits
        self.out_q = QuantParams(1.0, v.out_zero_point)


def check_requant_torch(seed: int, count: int, **vector_opts) -> CheckResult:
    """The PyTorch integer mode's requantizer vs :func:`bigint.requantize`."""
    import torch

    from ..compress import integer
    res = CheckResult("requantizer torch vs bigint")
    t0 = time.perf_counter()
    for v in bigint.requant_vectors(seed, count, **vector_opts):
        acc = torch.tensor([list(v.accs)], dtype=torch.int64)
        want = v.expected()
        try:
            got = integer._requant(acc, _Op(v), v.relu, v.rounding)[0].tolist()
        except Exception as exc:                   # noqa: BLE001 - any crash is a failure
            res.cases += len(v.accs)
            res.fail(_describe(v, v.accs[0], f"{type(exc).__name__}: {exc}", want[0]))
            continue
        for a, g, w in zip(v.accs, got, want):
            res.cases += 1
            if g != w:
                res.fail(_describe(v, a, g, w))
    res.seconds = time.perf_counter() - t0
    return res


# --------------------------------------------------------------------------------------------
# Random models end to end

def model_images(model, seed: int, count: int) -> np.ndarray:
    """``count`` uint8 images for ``model``: all-black, all-white, then random pixels."""
    rng = np.random.default_rng(seed)
    c, h, w = model.input.shape
    imgs = rng.integers(0, 256, size=(count, c, h, w), dtype=np.uint8)
    if count > 0:
        imgs[0] = 0
    if count > 1:
        imgs[1] = 255
    return imgs


def reference_logits(model, images: np.ndarray) -> dict[str, np.ndarray]:
    """Logits of ``model`` from golden, bigint and the PyTorch integer mode (``int64``)."""
    import torch

    from ..compress.integer import integer_forward
    from . import golden
    from .preprocess import quantize_images
    q = quantize_images(images, model)
    out = {"golden": np.asarray(golden.run(model, q), dtype=np.int64),
           "bigint": np.array(bigint.run(model, q), dtype=np.int64).reshape(len(images), -1)}
    out["torch"] = integer_forward(model, torch.from_numpy(images)).numpy().astype(np.int64)
    return out


def compare_logits(results: dict[str, np.ndarray], reference: str = "bigint") -> str:
    """Empty string when every entry equals ``results[reference]``, else a description."""
    want = results[reference]
    for name, got in results.items():
        if name == reference:
            continue
        if got.shape != want.shape:
            return f"{name}: shape {list(got.shape)} vs {reference} {list(want.shape)}"
        if not np.array_equal(got, want):
            i, j = np.argwhere(got != want)[0]
            return (f"{name} vs {reference}: image {i} logit {j}: {int(got[i, j])} vs "
                    f"{int(want[i, j])} ({int((got != want).sum())} values differ)")
    return ""


def save_replay(model, images: np.ndarray, directory, reason: str) -> str:
    """Save a failing case as ``<name>.yml`` (fpgac own format) + ``<name>.images.npy``.

    Returns the YAML path. :func:`replay_cases` reads them back.
    """
    from pathlib import Path

    from ..compiler.frontend import save_model
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{model.name}.yml"
    save_model(model, path)
    np.save(d / f"{model.name}.images.npy", images)
    (d / f"{model.name}.reason.txt").write_text(reason.strip() + "\n")
    return str(path)


def replay_cases(directory) -> list[tuple[str, object, np.ndarray]]:
    """``(name, model, images)`` of every saved case in ``directory`` (sorted by name)."""
    from pathlib import Path

    from ..compiler.frontend import load_model
    cases = []
    for yml in sorted(Path(directory).glob("*.yml")):
        npy = yml.with_name(yml.stem + ".images.npy")
        images = np.load(npy, allow_pickle=False)
        cases.append((yml.stem, load_model(yml), images))
    return cases


def check_random_models(seeds, *, images: int = 3, rtl: tuple[str, ...] = (),
                        replay_dir=None, rtl_options: dict | None = None,
                        progress=None) -> CheckResult:
    """Random models (:func:`fpgac.sim.randmodel.random_model`) through every implementation.

    Golden, bigint and PyTorch integer mode always; each simulator in ``rtl`` (e.g.
    ``("verilator",)``) through :func:`fpgac.sim.rtl.simulate` as well. A model on which any
    two disagree is counted as a failure and, with ``replay_dir``, saved there.
    """
    from .randmodel import model_summary, random_model
    res = CheckResult("random models " + "/".join(("golden", "bigint", "torch") + tuple(rtl)))
    t0 = time.perf_counter()
    for seed in seeds:
        model = random_model(int(seed))
        imgs = model_images(model, int(seed), images)
        try:
            results = reference_logits(model, imgs)
            for sim in rtl:
                results[sim] = rtl_logits(model, imgs, simulator=sim, **(rtl_options or {}))
            problem = compare_logits(results)
        except Exception as exc:                   # noqa: BLE001 - any crash is a failure
            problem = f"{type(exc).__name__}: {exc}"
        res.cases += 1
        if problem:
            text = f"seed {seed}: {problem} [{model_summary(model)}]"
            res.fail(text)
            if replay_dir is not None:
                try:
                    save_replay(model, imgs, replay_dir, text)
                except Exception as exc:           # noqa: BLE001
                    res.notes.append(f"seed {seed}: could not save replay: {exc}")
        if progress:
            progress(seed, problem)
    res.seconds = time.perf_counter() - t0
    return res


def rtl_logits(model, images: np.ndarray, *, simulator: str = "verilator", pes: int = 2,
               **options) -> np.ndarray:
    """Logits of the RTL for ``model`` on ``images`` (``int64`` ``[N, classes]``).

    ``pes`` is the lane count of the core; ``options`` go to :func:`fpgac.sim.rtl.simulate`
    (``stalls``, ``x_seed``, ``build_dir``).
    """
    from ..compiler.plan import plan_hardware
    from . import rtl
    from .preprocess import pixel_table
    plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
    out = rtl.simulate(plan, images, simulator=simulator, **options)
    logits = getattr(out, "logits", out)
    return np.asarray(logits, dtype=np.int64).reshape(len(images), -1)


# --------------------------------------------------------------------------------------------
# Primitives in the RTL (Amaranth simulator of the hardware components)

def _requant_params(v: bigint.RequantVector):
    from ..compiler.plan import Requant
    return Requant(mqm0=v.mqm0, shift=v.shift, rnd=semantics.rounding_constant(v.shift, v.rounding),
                   outz=v.out_zero_point, relu=v.relu, n_bits=v.n_bits)


def _run_requantizer(vectors: list[bigint.RequantVector]) -> list[list[int]]:
    """Stream every accumulator of ``vectors`` through one :class:`~fpgac.hw.requant.Requantizer`
    (parameter set ``k`` = vector ``k``), one per cycle; returns the outputs per vector."""
    from ..compiler.analysis.widths import signed_bits
    from ..hw.amsim import pipeline, run_testbench
    from ..hw.requant import Requantizer
    params = tuple(_requant_params(v) for v in vectors)
    in_bits = signed_bits(max(abs(a) for v in vectors for a in v.accs))
    items = [(a, k, j) for k, v in enumerate(vectors) for j, a in enumerate(v.accs)]
    tag_bits = max(1, (len(items) - 1).bit_length())
    dut = Requantizer(params, in_bits=in_bits, tag_bits=tag_bits)
    got: list[list[int | None]] = [[None] * len(v.accs) for v in vectors]

    async def tb(ctx):
        payloads = [{"value": a, "sel": k, "tag": t} for t, (a, k, _) in enumerate(items)]
        for _, out in await pipeline(ctx, dut.i, dut.o, payloads, drain=dut.latency):
            _, k, j = items[out.tag]
            got[k][j] = out.value

    run_testbench(dut, tb, period=1e-6)
    return got


def _requant_verilog(params, in_bits: int) -> tuple[str, int, int, int]:
    """Verilog of a Requantizer behind plain ports (``value``, ``sel``, ``valid`` in;
    ``y``, ``y_valid`` out); returns ``(text, sel_bits, out_bits, latency)``."""
    from amaranth.hdl import Module, signed, unsigned
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from ..compiler.analysis.widths import unsigned_bits
    from ..hw.emit import convert
    from ..hw.requant import Requantizer
    rq = Requantizer(params, in_bits=in_bits, tag_bits=1)
    sel_bits = unsigned_bits(len(params) - 1)

    class Top(wiring.Component):
        def __init__(self):
            super().__init__({"value": In(signed(in_bits)), "sel": In(unsigned(sel_bits)),
                              "valid": In(1), "y": Out(unsigned(rq.out_bits)),
                              "y_valid": Out(1)})

        def elaborate(self, platform):
            m = Module()
            m.submodules.rq = rq
            m.d.comb += [rq.i.payload.value.eq(self.value), rq.i.payload.sel.eq(self.sel),
                         rq.i.payload.tag.eq(0), rq.i.valid.eq(self.valid),
                         self.y.eq(rq.o.payload.value), self.y_valid.eq(rq.o.valid)]
            return m

    text = convert(Top(), name="rq_top")
    return text, sel_bits, rq.out_bits, rq.latency


_RQ_TB = """`timescale 1ns/1ps
module tb;
  reg clk = 1'b0; reg rst = 1'b1;
  reg signed [{iw}-1:0] value = 0; reg valid = 1'b0;
  reg [{sw}-1:0] sel = 0;
  wire [{ow}-1:0] y; wire y_valid;
  reg [{iw}+{sw}-1:0] vec [0:{n}-1];
  integer i, f;
  rq_top dut(.clk(clk), .rst(rst), .value(value), .sel(sel), .valid(valid), .y(y),
             .y_valid(y_valid));
  always #5 clk = ~clk;
  always @(posedge clk) if (y_valid) $fwrite(f, "%0d\\n", y);
  initial begin
    $readmemh("{vec}", vec);
    f = $fopen("{out}", "w");
    @(posedge clk); #1 rst = 1'b0;
    for (i = 0; i < {n}; i = i + 1) begin
      {{sel, value}} = vec[i]; valid = 1'b1;
      @(posedge clk); #1;
    end
    valid = 1'b0;
    repeat ({lat} + 2) @(posedge clk);
    $fclose(f);
    $finish;
  end
endmodule
"""


def _run_requantizer_icarus(vectors: list[bigint.RequantVector]) -> list[list[int]]:
    """As :func:`_run_requantizer`, but the emitted Verilog in Icarus Verilog.

    ``sel`` starts at 0 and the first item is fed right after reset: without the time-0
    trigger of :func:`fpgac.hw.emit.convert` the select registers would keep their initial
    value 0 and Icarus would never evaluate the ``always @*`` blocks that read them (layer
    0's constants would read as X).
    """
    import subprocess
    import tempfile
    from pathlib import Path

    from ..compiler.analysis.widths import signed_bits
    params = tuple(_requant_params(v) for v in vectors)
    in_bits = signed_bits(max(abs(a) for v in vectors for a in v.accs))
    text, sel_bits, out_bits, lat = _requant_verilog(params, in_bits)
    items = [(a, k) for k, v in enumerate(vectors) for a in v.accs]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "rq.v").write_text(text)
        mask = (1 << in_bits) - 1
        (d / "vec.hex").write_text("".join(f"{(k << in_bits) | (a & mask):x}\n"
                                           for a, k in items))
        (d / "tb.v").write_text(_RQ_TB.format(iw=in_bits, sw=sel_bits, ow=out_bits,
                                              n=len(items), vec=d / "vec.hex",
                                              out=d / "out.txt", lat=lat))
        subprocess.run(["iverilog", "-g2012", "-o", str(d / "sim"), str(d / "tb.v"),
                        str(d / "rq.v")], check=True, capture_output=True, text=True)
        subprocess.run(["vvp", "-n", str(d / "sim")], check=True, capture_output=True,
                       text=True, cwd=d)
        outs = [int(w) for w in (d / "out.txt").read_text().split()]
    got: list[list[int | None]] = []
    pos = 0
    for v in vectors:
        chunk = outs[pos:pos + len(v.accs)]
        got.append(chunk + [None] * (len(v.accs) - len(chunk)))
        pos += len(v.accs)
    return got


def check_requant_rtl(seed: int, count: int, *, batch: int = 32, simulator: str = "amaranth",
                      **vector_opts) -> CheckResult:
    """:class:`fpgac.hw.requant.Requantizer` vs :func:`bigint.requantize`.

    ``simulator``: ``"amaranth"`` (the Python simulator of the component) or ``"icarus"``
    (its emitted Verilog in Icarus Verilog, much faster for long runs). ``batch`` vectors
    share one Requantizer instance (one parameter set each, selected per item), so the design
    under test is the multi-layer requantizer the core instantiates. A missing output counts
    as a failure.
    """
    if simulator not in ("amaranth", "icarus"):
        raise ValueError(f"simulator: expected 'amaranth' or 'icarus', found {simulator!r}")
    run = _run_requantizer if simulator == "amaranth" else _run_requantizer_icarus
    res = CheckResult(f"requantizer RTL ({simulator}) vs bigint")
    t0 = time.perf_counter()
    pending: list[bigint.RequantVector] = []

    def flush():
        outs = run(pending)
        for v, got in zip(pending, outs):
            for a, g, w in zip(v.accs, got, v.expected()):
                res.cases += 1
                if g != w:
                    res.fail(_describe(v, a, g, w))
        pending.clear()

    for v in bigint.requant_vectors(seed, count, **vector_opts):
        pending.append(v)
        if len(pending) == batch:
            flush()
    if pending:
        flush()
    res.seconds = time.perf_counter() - t0
    return res


@dataclass(frozen=True)
class AccVector:
    """One accumulation: ``sum (xs - inz) * (ws - wz)`` at ``n_bits``, ``kind`` as in vectors."""

    xs: tuple[int, ...]
    ws: tuple[int, ...]
    inz: int
    wz: int
    n_bits: int
    kind: str

    def expected(self) -> int:
        return bigint.accumulate(list(self.xs), list(self.ws), self.inz, self.wz)

    def bound(self) -> int:
        """The compiler's bound (semantics.md section 2) for these weights, bias 0."""
        xmax = max(self.inz, (1 << self.n_bits) - 1 - self.inz)
        return sum(abs(w - self.wz) for w in self.ws) * xmax


def accumulate_vectors(seed: int, count: int, *, n_bits: tuple[int, int] = (2, 16),
                       max_taps: int = 64):
    """Yield ``count`` seeded :class:`AccVector` s: random, and ``max`` ones that reach the
    compiler's accumulator bound exactly (every product at its largest magnitude, one sign),
    plus zero-point-only and single-tap cases."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(n_bits[0], n_bits[1] + 1))
        top = (1 << n) - 1
        inz = int(rng.choice([0, top])) if rng.random() < 0.3 else int(rng.integers(0, top + 1))
        wz = int(rng.choice([0, top])) if rng.random() < 0.3 else int(rng.integers(0, top + 1))
        taps = int(rng.integers(1, max_taps + 1))
        kind = str(rng.choice(["random", "max", "zero", "one"], p=[0.6, 0.3, 0.05, 0.05]))
        if kind == "one":
            taps = 1
        ws = rng.integers(0, top + 1, size=taps)
        xs = rng.integers(0, top + 1, size=taps)
        if kind == "max":
            # w at the end farthest from wz, x at the end farthest from inz, signs aligned
            wfar = 0 if wz > top - wz else top
            xfar = 0 if inz > top - inz else top
            sign = 1 if rng.random() < 0.5 else -1
            ws[:] = wfar
            xs[:] = xfar if sign * (xfar - inz) * (wfar - wz) >= 0 else 2 * inz - xfar
            xs = np.clip(xs, 0, top)
        elif kind == "zero":
            xs[:] = inz
        yield AccVector(tuple(int(v) for v in xs), tuple(int(v) for v in ws), inz, wz, n, kind)


def run_lane(vec: AccVector, acc_bits: int | None = None) -> int:
    """Feed ``vec`` through one :class:`~fpgac.hw.lane.Lane` with the compiler's widths
    (``acc_bits`` overrides the accumulator width, for mutation checks)."""
    from ..compiler.analysis.widths import delta_bits, signed_bits
    from ..hw.amsim import run_testbench
    from ..hw.lane import Lane
    taps = len(vec.xs)
    dut = Lane(act_bits=vec.n_bits, w_bits=delta_bits(vec.n_bits),
               tap_bits=max(1, (taps - 1).bit_length()),
               addr_bits=max(1, (taps - 1).bit_length()),
               acc_bits=acc_bits or signed_bits(vec.bound()))
    out: list[int] = []

    async def tb(ctx):
        ctx.set(dut.inz, vec.inz)
        addrs = []                      # a memory holding xs, read like the activation
        for e in range(taps + dut.latency):     # memory: the address of READ_LATENCY cycles ago
            if len(addrs) >= dut.READ_LATENCY:
                addr = addrs[-dut.READ_LATENCY]
                ctx.set(dut.rd_data, vec.xs[addr] if addr < taps else 0)
            if e < taps:
                ctx.set(dut.valid, 1)
                ctx.set(dut.first, e == 0)
                ctx.set(dut.last, e == taps - 1)
                ctx.set(dut.latch, e == taps - 1)
                ctx.set(dut.phase0, 1)
                ctx.set(dut.d, vec.ws[e] - vec.wz)
                ctx.set(dut.tap, e)
            else:
                ctx.set(dut.valid, 0)
            addrs.append(ctx.get(dut.rd_addr))
            await ctx.tick()
        out.append(ctx.get(dut.result))

    run_testbench(dut, tb, period=1e-6)
    return out[0]


def check_accumulate_rtl(seed: int, count: int, **vector_opts) -> CheckResult:
    """:class:`fpgac.hw.lane.Lane` (accumulator at the compiler-derived width) and the golden's
    integer accumulation vs :func:`bigint.accumulate`; ``cases`` counts accumulations."""
    res = CheckResult("accumulation RTL/golden vs bigint")
    t0 = time.perf_counter()
    for vec in accumulate_vectors(seed, count, **vector_opts):
        want = vec.expected()
        golden = int(np.sum((np.array(vec.xs, dtype=np.int64) - vec.inz)
                            * (np.array(vec.ws, dtype=np.int64) - vec.wz)))
        got = run_lane(vec)
        res.cases += 1
        if got != want or golden != want:
            res.fail(f"n={vec.n_bits} inz={vec.inz} wz={vec.wz} taps={len(vec.xs)} "
                     f"({vec.kind}): lane {got}, golden {golden}, expected {want}")
    res.seconds = time.perf_counter() - t0
    return res


def check_determinism(seeds, *, pes: int = 3) -> CheckResult:
    """Emit the core's Verilog twice per random model (fresh plans); byte-identical or fail."""
    from ..compiler.plan import plan_hardware
    from .preprocess import pixel_table
    from ..hw.emit import to_verilog
    from .randmodel import random_model
    res = CheckResult("determinism (Verilog emitted twice)")
    t0 = time.perf_counter()
    for seed in seeds:
        a, b = (to_verilog(plan_hardware(m, pes=pes, pixel_lut=pixel_table(m)), name="fpgac_core")
                for m in (random_model(int(seed)), random_model(int(seed))))
        res.cases += 1
        if a != b:
            res.fail(f"seed {seed}: Verilog differs between two emissions")
    res.seconds = time.perf_counter() - t0
    return res


def check_fuzz(seed: int, count: int) -> CheckResult:
    """:func:`fpgac.sim.fuzzing.fuzz_loader`: a crash, hang or unclear message is a failure."""
    from .fuzzing import fuzz_loader
    res = CheckResult("hostile model files (loader fuzzing)")
    out = fuzz_loader(seed, count)
    res.cases = sum(out["outcomes"].values())
    for rec in out["failures"]:
        res.fail(f"mutant {rec['i']} ({rec['kind']} of {rec['src']}): {rec['outcome']} "
                 f"{rec['msg']}")
    res.failures = sum(out["outcomes"][k] for k in ("crash", "hang", "silent"))
    res.notes.append(f"outcomes {dict(out['outcomes'])}; slowest file {out['max_t']:.2f} s; "
                     f"worker peak RSS {out['rss_mb']:.0f} MB; {out['messages']} distinct "
                     "messages")
    res.seconds = out["seconds"]
    return res


def check_rtl_extras(seeds, *, x_seeds=(1, 2, 3), stall_seeds=(5,), pes: int = 2,
                     simulators=("verilator",)) -> CheckResult:
    """Per model: Verilator with randomised initial state (``x_seeds``) and random stalls
    (``stall_seeds``, on each simulator) must give the golden logits."""
    from ..compiler.plan import plan_hardware
    from . import golden, rtl
    from .preprocess import pixel_table, quantize_images
    from .randmodel import random_model
    res = CheckResult("RTL x-initial / random stalls")
    t0 = time.perf_counter()
    for seed in seeds:
        model = random_model(int(seed))
        imgs = model_images(model, int(seed), 3)
        want = np.asarray(golden.run(model, quantize_images(imgs, model)), dtype=np.int64)
        plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
        runs = [("verilator", {"x_seed": x}) for x in x_seeds]
        runs += [(sim, {"stalls": s}) for sim in simulators for s in stall_seeds]
        for sim, opts in runs:
            res.cases += 1
            try:
                got = rtl.simulate(plan, imgs, simulator=sim, **opts).logits
                problem = "" if np.array_equal(got, want) else "logits differ from golden"
            except Exception as exc:               # noqa: BLE001 - any crash is a failure
                problem = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            if problem:
                res.fail(f"seed {seed} {sim} {opts}: {problem}")
    res.seconds = time.perf_counter() - t0
    return res


def check_formal(seeds, **model_kw) -> CheckResult:
    """:func:`fpgac.sim.formal.prove_model` on small random models; cases = proofs."""
    from . import formal
    from .randmodel import random_model
    res = CheckResult("formal (requantizer = spec, accumulator width)")
    t0 = time.perf_counter()
    kw = dict(max_convs=1, max_linears=2, max_conv_channels=2, max_features=4, size=(6, 8),
              n_bits=(2, 8), channels=(1, 1))
    kw.update(model_kw)
    depths = set()
    for seed in seeds:
        for r in formal.prove_model(random_model(int(seed), **kw), timeout_s=600):
            res.cases += 1
            depths.add(r.depth)
            if not r.ok:
                res.fail(f"seed {seed}: {r.line()}")
    res.notes.append(f"depths {sorted(depths)} (requantizer: k-induction depth 4; "
                     "accumulator: combinational, depth 1)")
    res.seconds = time.perf_counter() - t0
    return res


#: family -> (quick size, long size); sizes are counts of the family's own unit
PLAN = {
    "requant-golden": (100_000, 1_000_000),
    "requant-torch": (100_000, 1_000_000),
    "requant-rtl": (4_096, 1_000_000),
    "accumulate-rtl": (40, 1_000),
    "models": (50, 500),
    "models-rtl": (2, 10),
    "models-icarus": (3, 100),
    "rtl-extras": (1, 5),
    "fuzz": (300, 10_000),
    "determinism": (3, 20),
    "formal": (1, 5),
}


def run_selftest(*, long: bool = False, seed: int = 0, models: int | None = None,
                 only: tuple[str, ...] = (), replay_dir=None, progress=None
                 ) -> list[CheckResult]:
    """Run the reliability families of :data:`PLAN` (quick or long sizes) from ``seed``.

    ``models`` overrides the count of random models of ``models`` (golden/bigint/torch);
    ``only`` restricts the families. Failing random models go to ``replay_dir``.
    """
    unknown = set(only) - set(PLAN)
    if unknown:
        from ..errors import FpgacError
        raise FpgacError(f"--only: expected some of {', '.join(PLAN)}, found "
                         f"{', '.join(sorted(unknown))}")
    size = {k: v[1] if long else v[0] for k, v in PLAN.items()}
    if models is not None:
        size["models"] = int(models)
    base = 1_000_000 * int(seed)
    jobs = {
        "requant-golden": lambda: check_requant_golden(base + 1, size["requant-golden"]),
        "requant-torch": lambda: check_requant_torch(base + 2, size["requant-torch"]),
        "requant-rtl": lambda: check_requant_rtl(base + 3, size["requant-rtl"], batch=64,
                                                 simulator="icarus",
                                                 per_vector=256 if long else 64),
        "accumulate-rtl": lambda: check_accumulate_rtl(base + 4, size["accumulate-rtl"]),
        "models": lambda: check_random_models(range(base + 10_000,
                                                    base + 10_000 + size["models"]),
                                              images=3, replay_dir=replay_dir),
        "models-rtl": lambda: check_random_models(
            range(base + 20_000, base + 20_000 + size["models-rtl"]), images=3,
            rtl=("verilator", "icarus"), replay_dir=replay_dir),
        "models-icarus": lambda: check_random_models(
            range(base + 30_000, base + 30_000 + size["models-icarus"]), images=3,
            rtl=("icarus",), replay_dir=replay_dir),
        "rtl-extras": lambda: check_rtl_extras(
            range(base + 20_000, base + 20_000 + size["rtl-extras"]),
            simulators=("verilator", "icarus")),
        "fuzz": lambda: check_fuzz(base + 5, size["fuzz"]),
        "determinism": lambda: check_determinism(range(base + 40_000,
                                                       base + 40_000 + size["determinism"])),
        "formal": lambda: check_formal(range(base + 25, base + 25 + size["formal"])),
    }
    results = []
    for name, job in jobs.items():
        if only and name not in only:
            continue
        if progress:
            progress(name, None)
        res = job()
        res.notes.insert(0, f"family {name}, size {size[name]}, seed base {base}")
        results.append(res)
        if progress:
            progress(name, res)
    return results
