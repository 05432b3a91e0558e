"""The stage registry of the one compression pipeline: stage kind -> defaults, types, run.

Every compression run (the fixed ``fpgac compress`` preset and every staged config) is a list
of stages run in order by :func:`fpgac.compress.runner.run_stages`. A stage kind is one
:class:`StageKind`, registered with the :func:`stage` decorator on its run function (the kinds
themselves are in :mod:`fpgac.compress.stages`)::

    @stage("quantize", {"bits": 8, "calib": 1000, "percentile": 99.99, "rounding": "floor"},
           changes_float=False, makes_int=True)
    def _quantize(run: Run, p: dict, seed: int) -> dict:
        ...                                   # sets run.qmodel; returns the row's ``info``

A parameter's type is the type of its default unless :attr:`StageKind.types` names it (needed
where the default is ``None``); its value rule is the one of :data:`RULES` under the same
parameter name (shared by every kind, so ``bits`` means the same everywhere); rules between
parameters go in the kind's ``check``. Errors are :class:`~fpgac.errors.ModelError` with the
key path, what was expected and what was found.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fpgac.compiler import ir
from fpgac.errors import ModelError

from .data import Dataset
from .integer import integer_forward
from .models import CNN
from .prune import METHODS, check_zeros, make_permanent, masks_of
from .train import TrainConfig, train

__all__ = ["StageKind", "STAGES", "stage", "RULES", "LAYOUTS", "type_ok", "type_names",
           "Run", "keep_zeros"]

LAYOUTS = ("dense", "coo", "csr", "csc")

_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
          list: "a list", type(None): "null"}

_POSITIVE = (lambda v: v >= 1, "an integer >= 1")
_EPOCHS = (lambda v: v >= 0, "an integer >= 0")
_LR = (lambda v: v > 0, "a number > 0")
_OPTIMIZER = (lambda v: v in ("adam", "sgd"), "'adam' or 'sgd'")
_FRACTION = (lambda v: 0 <= v < 1, "a fraction in [0, 1)")

#: value rules by parameter name (after the type check; ``None`` values of optional
#: parameters are not checked): ``name -> (predicate, what is expected)``
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "epochs": _EPOCHS, "finetune_epochs": _EPOCHS, "teacher_epochs": _EPOCHS,
    "iterations": _POSITIVE, "steps": _POSITIVE, "batch_size": _POSITIVE,
    "finetune_batch_size": _POSITIVE, "calib": _POSITIVE, "eval": _POSITIVE,
    "rank": _POSITIVE,
    "lr": _LR, "finetune_lr": _LR, "teacher_lr": _LR,
    "optimizer": _OPTIMIZER, "finetune_optimizer": _OPTIMIZER,
    "bits": (lambda v: 2 <= v <= 16, "an integer in [2, 16]"),
    "percentile": (lambda v: 50 < v <= 100, "a number in (50, 100]"),
    "rounding": (lambda v: v in ("floor", "half_up"), "'floor' or 'half_up'"),
    "method": (lambda v: v in METHODS, "one of " + ", ".join(METHODS)),
    "amount": _FRACTION, "ratio": _FRACTION,
    "dim": (lambda v: v in (0, 1), "0 (filters) or 1 (channels)"),
    "threshold": (lambda v: v >= 0, "a number >= 0"),
    "reduction": (lambda v: v >= 1.0, "a factor >= 1"),
    "layout": (lambda v: v in LAYOUTS, "one of " + ", ".join(LAYOUTS)),
    "legacy_layout": (lambda v: v in ("coo", "dense"), "'coo' or 'dense'"),
    "legacy_int_name": (lambda v: "{name}" in v and "/" not in v,
                        "a file name containing '{name}'"),
}


def type_ok(value: object, want) -> bool:
    """``value`` has (one of) the type(s) ``want``; ints pass as floats, bools never as
    numbers."""
    for w in want if isinstance(want, tuple) else (want,):
        if w is bool:
            if isinstance(value, bool):
                return True
        elif w in (int, float):
            if isinstance(value, bool):
                continue
            if isinstance(value, int) or (w is float and isinstance(value, float)):
                return True
        elif isinstance(value, w):
            return True
    return False


def type_names(want) -> str:
    """``"an integer or null"`` for ``(int, type(None))``."""
    return " or ".join(_NAMES[w] for w in (want if isinstance(want, tuple) else (want,)))


#: the check of a kind's parameters together: ``check(params, where, shape)`` raises a
#: ``ModelError`` whose path starts with ``where(key)``; ``shape`` is the run's input shape
Check = Callable[[dict, Callable[[str], str], tuple], None]


@dataclass(frozen=True)
class StageKind:
    """One registered stage kind.

    ``run(run, params, seed)`` does the stage on the :class:`Run` state and returns the row's
    ``info``. ``changes_float``: the float network changes (any integer model is dropped);
    ``makes_int``: it sets ``run.qmodel``; ``needs_int``: it needs an integer model made by an
    earlier stage with no ``changes_float`` stage in between; ``sparsifies``: later training
    holds the zero weights at 0 (:func:`keep_zeros`).
    """

    kind: str
    defaults: dict[str, Any]
    run: Callable[..., dict]
    types: dict[str, Any] = field(default_factory=dict)
    check: Check | None = None
    changes_float: bool = True
    makes_int: bool = False
    needs_int: bool = False
    sparsifies: bool = False

    @property
    def doc(self) -> str:
        """The first line of the run function's docstring."""
        return (self.run.__doc__ or "").strip().splitlines()[0]

    def type_of(self, key: str):
        return self.types.get(key, type(self.defaults[key]))

    def params(self, given: object, where: Callable[[str], str], source: str | None,
               shape: tuple, *, what: str | None = None) -> dict:
        """``given`` (a mapping or None) checked and completed with the defaults.

        ``where(key)`` is the key path of a parameter in the error messages; ``what`` the path
        of the mapping itself; ``shape`` the run's input shape (for specs among the parameters).
        """
        given = {} if given is None else given
        if not isinstance(given, dict):
            raise ModelError(what or self.kind, "a mapping of parameters", given, source=source)
        full = copy.deepcopy(self.defaults)
        for key, value in given.items():
            if key not in full:
                raise ModelError(where(key), "one of " + ", ".join(full), f"key {key!r}",
                                 source=source)
            want = self.type_of(key)
            if not type_ok(value, want):
                raise ModelError(where(key), type_names(want), value, source=source)
            full[key] = copy.deepcopy(value)

        for key, value in full.items():
            if key in RULES and value is not None and not RULES[key][0](value):
                raise ModelError(where(key), RULES[key][1], value, source=source)
        if self.check is not None:
            try:
                self.check(full, where, shape)
            except ModelError as exc:
                if exc.source is not None:
                    raise
                raise ModelError(exc.path, exc.expected, exc.found, source=source) from None
        return full


