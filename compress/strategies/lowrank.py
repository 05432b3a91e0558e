"""Low-rank factorization of linear layers by truncated SVD.

A linear layer ``y = W x + b`` (``W`` is ``[O, I]``) with SVD ``W = U S V^T`` is replaced by two
linear layers with no activation in between::

    <name>_a : x -> sqrt(S_r) V_r^T x            [r, I], no bias
    <name>_b : z -> U_r sqrt(S_r) z + b          [O, r], the original bias

(the singular values are split evenly so both factors have similar ranges, which suits per-layer
quantization). The rank is given explicitly or as the smallest ``r`` whose energy
``sum(S[:r]^2) / sum(S^2)`` reaches a fraction. The network stays a plain chain of spec layers,
so training, quantization (a linear -> linear pair quantizes like any other layer, with the
intermediate activation signed and asymmetric) and export need nothing new. Parameters drop
from ``O*I`` to ``r*(I+O)``; a factorization that would not save any is refused.

Note: the legacy ``int_values`` format cannot state that no ReLU follows ``<name>_a`` (it infers
a ReLU after every layer but the last), so a factorized network is exported in fpgac's own
format only.
"""

from __future__ import annotations

import copy

import torch

from fpgac.errors import FpgacError

from ..models import CNN, build_cnn
from ..prune import make_permanent
from .filters import named_spec

__all__ = ["rank_for_energy", "factorize_linear"]


def rank_for_energy(singular: torch.Tensor, energy: float) -> int:
    """Smallest ``r >= 1`` with ``sum(S[:r]^2) >= energy * sum(S^2)`` (``S`` descending)."""
    if not 0.0 < energy <= 1.0:
        raise FpgacError(f"lowrank.energy: expected a fraction in (0, 1], found {energy!r}")
    e = singular.double() ** 2
    cum = torch.cumsum(e, 0) / e.sum()
    return int(torch.searchsorted(cum, torch.tensor([energy], dtype=cum.dtype) - 1e-12)) + 1


def factorize_linear(model: CNN, layer: str, *, rank: int | None = None,
                     energy: float | None = None,
                     require_savings: bool = True) -> tuple[CNN, dict]:
    """Replace linear ``layer`` by its rank-``r`` factorization; return the new CNN and a report.

    Exactly one of ``rank`` / ``energy`` is given. A rank whose two factors hold at least as
    many weights as the layer is refused unless ``require_savings`` is false (at full rank
    ``r = min(O, I)`` the factorization reproduces the layer up to float rounding, which is how
    the construction is tested). ``model`` is not modified; every other layer
    keeps its name and weights. The report has ``rank``, ``energy`` (kept fraction),
    ``params_before``/``params_after`` (weights of the layer) and ``rel_error``
    (``||W - W_r||_F / ||W||_F``).
    """
    if (rank is None) == (energy is None):
        raise FpgacError(f"lowrank: expected exactly one of rank, energy, found rank={rank!r}, "
                         f"energy={energy!r}")
    src = copy.deepcopy(model)
    make_permanent(src)
    li = next((x for x in src.info if x.name == layer), None)
    if li is None or li.kind != "linear":
        names = [x.name for x in src.info if x.kind == "linear"]
        raise FpgacError(f"lowrank.layer: expected a linear layer ({', '.join(names)}), "
                         f"found {layer!r}")
    lin = src.layers[layer]
    w = lin.weight.detach().double()
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    r = rank_for_energy(s, energy) if energy is not None else int(rank)
    out_f, in_f = w.shape
    if not 1 <= r <= min(out_f, in_f):
        raise FpgacError(f"lowrank.rank: expected an integer in [1, {min(out_f, in_f)}], "
                         f"found {r}")
    if require_savings and r * (in_f + out_f) >= in_f * out_f:
        raise FpgacError(f"lowrank.rank: expected a rank below {in_f * out_f // (in_f + out_f)}"
                         f" (fewer weights than the {out_f}x{in_f} layer), found {r}")
    root = s[:r].sqrt()
    first = (root[:, None] * vh[:r]).float()
    second = (u[:, :r] * root[None, :]).float()
    spec = named_spec(src)
    entry = spec[li.index]
    spec[li.index:li.index + 1] = [
        {"type": "linear", "out_features": r, "bias": False, "name": f"{layer}_a"},
        {"type": "linear", "out_features": out_f, "bias": entry.get("bias", True),
         "name": f"{layer}_b"},
    ]
    new = build_cnn(spec, src.input_shape)
    with torch.no_grad():
        for name, mod in src.layers.items():
            if name == layer or not hasattr(mod, "weight"):
                continue
            new.layers[name].weight.copy_(mod.weight)
            if mod.bias is not None:
                new.layers[name].bias.copy_(mod.bias)
        new.layers[f"{layer}_a"].weight.copy_(first)
        new.layers[f"{layer}_b"].weight.copy_(second)
        if lin.bias is not None:
            new.layers[f"{layer}_b"].bias.copy_(lin.bias)
    kept = float((s[:r] ** 2).sum() / (s ** 2).sum())
    err = float(torch.linalg.norm(w - (u[:, :r] * s[:r]) @ vh[:r]) / torch.linalg.norm(w))
    return new, {"layer": layer, "rank": r, "energy": kept, "params_before": in_f * out_f,
                 "params_after": r * (in_f + out_f), "rel_error": err}
