"""Uniform filter pruning that physically shrinks the network.

:func:`prune_filters` removes the same fraction of filters (output channels) from every selected
layer, lowest L1 norm first, and returns a new, smaller :class:`~fpgac.compress.models.CNN`:

1. the filters to drop are chosen by ``torch.nn.utils.prune.ln_structured(n=1, dim=0)`` on a
   copy of each layer (``round(ratio * out_channels)`` filters, torch's rounding);
2. a new spec is written with the reduced ``out_channels`` / ``out_features``;
3. weights are copied: the kept rows of the pruned layer, and the matching input columns of the
   next weighted layer -- input channels of a following conv2d, or, across ``flatten``, the
   ``H*W`` consecutive input columns of each kept channel of the following linear layer.

ReLU and max-pool are per channel, so dropping a filter drops exactly its channel downstream
and the smaller network computes the same function as the masked one. The last weighted layer
(the class outputs) is never pruned.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import prune

from fpgac.errors import FpgacError

from ..models import CNN, build_cnn
from ..prune import make_permanent

__all__ = ["select_filters", "named_spec", "shrink", "prune_filters"]


def named_spec(model: CNN) -> list[dict]:
    """A copy of ``model.spec`` in which every layer carries its resolved ``name``.

    Editing such a spec (inserting or resizing layers) keeps the names of all other layers.
    """
    return [{**dict(layer), "name": li.name} for layer, li in zip(model.spec, model.info)]


def select_filters(module: nn.Module, ratio: float) -> torch.Tensor:
    """Indices (ascending) of the filters of ``module`` that L1 filter pruning keeps.

    ``prune.ln_structured(n=1, dim=0, amount=ratio)`` is applied to a deep copy, so ``module``
    is not changed. At least one filter is always kept.
    """
    if not 0.0 <= ratio < 1.0:
        raise FpgacError(f"filters.ratio: expected a fraction in [0, 1), found {ratio!r}")
    probe = copy.deepcopy(module)
    if prune.is_pruned(probe):
        prune.remove(probe, "weight")
    prune.ln_structured(probe, "weight", amount=ratio, n=1, dim=0)
    mask = probe.weight_mask.flatten(1).amax(1)
    keep = torch.nonzero(mask).flatten()
    if keep.numel() == 0:
        keep = probe.weight_orig.detach().flatten(1).abs().sum(1).argmax().reshape(1)
    return keep


def shrink(model: CNN, keep: dict[str, torch.Tensor]) -> CNN:
    """A new, smaller CNN that keeps only output channels ``keep[name]`` of the given layers.

    Parameters
    ----------
    model
        The source network (not modified). Pruning re-parametrizations are folded in first.
    keep
        Layer name -> 1-D tensor of kept output indices (any layer but the last weighted one).

    Returns
    -------
    CNN
        Same layer names and order; the pruned layers and their consumers are narrower; all
        remaining weights and biases copied exactly.
    """
    src = copy.deepcopy(model)
    make_permanent(src)
    weighted = [li for li in src.info if li.kind in ("conv2d", "linear")]
    if weighted[-1].name in keep:
        raise FpgacError(f"filters.layers: expected hidden layers only, found the output layer "
                         f"{weighted[-1].name!r}")
    spec = named_spec(src)
    for name, idx in keep.items():
        li = next((x for x in weighted if x.name == name), None)
        if li is None:
            raise FpgacError(f"filters.layers: expected one of "
                             f"{', '.join(x.name for x in weighted)}, found {name!r}")
        key = "out_channels" if li.kind == "conv2d" else "out_features"
        spec[li.index][key] = int(idx.numel())
    new = build_cnn(spec, src.input_shape)
    in_keep: torch.Tensor | None = None     # kept input columns of the next weighted layer
    spatial = 1                             # H*W per channel when crossing flatten
    for li in src.info:
        if li.kind == "flatten" and in_keep is not None:
            spatial = li.in_shape[1] * li.in_shape[2]
            in_keep = (in_keep[:, None] * spatial + torch.arange(spatial)[None, :]).flatten()
            continue
        if li.kind not in ("conv2d", "linear"):
            continue
        old, dst = src.layers[li.name], new.layers[li.name]
        w = old.weight.detach()
        if in_keep is not None:
            w = w.index_select(1, in_keep)
        b = old.bias.detach() if old.bias is not None else None
        out_keep = keep.get(li.name)
        if out_keep is not None:
            w = w.index_select(0, out_keep)
            b = b.index_select(0, out_keep) if b is not None else None
        with torch.no_grad():
            dst.weight.copy_(w)
            if b is not None:
                dst.bias.copy_(b)
        in_keep = out_keep
    return new


def prune_filters(model: CNN, ratio: float, *, layers: list[str] | None = None,
                  include_linear: bool = False) -> CNN:
    """Remove ``ratio`` of the filters of every selected layer (lowest L1 first); shrink.

    Parameters
    ----------
    model
        Trained network (not modified).
    ratio
        Fraction of filters removed from each selected layer (same for all), in ``[0, 1)``.
    layers
        Names of the layers to prune; default all conv2d layers (plus hidden linear layers when
        ``include_linear``). Never the last weighted layer.

    Returns
    -------
    CNN
        The smaller network (see :func:`shrink`); fine-tune it with
        :func:`fpgac.compress.train.train`.
    """
    weighted = [li for li in model.info if li.kind in ("conv2d", "linear")]
    if layers is None:
        layers = [li.name for li in weighted[:-1]
                  if li.kind == "conv2d" or include_linear]
    names = [li.name for li in weighted[:-1]]
    for name in layers:
        if name not in names:
            raise FpgacError(f"filters.layers: expected hidden weighted layers "
                             f"({', '.join(names)}), found {name!r}")
    return shrink(model, {name: select_filters(model.layers[name], ratio) for name in layers})