#: kind -> :class:`StageKind`, in registration order (the order the docs list them)
STAGES: dict[str, StageKind] = {}


def stage(kind: str, defaults: dict[str, Any], *, seeded: bool = True, **options):
    """Register the decorated ``run(run, params, seed) -> info`` as stage ``kind``.

    ``seeded`` adds the optional parameter ``seed`` (default: the run's seed
    ``+ 101 * (index + 1)``); ``options`` are the other :class:`StageKind` fields.
    """
    if seeded:
        defaults = {**defaults, "seed": None}
        options["types"] = {**options.get("types", {}), "seed": (int, type(None))}

    def register(fn: Callable[..., dict]) -> Callable[..., dict]:
        if kind in STAGES:
            raise ValueError(f"stage kind {kind!r} registered twice")
        STAGES[kind] = StageKind(kind, defaults, fn, **options)
        return fn

    return register


def keep_zeros(model: CNN, fn: Callable[[], Any]) -> Any:
    """Run ``fn()`` (a training run) with every weight that is exactly 0 now held at 0.

    ``prune.custom_from_mask`` attaches the mask ``weight != 0`` to every weighted layer, so
    training (also QAT and distillation, which go through the same modules) cannot revive a
    pruned weight; afterwards the masks are made permanent and the zeros are checked.
    """
    from torch.nn.utils import prune

    masks = {}
    for name, mod in model.weighted():
        if prune.is_pruned(mod):
            prune.remove(mod, "weight")
        masks[name] = (mod.weight.detach() != 0).to(mod.weight.dtype)
        prune.custom_from_mask(mod, "weight", masks[name])
    try:
        result = fn()
    finally:
        make_permanent(model)
    check_zeros(model, masks)
    return result


@dataclass
class Run:
    """The state the stages of one run share and change.

    ``epochs_scale`` multiplies every epoch count (rounded, at least 1 where it was > 0);
    ``limit`` caps the calibration and sensitivity image counts; ``sparse`` is set after the
    first ``sparsifies`` stage.
    """

    name: str
    seed: int
    shape: tuple[int, int, int]
    out: Path
    train_set: Dataset
    test_set: Dataset
    model: CNN
    source: str | None = None
    epochs_scale: float = 1.0
    limit: int | None = None
    progress: bool = False
    say: Callable[[str], None] = lambda _msg: None
    qmodel: ir.Model | None = None
    files: dict[str, str] = field(default_factory=dict)
    sparse: bool = False
    _logits: tuple | None = None

    def cap(self, n: int) -> int:
        return n if self.limit is None else min(n, self.limit)

    def epochs(self, n: int) -> int:
        return 0 if n <= 0 else max(1, int(round(n * self.epochs_scale)))

    def train_cfg(self, p: dict, seed: int, prefix: str = "") -> TrainConfig:
        """The :class:`TrainConfig` of ``p``'s ``<prefix>epochs``, ``<prefix>lr``, ...;
        a missing ``<prefix>key`` falls back to ``key``, then to the trainer's default."""
        def get(key: str, default: Any) -> Any:
            return p.get(prefix + key, p.get(key, default))

        return TrainConfig(epochs=self.epochs(p[prefix + "epochs"]),
                           batch_size=get("batch_size", 64), lr=float(p[prefix + "lr"]),
                           optimizer=get("optimizer", "adam"),
                           weight_decay=float(get("weight_decay", 0.0)),
                           shift=get("shift", 2), seed=seed)

    def train(self, cfg: TrainConfig, label: str, model: CNN | None = None) -> list[float]:
        """Train ``model`` (default: the run's network) on the training images."""
        return train(self.model if model is None else model, self.train_set, cfg,
                     progress=self.progress, label=label)

    def fit(self, fn: Callable[[], Any]) -> Any:
        """``fn()``, holding the zero weights at 0 once the network is sparse."""
        return keep_zeros(self.model, fn) if self.sparse else fn()

    def masked_finetune(self, cfg: TrainConfig, label: str = "fine-tune") -> None:
        """Fine-tune with the prune masks in place, make them permanent, check the zeros."""
        masks = masks_of(self.model)
        self.train(cfg, label)
        make_permanent(self.model)
        check_zeros(self.model, masks)

    def int_logits(self):
        """The integer model's logits on the test images (torch integer mode, cached)."""
        if self._logits is None or self._logits[0] is not self.qmodel:
            self._logits = (self.qmodel, integer_forward(self.qmodel, self.test_set.pixels))
        return self._logits[1]
