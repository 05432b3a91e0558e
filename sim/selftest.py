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

__all__ = ["CheckResult", "check_requant_golden", "check_requant_torch", "model_images",
           "reference_logits", "compare_logits", "save_replay", "replay_cases",
           "check_random_models", "rtl_logits"]


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

#: where failing random models are saved (own format YAML + a sidecar with the images)
REPLAY_DIR_NAME = "tests/fixtures/replay"


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
    plan = plan_hardware(model, pes=pes)
    out = rtl.simulate(plan, images, simulator=simulator, **options)
    logits = getattr(out, "logits", out)
    return np.asarray(logits, dtype=np.int64).reshape(len(images), -1)
