"""Training and evaluation loops (float), used for training and for masked fine-tuning.

Determinism: all randomness (initial weights aside, see :func:`fpgac.compress.models.build_cnn`)
comes from one ``torch.Generator`` seeded with ``seed``: the shuffle order of every epoch and the
augmentation shifts. Same seed, same thread count -> same weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from fpgac.errors import FpgacError

from .data import Dataset, normalize, random_shift

__all__ = ["TrainConfig", "train", "evaluate", "predict"]


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run.

    ``optimizer`` is ``"adam"`` or ``"sgd"`` (momentum 0.9); the learning rate follows a cosine
    schedule from ``lr`` to ``lr * 0.05`` over all steps; ``shift`` is the augmentation's maximal
    random shift in pixels (0: none).
    """

    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    shift: int = 2
    seed: int = 0


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9,
                               weight_decay=cfg.weight_decay)
    raise FpgacError(f"train.optimizer: expected 'adam' or 'sgd', found {cfg.optimizer!r}")


def train(model: nn.Module, data: Dataset, cfg: TrainConfig, *, progress: bool = True,
          label: str = "train") -> list[float]:
    """Train ``model`` in place on ``data``; return the mean loss of every epoch.

    Works unchanged on a pruned model: ``torch.nn.utils.prune`` re-applies each mask in a
    forward pre-hook, so the gradient of a pruned weight is 0 and it stays exactly 0.
    """
    if cfg.epochs <= 0:
        return []
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = _optimizer(model, cfg)
    n = len(data)
    steps = cfg.epochs * ((n + cfg.batch_size - 1) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=cfg.lr * 0.05)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    model.train()
    with _Progress(progress, f"{label}", steps) as bar:
        for epoch in range(cfg.epochs):
            order = torch.randperm(n, generator=gen)
            total = 0.0
            for start in range(0, n, cfg.batch_size):
                idx = order[start:start + cfg.batch_size]
                x = normalize(random_shift(data.pixels[idx], cfg.shift, gen))
                loss = loss_fn(model(x), data.labels[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
                bar.advance(f"{label} epoch {epoch + 1}/{cfg.epochs} "
                            f"loss {float(loss.detach()):.3f}")
            losses.append(total / n)
    model.eval()
    return losses


@torch.no_grad()
def predict(model: nn.Module, data: Dataset, batch_size: int = 1000) -> torch.Tensor:
    """Predicted class of every sample (``argmax`` of the float logits)."""
    model.eval()
    out = [model(normalize(data.pixels[i:i + batch_size])).argmax(1)
           for i in range(0, len(data), batch_size)]
    return torch.cat(out)


def evaluate(model: nn.Module, data: Dataset, batch_size: int = 1000) -> float:
    """Top-1 accuracy (fraction in [0, 1]) of ``model`` on ``data``."""
    return float((predict(model, data, batch_size) == data.labels).double().mean())


class _Progress:
    """A rich progress bar (or nothing when disabled / not a terminal-friendly run)."""

    def __init__(self, enabled: bool, label: str, total: int):
        self.enabled, self.label, self.total = enabled, label, total
        self._bar = None

    def __enter__(self) -> "_Progress":
        if self.enabled:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn)
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def advance(self, description: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=description)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
