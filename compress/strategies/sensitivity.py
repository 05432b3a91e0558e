"""Per-layer pruning sensitivity and a ratio allocation for a size or MAC target.

:func:`sensitivity_analysis` prunes one weighted layer at a time (``prune.l1_unstructured`` with
each ratio of a grid, no fine-tuning) and measures accuracy on an evaluation set: one
accuracy-vs-ratio curve per layer (:class:`Sensitivity`, saved as CSV/JSON and a matplotlib PNG).

:func:`allocate` then chooses one ratio per layer so that the network meets a target -- a
parameter reduction (``params_x``) or a non-zero-MAC reduction (``macs_x``) -- with the least
accuracy loss, greedily on the curves:

* start with every layer at ratio 0;
* repeatedly move the one layer whose next grid ratio costs the least accuracy per unit saved
  (``max(0, acc(r) - acc(r_next)) / saved``, where ``saved`` is the weights, or weight MACs,
  that step removes; ties: the larger saving) until the target is met;
* the last step lands on the grid, so the result meets the target with at most one grid step
  of overshoot in one layer. Curves are measured without fine-tuning, so they rank layers by
  fragility; the accuracy after :func:`apply_ratios` plus fine-tuning is higher than the curves.
"""

from __future__ import annotations

import copy
import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from torch.nn.utils import prune

from fpgac.errors import FpgacError

from ..data import Dataset
from ..models import CNN
from ..train import evaluate
from .costs import weight_costs

__all__ = ["DEFAULT_RATIOS", "Sensitivity", "sensitivity_analysis", "allocate", "apply_ratios"]

#: The default ratio grid.
DEFAULT_RATIOS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)


@dataclass
class Sensitivity:
    """Accuracy of the network with one layer pruned at each ratio (others untouched).

    ``curves[layer][i]`` is the accuracy (fraction) at ``ratios[i]``; ``weights[layer]`` and
    ``costs[layer]`` are the layer's weight count and MACs per weight.
    """

    ratios: list[float]
    curves: dict[str, list[float]]
    weights: dict[str, int]
    costs: dict[str, int]
    baseline: float
    meta: dict = field(default_factory=dict)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def from_json(cls, path: str | Path) -> "Sensitivity":
        return cls(**json.loads(Path(path).read_text()))

    def to_csv(self, path: str | Path) -> None:
        """One row per (layer, ratio): ``layer, ratio, accuracy, weights, macs_per_weight``."""
        with open(path, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["layer", "ratio", "accuracy", "weights", "macs_per_weight"])
            for layer, accs in self.curves.items():
                for r, a in zip(self.ratios, accs):
                    out.writerow([layer, r, f"{a:.6f}", self.weights[layer], self.costs[layer]])

    def plot(self, path: str | Path) -> None:
        """Save the accuracy-vs-ratio curves of all layers as a PNG."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
        for layer, accs in self.curves.items():
            ax.plot(self.ratios, [100 * a for a in accs], marker="o", ms=3, label=layer)
        ax.axhline(100 * self.baseline, color="grey", lw=0.8, ls="--", label="dense")
        ax.set_xlabel("fraction of the layer's weights pruned (L1, no fine-tuning)")
        ax.set_ylabel("accuracy (%)")
        ax.set_title("per-layer pruning sensitivity")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


def sensitivity_analysis(model: CNN, data: Dataset, *, ratios=DEFAULT_RATIOS,
                         layers: list[str] | None = None) -> Sensitivity:
    """Measure accuracy on ``data`` with each layer L1-pruned alone at each of ``ratios``.

    ``model`` is not modified (each point prunes a deep copy).
    """
    ratios = [float(r) for r in ratios]
    if not ratios or any(not 0.0 <= r < 1.0 for r in ratios) or ratios != sorted(set(ratios)):
        raise FpgacError(f"sensitivity.ratios: expected increasing fractions in [0, 1), "
                         f"found {ratios!r}")
    if ratios[0] != 0.0:
        ratios = [0.0] + ratios
    costs = weight_costs(model)
    names = list(costs) if layers is None else list(layers)
    for n in names:
        if n not in costs:
            raise FpgacError(f"sensitivity.layers: expected layer names among "
                             f"{', '.join(costs)}, found {n!r}")
    baseline = evaluate(model, data)
    curves: dict[str, list[float]] = {}
    for n in names:
        accs = []
        for r in ratios:
            if r == 0.0:
                accs.append(baseline)
                continue
            probe = copy.deepcopy(model)
            prune.l1_unstructured(probe.layers[n], "weight", amount=r)
            accs.append(evaluate(probe, data))
        curves[n] = accs
    return Sensitivity(ratios, curves, {n: model.layers[n].weight.numel() for n in names},
                       {n: costs[n] for n in names}, baseline,
                       {"eval_samples": len(data)})


def allocate(sens: Sensitivity, *, params_x: float | None = None,
             macs_x: float | None = None) -> dict[str, float]:
    """Per-layer ratios (from the grid) meeting a ``params_x`` or ``macs_x`` reduction target.

    Exactly one target must be given; it is a factor over the dense weights (or weight MACs) of
    the analysed layers. See the module doc for the greedy rule.

    Raises
    ------
    FpgacError
        If both or neither target is given, or the grid cannot reach it.
    """
    if (params_x is None) == (macs_x is None):
        raise FpgacError("sensitivity.target: expected exactly one of params_x, macs_x, "
                         f"found params_x={params_x!r}, macs_x={macs_x!r}")
    factor = params_x if params_x is not None else macs_x
    if not factor >= 1.0:
        raise FpgacError(f"sensitivity.target: expected a factor >= 1, found {factor!r}")
    unit = {n: (1 if params_x is not None else sens.costs[n]) * sens.weights[n]
            for n in sens.curves}
    total = sum(unit.values())
    goal = total / factor
    pos = {n: 0 for n in sens.curves}

    def kept() -> float:
        return sum(unit[n] * (1 - sens.ratios[pos[n]]) for n in pos)

    while kept() > goal * (1 + 1e-12):
        best = None
        for n, i in pos.items():
            if i + 1 >= len(sens.ratios):
                continue
            saved = unit[n] * (sens.ratios[i + 1] - sens.ratios[i])
            loss = max(0.0, sens.curves[n][i] - sens.curves[n][i + 1])
            key = (loss / saved, -saved)
            if best is None or key < best[0]:
                best = (key, n)
        if best is None:
            raise FpgacError(f"sensitivity.target: expected a factor the ratio grid can reach "
                             f"(<= {total / max(kept(), 1e-9):.3g}), found {factor!r}")
        pos[best[1]] += 1
    return {n: sens.ratios[i] for n, i in pos.items()}


def apply_ratios(model: CNN, ratios: dict[str, float]) -> None:
    """``prune.l1_unstructured`` each named layer of ``model`` in place at its ratio."""
    for n, r in ratios.items():
        if n not in model.layers:
            raise FpgacError(f"sensitivity.ratios: expected layer names of the model, "
                             f"found {n!r}")
        if r > 0:
            prune.l1_unstructured(model.layers[n], "weight", amount=float(r))
