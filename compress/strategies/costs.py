"""Size and MAC accounting used by every strategy.

A weight of a conv2d layer is used once per output pixel, so it costs ``H_out * W_out``
multiply-accumulates (MACs); a linear weight costs 1. *Non-zero MACs* count only weights that
are not zero: a float weight ``!= 0.0`` on the PyTorch side, an integer weight ``!= wz`` in the
IR (exactly the MACs the sparse accelerator spends cycles on). Biases cost no MAC.

The float-side per-layer counts come from :func:`fpgac.compress.prune.sparsity_report`; this
module adds the per-weight cost map the MAC-budgeted strategies need, the same counts for an
exported :class:`fpgac.compiler.ir.Model`, and :class:`Footprint`, the row of every table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fpgac.compiler import ir

from ..models import CNN
from ..prune import sparsity_report

__all__ = ["Footprint", "weight_costs", "footprint", "ir_footprint", "ir_layer_macs"]


@dataclass
class Footprint:
    """Totals over the weighted layers of a network.

    ``params`` counts weights and biases, ``nonzero_params`` the non-zero ones (float ``!= 0``,
    IR weight ``!= wz``, IR bias ``!= 0``); ``macs`` / ``nonzero_macs`` as in the module doc.
    """

    params: int
    nonzero_params: int
    macs: int
    nonzero_macs: int

    def as_dict(self) -> dict:
        return asdict(self)

    def reduction(self, base: "Footprint") -> dict[str, float]:
        """``base / self`` for the non-zero parameter and non-zero MAC counts (``x`` fewer)."""
        return {"params_x": base.nonzero_params / max(self.nonzero_params, 1),
                "macs_x": base.nonzero_macs / max(self.nonzero_macs, 1)}


def weight_costs(model: CNN) -> dict[str, int]:
    """MACs that one weight of each weighted layer costs: ``H_out * W_out`` (conv2d), 1 (linear).

    Keys are the layer names of ``model.layers``, in execution order.
    """
    out: dict[str, int] = {}
    for li in model.info:
        if li.kind == "conv2d":
            out[li.name] = li.out_shape[1] * li.out_shape[2]
        elif li.kind == "linear":
            out[li.name] = 1
    return out


def footprint(model: CNN) -> Footprint:
    """:class:`Footprint` of a float :class:`CNN` (pruning masks applied, if any)."""
    _, total = sparsity_report(model)
    biases = [m.bias.detach() for _, m in model.weighted() if m.bias is not None]
    nb = sum(int(b.numel()) for b in biases)
    nzb = sum(int((b != 0).sum()) for b in biases)
    return Footprint(total.weights + nb, total.nonzero + nzb, total.macs, total.nonzero_macs)


def ir_layer_macs(model: ir.Model) -> list[tuple[str, int, int]]:
    """``(name, macs, nonzero_macs)`` of every weighted op of an IR model, in order.

    Walks the op chain from ``model.input.shape`` (conv output size
    ``(H + 2p - k) // stride + 1``, max-pool floor mode).
    """
    c, h, w = model.input.shape
    rows = []
    for op in model.ops:
        if isinstance(op, ir.Conv2d):
            h = (h + 2 * op.padding - op.kernel) // op.stride + 1
            w = (w + 2 * op.padding - op.kernel) // op.stride + 1
            c = op.out_channels
            nz = int((op.weight != op.w_zero_point).sum())
            rows.append((op.name, int(op.weight.size) * h * w, nz * h * w))
        elif isinstance(op, ir.MaxPool2d):
            h = (h - op.kernel) // op.stride + 1
            w = (w - op.kernel) // op.stride + 1
        elif isinstance(op, ir.Linear):
            nz = int((op.weight != op.w_zero_point).sum())
            rows.append((op.name, int(op.weight.size), nz))
    return rows


def ir_footprint(model: ir.Model) -> Footprint:
    """:class:`Footprint` of an integer IR model (zero means ``weight == wz`` / ``bias == 0``)."""
    params = nz = 0
    for op in model.weighted:
        params += int(op.weight.size)
        nz += int((op.weight != op.w_zero_point).sum())
        if op.bias is not None:
            params += int(op.bias.size)
            nz += int((op.bias != 0).sum())
    rows = ir_layer_macs(model)
    return Footprint(params, nz, sum(r[1] for r in rows), sum(r[2] for r in rows))
