"""MAC-aware global unstructured pruning: hit a non-zero-MAC target directly.

Global magnitude pruning budgets *parameters*; on a CNN that is a poor proxy for work, because a
conv weight is used ``H_out * W_out`` times per image and a linear weight once (LeNet-5: conv1
weights cost 784 MACs each, fc weights 1). This strategy budgets MACs instead:

* every weight gets a score ``|w| / cost**alpha`` (``cost`` = MACs of one use of the weight,
  :func:`~fpgac.compress.strategies.costs.weight_costs`); ``alpha = 0`` is plain magnitude,
  ``alpha = 1`` is magnitude per MAC. With ``normalize=True`` the magnitude is first divided
  by the root mean square of the layer's live (unpruned) weights, so layers whose weights
  differ in scale (default initializations scale with ``1/sqrt(fan_in)``) compete on
  relative magnitude: ``|w| / rms_layer / cost**alpha``;
* :class:`MacBudgetPruning` (a ``torch.nn.utils.prune.BasePruningMethod``, applied through
  ``prune.global_unstructured`` with these ``importance_scores``) keeps the highest scores while
  the kept weights' MACs fit the budget. The threshold is found by binary search
  (``torch.searchsorted``) on the cumulative MACs of the weights sorted by score, which gives
  the exact largest set ``{score >= t}`` (ties broken by position) whose MACs fit;
* the budget is ``dense MACs / reduction``; masks compose, so calling it again with a larger
  reduction (iterative pruning with fine-tuning in between) prunes further.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn.utils import prune

from fpgac.errors import FpgacError

from ..models import CNN
from .costs import footprint, weight_costs

__all__ = ["MacBudgetPruning", "prune_macs", "prune_macs_iterative"]


class MacBudgetPruning(prune.BasePruningMethod):
    """Keep the highest-scored entries whose summed ``costs`` stay within ``budget``.

    Parameters
    ----------
    budget
        MACs (sum of ``costs`` over kept entries) allowed after pruning.
    costs
        Cost of every entry of the *whole* flattened tensor (same order as the scores given to
        ``global_unstructured``).
    prior_mask
        The whole flattened mask in force before this step. ``PruningContainer`` hands
        :meth:`compute_mask` only the still-unpruned slice; this selects the matching costs.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, budget: float, costs: torch.Tensor, prior_mask: torch.Tensor):
        self.budget = float(budget)
        self.costs = costs.flatten().to(torch.float64)
        self.prior = prior_mask.flatten() != 0

    def compute_mask(self, t: torch.Tensor, default_mask: torch.Tensor) -> torch.Tensor:
        if t.numel() == self.costs.numel():
            costs = self.costs
        elif t.numel() == int(self.prior.sum()):
            costs = self.costs[self.prior]
        else:
            raise FpgacError(f"MacBudgetPruning: expected {self.costs.numel()} or "
                             f"{int(self.prior.sum())} scores, found {t.numel()}")
        live = default_mask.flatten() != 0
        scores = torch.where(live, t.flatten().to(torch.float64),
                             torch.full_like(costs, -float("inf")))
        order = torch.argsort(scores, descending=True, stable=True)
        cum = torch.cumsum(torch.where(live, costs, torch.zeros_like(costs))[order], 0)
        n_keep = int(torch.searchsorted(cum, torch.tensor([self.budget], dtype=cum.dtype),
                                        right=True))
        n_keep = min(n_keep, int(live.sum()))
        mask = torch.zeros_like(default_mask).flatten()
        mask[order[:n_keep]] = 1
        return mask.reshape(default_mask.shape)


def prune_macs(model: CNN, reduction: float, *, alpha: float = 0.0,
               layers: list[str] | None = None, normalize: bool = False) -> dict:
    """Prune ``model`` in place until its non-zero MACs are at most ``dense MACs / reduction``.

    Parameters
    ----------
    reduction
        Target factor (> 1): ``5`` means 5x fewer non-zero MACs than the dense network.
    alpha
        Score exponent (see the module doc); ``0`` = magnitude, ``1`` = magnitude per MAC.
    layers
        Weighted layers to prune (default all). MACs of the other layers still count against
        the budget.
    normalize
        Divide magnitudes by each layer's live-weight RMS first (see the module doc).

    Returns
    -------
    dict
        ``{"dense": Footprint, "after": Footprint, "macs_x": .., "params_x": ..}``; ``macs_x``
        is ``>= reduction`` unless the layers left out already exceed the budget.
    """
    if not reduction >= 1.0:
        raise FpgacError(f"macs.reduction: expected a number >= 1, found {reduction!r}")
    if not alpha >= 0.0:
        raise FpgacError(f"macs.alpha: expected a number >= 0, found {alpha!r}")
    cost = weight_costs(model)
    names = [n for n, _ in model.weighted()]
    layers = names if layers is None else list(layers)
    for n in layers:
        if n not in cost:
            raise FpgacError(f"macs.layers: expected layer names among {', '.join(names)}, "
                             f"found {n!r}")
    dense = sum(model.layers[n].weight.numel() * cost[n] for n in names)
    fixed = sum(int((model.layers[n].weight != 0).sum()) * cost[n]
                for n in names if n not in layers)
    budget = dense / reduction - fixed
    if budget < 0:
        raise FpgacError(f"macs.reduction: expected a target the unpruned layers allow "
                         f"(<= {dense / max(fixed, 1):.3g}), found {reduction!r}")
    params = [(model.layers[n], "weight") for n in layers]
    costs = torch.cat([torch.full((m.weight.numel(),), float(cost[n]), dtype=torch.float64)
                       for n, (m, _) in zip(layers, params)])
    prior = torch.cat([getattr(m, "weight_mask", torch.ones_like(m.weight)).flatten()
                       for m, _ in params])
    def rms(w: torch.Tensor) -> float:
        live = w[w != 0]
        return float(live.pow(2).mean().sqrt()) if live.numel() else 1.0

    scores = {(m, "weight"): m.weight.detach().abs()
              / ((rms(m.weight.detach()) if normalize else 1.0) * float(cost[n]) ** alpha)
              for n, (m, _) in zip(layers, params)}
    before = footprint(model)
    prune.global_unstructured(params, pruning_method=MacBudgetPruning,
                              importance_scores=scores, budget=budget, costs=costs,
                              prior_mask=prior)
    after = footprint(model)
    base = type(before)(before.params, before.params, before.macs, before.macs)
    return {"dense": base, "after": after, **after.reduction(base)}


def prune_macs_iterative(model: CNN, reduction: float, steps: int, *, alpha: float = 0.0,
                         normalize: bool = False,
                         between: Callable[[int], None] | None = None) -> dict:
    """:func:`prune_macs` in ``steps`` geometric steps (``reduction**(i/steps)``), calling
    ``between(i)`` (e.g. a fine-tuning run) after every step but the last; masks compose."""
    if steps < 1:
        raise FpgacError(f"macs.steps: expected an integer >= 1, found {steps!r}")
    result: dict = {}
    for i in range(1, steps + 1):
        result = prune_macs(model, reduction ** (i / steps), alpha=alpha, normalize=normalize)
        if between is not None and i < steps:
            between(i)
    return result
