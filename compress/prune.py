"""Pruning on top of ``torch.nn.utils.prune`` (nothing here re-implements a pruning method).

Methods (``method`` argument of :func:`prune_model`):

``random``
    ``prune.random_unstructured`` on every weighted layer (``amount`` per layer).
``l1``
    ``prune.l1_unstructured`` on every weighted layer (``amount`` per layer).
``global-l1``
    ``prune.global_unstructured(..., pruning_method=prune.L1Unstructured)``: one magnitude
    threshold across all weighted layers, ``amount`` of all their weights.
``ln-structured``
    ``prune.ln_structured(n=norm, dim=dim)`` per layer: ``dim=0`` removes whole filters
    (output channels), ``dim=1`` whole input channels. The last layer is left alone (removing a
    class output would remove a class).
``custom``
    Any ``prune.BasePruningMethod`` subclass applied per layer through its ``apply`` class
    method, with keyword arguments; the default is :class:`ThresholdPruning`.

Iterative pruning (``iterations = k > 1``) prunes ``k`` times with the per-step fraction
``1 - (1 - amount)**(1/k)`` of what is left; ``torch.nn.utils.prune`` composes the masks
(a ``PruningContainer``), so after ``k`` steps a fraction ``amount`` is pruned (up to rounding
of the per-step counts). Masks stay attached (``weight = weight_orig * weight_mask``) until
:func:`make_permanent` calls ``prune.remove``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils import prune

from fpgac.errors import FpgacError

from .models import CNN

__all__ = [
    "METHODS", "ThresholdPruning", "prune_model", "prune_step", "step_amount", "masks_of",
    "make_permanent", "check_zeros", "LayerSparsity", "sparsity_report",
]

METHODS = ("global-l1", "l1", "random", "ln-structured", "custom")


class ThresholdPruning(prune.BasePruningMethod):
    """Unstructured pruning of every weight with ``|w| <= threshold`` (an example user method).

    Composes with earlier masks like the built-in methods: ``compute_mask`` sees only the
    still-unpruned entries (``PruningContainer`` passes their slice).
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, threshold: float):
        if not threshold >= 0:
            raise FpgacError(f"prune.threshold: expected a number >= 0, found {threshold!r}")
        self.threshold = float(threshold)

    def compute_mask(self, t: torch.Tensor, default_mask: torch.Tensor) -> torch.Tensor:
        return default_mask * (t.abs() > self.threshold).to(default_mask.dtype)

    @classmethod
    def apply(cls, module: nn.Module, name: str, threshold: float):  # noqa: D102
        return super().apply(module, name, threshold=threshold)


def step_amount(amount: float, iterations: int) -> float:
    """Fraction of the remaining weights to prune per step so that ``iterations`` steps prune
    ``amount`` in total: ``1 - (1 - amount) ** (1 / iterations)``."""
    return 1.0 - (1.0 - amount) ** (1.0 / iterations)


def _check(method: str, amount: float, iterations: int) -> None:
    if method not in METHODS:
        raise FpgacError(f"prune.method: expected one of {', '.join(METHODS)}, found {method!r}")
    if not 0.0 <= amount < 1.0:
        raise FpgacError(f"prune.amount: expected a fraction in [0, 1), found {amount!r}")
    if iterations < 1:
        raise FpgacError(f"prune.iterations: expected an integer >= 1, found {iterations!r}")


