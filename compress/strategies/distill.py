"""Knowledge distillation: train a small student from a (wider, dense) teacher.

Loss per batch (Hinton et al.)::

    alpha * T**2 * KL(softmax(t / T) || softmax(s / T))  +  (1 - alpha) * CE(s, labels)
      + feature_weight * sum over pairs of mean((adapter(f_s) - f_t)**2)

where ``s``/``t`` are student/teacher logits, ``T`` the temperature, and the optional feature
pairs ``(student_layer, teacher_layer)`` name layers of the two
:class:`~fpgac.compress.models.CNN`\\ s whose outputs are compared (captured with forward hooks).
When the widths differ, a trainable adapter maps the student feature to the teacher width: a
1x1 convolution for maps (the spatial sizes must agree), a linear layer for flat features. The
adapters are only used for training; the student stays a plain CNN that the base pipeline
prunes, quantizes and exports.

The training loop follows :func:`fpgac.compress.train.train` (same seeded shuffle, augmentation,
optimizer choice and cosine schedule); only the loss differs.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from fpgac.errors import FpgacError

from ..data import Dataset, normalize, random_shift
from ..models import CNN
from ..train import TrainConfig

__all__ = ["distill_loss", "FeatureTap", "distill"]


def distill_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                 labels: torch.Tensor, alpha: float, temperature: float) -> torch.Tensor:
    """``alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student, labels)``.

    The KL term is averaged over the batch (``batchmean``); the teacher gets no gradient.
    """
    if not 0.0 <= alpha <= 1.0:
        raise FpgacError(f"distill.alpha: expected a fraction in [0, 1], found {alpha!r}")
    if not temperature > 0:
        raise FpgacError(f"distill.temperature: expected a number > 0, found {temperature!r}")
    t = temperature
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=1),
                    F.softmax(teacher_logits.detach() / t, dim=1), reduction="batchmean")
    hard = F.cross_entropy(student_logits, labels)
    return alpha * t * t * soft + (1.0 - alpha) * hard


class FeatureTap:
    """Keeps the latest output of the named layers of a CNN (forward hooks)."""

    def __init__(self, model: CNN, names: list[str], role: str):
        self.out: dict[str, torch.Tensor] = {}
        self._handles = []
        for name in names:
            if name not in model.layers:
                raise FpgacError(f"distill.features: expected a {role} layer among "
                                 f"{', '.join(model.layers)}, found {name!r}")
            self._handles.append(model.layers[name].register_forward_hook(self._hook(name)))

    def _hook(self, name: str):
        def hook(_mod, _inp, output):
            self.out[name] = output
        return hook

    def close(self) -> None:
        for h in self._handles:
            h.remove()


def _shape_of(model: CNN, name: str, role: str) -> tuple[int, ...]:
    for li in model.info:
        if li.name == name:
            return li.out_shape
    raise FpgacError(f"distill.features: expected a {role} layer among "
                     f"{', '.join(model.layers)}, found {name!r}")


def _adapter(s_shape: tuple[int, ...], t_shape: tuple[int, ...], where: str) -> nn.Module:
    if len(s_shape) != len(t_shape) or s_shape[1:] != t_shape[1:]:
        raise FpgacError(f"{where}: expected student and teacher features of the same spatial "
                         f"shape, found {s_shape} and {t_shape}")
    if s_shape[0] == t_shape[0]:
        return nn.Identity()
    if len(s_shape) == 3:
        return nn.Conv2d(s_shape[0], t_shape[0], 1, bias=False)
    return nn.Linear(s_shape[0], t_shape[0], bias=False)


def distill(student: CNN, teacher: nn.Module, data: Dataset, cfg: TrainConfig, *,
            alpha: float = 0.7, temperature: float = 4.0,
            features: list[tuple[str, str]] | None = None,
            feature_weight: float = 1.0) -> list[float]:
    """Train ``student`` in place from ``teacher`` (kept frozen); return the mean loss per epoch.

    Parameters
    ----------
    student, teacher
        Both take normalized ``[N, 1, 28, 28]`` images; the teacher must be a :class:`CNN`
        when ``features`` are given.
    alpha, temperature
        Weight of the soft (KL) term and the softmax temperature.
    features
        Optional ``(student_layer, teacher_layer)`` pairs for feature L2 losses.
    feature_weight
        Weight of the summed feature losses.
    """
    features = list(features or [])
    if features and not isinstance(teacher, CNN):
        raise FpgacError("distill.features: expected a CNN teacher, found "
                         f"{type(teacher).__name__}")
    adapters = nn.ModuleList(
        _adapter(_shape_of(student, s, "student"), _shape_of(teacher, t, "teacher"),
                 f"distill.features[{i}]")
        for i, (s, t) in enumerate(features))
    s_tap = FeatureTap(student, [s for s, _ in features], "student")
    t_tap = FeatureTap(teacher, [t for _, t in features], "teacher") if features else None
    params = list(student.parameters()) + list(adapters.parameters())
    if cfg.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=cfg.lr,
                                                      weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    else:
        raise FpgacError(f"train.optimizer: expected 'adam' or 'sgd', found {cfg.optimizer!r}")
    gen = torch.Generator().manual_seed(cfg.seed)
    n = len(data)
    steps = max(cfg.epochs, 0) * ((n + cfg.batch_size - 1) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1),
                                                       eta_min=cfg.lr * 0.05)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student.train()
    losses: list[float] = []
    try:
        for _ in range(max(cfg.epochs, 0)):
            order = torch.randperm(n, generator=gen)
            total = 0.0
            for start in range(0, n, cfg.batch_size):
                idx = order[start:start + cfg.batch_size]
                x = normalize(random_shift(data.pixels[idx], cfg.shift, gen))
                with torch.no_grad():
                    t_logits = teacher(x)
                s_logits = student(x)
                loss = distill_loss(s_logits, t_logits, data.labels[idx], alpha, temperature)
                for (s, t), ad in zip(features, adapters):
                    loss = loss + feature_weight * F.mse_loss(ad(s_tap.out[s]),
                                                              t_tap.out[t].detach())
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            losses.append(total / n)
    finally:
        s_tap.close()
        if t_tap is not None:
            t_tap.close()
        for p in teacher.parameters():
            p.requires_grad_(True)
    student.eval()
    return losses
