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

from . import bigint

__all__ = ["CheckResult", "check_requant_golden", "check_requant_torch"]


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