def prune_step(model: CNN, method: str, amount: float, *, dim: int = 0, norm: float = 2,
               custom: type[prune.BasePruningMethod] = ThresholdPruning,
               custom_kwargs: dict | None = None) -> None:
    """Apply one pruning step to every weighted layer of ``model`` (masks compose)."""
    layers = model.weighted()
    if method == "global-l1":
        prune.global_unstructured([(m, "weight") for _, m in layers],
                                  pruning_method=prune.L1Unstructured, amount=amount)
    elif method == "l1":
        for _, m in layers:
            prune.l1_unstructured(m, "weight", amount=amount)
    elif method == "random":
        for _, m in layers:
            prune.random_unstructured(m, "weight", amount=amount)
    elif method == "ln-structured":
        if dim not in (0, 1):
            raise FpgacError(f"prune.dim: expected 0 (filters) or 1 (channels), found {dim!r}")
        for i, (_, m) in enumerate(layers):
            if dim == 0 and i == len(layers) - 1:
                continue
            if dim == 1 and i == 0 and m.weight.shape[1] == 1:
                continue
            prune.ln_structured(m, "weight", amount=amount, n=norm, dim=dim)
    elif method == "custom":
        for _, m in layers:
            custom.apply(m, "weight", **(custom_kwargs or {}))
    else:
        _check(method, amount, 1)


def prune_model(model: CNN, method: str, amount: float, iterations: int = 1, *,
                between=None, **kwargs) -> None:
    """Prune ``model`` in place in ``iterations`` composed steps towards ``amount``.

    ``between(step)`` (optional) is called after each step but the last, e.g. to fine-tune;
    ``kwargs`` go to :func:`prune_step`. For ``custom`` every step applies the method as given
    (``amount`` is not used: the method decides).
    """
    _check(method, amount, iterations)
    per_step = step_amount(amount, iterations)
    for step in range(iterations):
        prune_step(model, method, per_step, **kwargs)
        if between is not None and step < iterations - 1:
            between(step)


def masks_of(model: CNN) -> dict[str, torch.Tensor]:
    """The current ``weight_mask`` of every pruned weighted layer (copies)."""
    return {n: m.weight_mask.detach().clone() for n, m in model.weighted()
            if hasattr(m, "weight_mask")}


def make_permanent(model: CNN) -> None:
    """``prune.remove`` every pruning re-parametrization: ``weight`` becomes a plain parameter
    holding ``weight_orig * weight_mask``."""
    for _, m in model.weighted():
        if prune.is_pruned(m) and hasattr(m, "weight_orig"):
            prune.remove(m, "weight")


def check_zeros(model: CNN, masks: dict[str, torch.Tensor]) -> None:
    """Assert that every weight whose mask entry is 0 is exactly 0.0.

    Raises
    ------
    AssertionError
        Naming the layer and the number of masked weights that are not 0.
    """
    for name, m in model.weighted():
        if name not in masks:
            continue
        bad = int(((m.weight.detach() != 0) & (masks[name] == 0)).sum())
        assert bad == 0, f"{name}: {bad} pruned weights are not exactly 0 after fine-tuning"


@dataclass
class LayerSparsity:
    """Sparsity and multiply-accumulate counts of one weighted layer.

    ``macs`` counts every weight once per output pixel (conv) or once (linear);
    ``nonzero_macs`` counts only non-zero weights.
    """

    name: str
    weights: int
    nonzero: int
    macs: int
    nonzero_macs: int

    @property
    def sparsity(self) -> float:
        return 1.0 - self.nonzero / self.weights

    def as_dict(self) -> dict:
        return {**asdict(self), "sparsity": self.sparsity}


def sparsity_report(model: CNN) -> tuple[list[LayerSparsity], LayerSparsity]:
    """Per-layer and total (``name="total"``) sparsity and MAC counts of ``model``'s weights."""
    rows = []
    for li in model.info:
        if li.kind not in ("conv2d", "linear"):
            continue
        w = model.layers[li.name].weight.detach()
        pixels = li.out_shape[1] * li.out_shape[2] if li.kind == "conv2d" else 1
        nz = int((w != 0).sum())
        rows.append(LayerSparsity(li.name, w.numel(), nz, w.numel() * pixels, nz * pixels))
    total = LayerSparsity("total", sum(r.weights for r in rows), sum(r.nonzero for r in rows),
                          sum(r.macs for r in rows), sum(r.nonzero_macs for r in rows))
    return rows, total
