"""Pass: lower a fused model (:mod:`.fuse_activations`) to a hardware plan.

Contract
--------
``lower_to_plan(model, pes=P, pixel_lut=LUT)`` accepts a chain
``(conv [maxpool])* [flatten] linear*`` (ReLUs already fused, the last weighted op producing
``classes <= 64`` outputs of shape 1x1) and returns the plan described in
``docs/architecture.md`` ("The accelerator"). It raises :class:`~fpgac.errors.UnsupportedError`
for anything else, naming the op and the reason, and :class:`~fpgac.errors.ModelError` for
values out of the ranges of ``docs/semantics.md``.

It runs the passes, one job each:

1. :mod:`.place_layers`: the chain of weighted layers and their shapes;
2. :mod:`.allocate_memory`: the activation memory regions (one per map, padding rings,
   reused by liveness unless ``reuse_activations=False``);
3. :mod:`.encode_weights`: each output channel's non-zero weights as ``(w, gap[, last])``
   entries (one ``g`` per plan);
4. :mod:`.choose_mapping`: per layer, spatial or channel-parallel (``a`` channel slots);
5. :mod:`.emit_tables`: the weight banks, layer descriptors and control tables;

and assembles the :class:`~fpgac.compiler.plan.HardwarePlan` with the widths of
:mod:`fpgac.compiler.analysis.widths`. Weights: each channel's list is appended once to the
bank of its channel slot; nothing is padded or copied. Control: per layer one descriptor, per
round a step count, per output channel ``(output base, bias)``, per layer and lane an initial
window counter; nothing per output position (``docs/architecture.md``, "Control"). The
expanded group list (``plan.program``) is the compiler's view of the schedule the
controller generates.

(The *item mapping* of the previous layout, ``(channel, window)`` pairs dealt ``P`` at a time,
needed a table entry per output; it is not available with the descriptors: measured cost in
``docs/architecture.md``.)
"""

from __future__ import annotations

import math

import numpy as np

from fpgac import semantics
from fpgac.compiler import ir
from fpgac.compiler.analysis import widths
from fpgac.compiler.passes import encode_weights
from fpgac.compiler.passes.allocate_memory import allocate_memory
from fpgac.compiler.passes.choose_mapping import choose_mapping
from fpgac.compiler.passes.emit_tables import Tables, layer_windows
from fpgac.compiler.passes.place_layers import MAX_CLASSES, place_layers
from fpgac.compiler.plan import HardwarePlan, LayerPlan, Requant, desc_widths
from fpgac.errors import FpgacError

__all__ = ["lower_to_plan", "MAX_CLASSES"]


def _weight_taps(layer) -> list[list[tuple[int, int]]]:
    """Per output channel the non-zero weights ``(w, tap)``, ``tap`` the activation offset
    inside the (padded) input map (``c * Hp * Wp + ky * Wp + kx``; the feature index of a
    linear layer)."""
    op = layer.op
    c, h, w = layer.in_shape
    hp, wp = h + 2 * layer.in_pad, w + 2 * layer.in_pad
    wz = int(op.w_zero_point)
    wmat = np.asarray(op.weight, dtype=np.int64)
    if isinstance(op, ir.Conv2d):
        k = op.kernel
        taps = [ci * hp * wp + ky * wp + kx
                for ci in range(c) for ky in range(k) for kx in range(k)]
        flatw = wmat.reshape(layer.out_map[0], -1)
    else:
        taps = list(range(op.in_features))
        flatw = wmat
    return [[(int(row[t]), taps[t]) for t in range(len(taps)) if int(row[t]) != wz]
            for row in flatw]


def _lower_layer(i, layer, *, model, mem, raw, gap_bits, tables, in_hi, pes,
                 slices=True) -> LayerPlan:
    """Encode, map and emit layer ``i``; its :class:`LayerPlan`."""
    op = layer.op
    oc = layer.out_map[0]
    wz, inz = int(op.w_zero_point), int(op.in_q.zero_point)
    flat_size = int(np.asarray(op.weight).size)
    bias = [0] * oc if op.bias is None else [int(v) for v in op.bias]
    win = layer_windows(layer)
    lists = [encode_weights.encode_list(lst, wz, gap_bits) for lst in raw]
    _, hq, wq = layer.out_map
    max_tap = max((tap for lst in raw for _, tap in lst), default=0)
    total = _tap_range(layer)
    cuts = ({s: _slice_lists(raw, total, s, wz, gap_bits) for s in _slice_options(pes, total)}
            if slices and win.count == 1 and len(win.phase_offs) == 1 else {})
    a, br, bc, s = choose_mapping(
        pes, lists, win.count, len(win.phase_offs), shape=(hq, wq),
        fits=_rect_fits(win, mem.regions[i].offset, max_tap, mem.depth),
        slices={s: sub for s, (_, sub) in cuts.items()})
    acc_bits = widths.layer_acc_bits(op, in_hi if i == 0 else None)
    starts = (0,)
    if s > 1:
        starts, sub = cuts[s]
        _check_slice_widths(op, raw, starts, total, acc_bits, in_hi if i == 0 else None)
        lists = sub
    out = mem.regions[i + 1]
    mode, groups = tables.add_layer(
        i, final=i == len(mem.regions) - 2, lists=lists, a=a, win=win, bias=bias, wz=wz,
        inz=inz, in_offset=mem.regions[i].offset, out_offset=out.offset, out_pad=out.pad,
        rect=(br, bc), slices=(s, starts))
    shift = int(op.shift)
    rq = Requant(mqm0=int(op.mqm0), shift=shift,
                 rnd=semantics.rounding_constant(shift, model.rounding),
                 outz=int(op.out_q.zero_point), relu=bool(op.relu), n_bits=int(op.n_bits))
    nnz = sum(len(lst) for lst in raw)
    return LayerPlan(
        name=op.name, kind="conv" if isinstance(op, ir.Conv2d) else "linear", mode=mode,
        in_offset=mem.regions[i].offset, in_shape=layer.in_shape, in_pad=layer.in_pad,
        out_offset=out.offset, out_shape=(oc, hq + 2 * out.pad, wq + 2 * out.pad),
        out_map_shape=layer.out_map, out_pad=out.pad, pool=layer.pool, relu=bool(op.relu),
        phases=len(win.phase_offs), groups=groups, nnz_weights=nnz,
        dense_weights=flat_size, nnz_macs=nnz * win.used_outputs,
        dense_macs=flat_size * win.used_outputs,
        acc_bits=acc_bits, requant=rq,
        lanes_per_stream=1 if s > 1 else br * bc if br else pes // a,
        out_survives=mem.survives[i + 1], rect=(br, bc), slices=s, slice_starts=starts)


def _tap_range(layer) -> int:
    """Taps of a layer's flattened input: the (padded) input map's words (conv), the
    features (linear)."""
    c, h, w = layer.in_shape
    if isinstance(layer.op, ir.Conv2d):
        return c * (h + 2 * layer.in_pad) * (w + 2 * layer.in_pad)
    return int(layer.op.in_features)


def _slice_options(pes: int, total: int) -> list[int]:
    """The slice counts priced for a one-window layer: powers of two ``1 < s <= P`` with
    every slice non-empty (``s <= total``)."""
    out, s = [], 2
    while s <= min(pes, total):
        out.append(s)
        s *= 2
    return out


def _slice_lists(raw, total: int, s: int, wz: int, gap_bits: int):
    """``(starts, sub)``: the ``s`` slice starts (``np.linspace`` over ``[0, total)``, the
    same cut for every channel) and per channel its ``s`` encoded sub-lists, taps relative
    to the slice's start (an empty sub-list is the single filler)."""
    edges = [int(e) for e in np.linspace(0, total, s + 1).astype(int)]
    sub = [[encode_weights.encode_list(
        [(w, tap - edges[k]) for w, tap in lst if edges[k] <= tap < edges[k + 1]], wz,
        gap_bits) for k in range(s)] for lst in raw]
    return tuple(edges[:-1]), sub


def _check_slice_widths(op, raw, starts, total, acc_bits, in_hi) -> None:
    """Every lane partial sum and adder-tree node of a sliced layer fits ``acc_bits``
    (:func:`~fpgac.compiler.analysis.widths.slice_bound`; it cannot fail while the
    accumulator bound holds the whole dot product: an internal check)."""
    xmax = widths.centred_input_bound(op, in_hi)
    bound = max(widths.slice_bound(lst, int(op.w_zero_point), xmax, starts, total)
                for lst in raw)
    if widths.signed_bits(bound) > acc_bits:
        raise AssertionError(f"{op.name}: a slice sum needs {widths.signed_bits(bound)} "
                             f"bits, the accumulator has {acc_bits}")


def _rect_fits(win, in_offset: int, max_tap: int, depth: int):
    """``fits(br, bc)`` for :func:`.choose_mapping`: the lanes of partial rectangles (windows
    past the map's last row or column: computed, never written) read below ``depth``, the
    activation memory's words (their furthest read: the virtual window ``(gr * br - 1, gpr *
    bc - 1)`` plus the last pool phase and the layer's largest tap; a lane's tap never passes
    its list's last weight)."""
    hq = win.count // win.width

    def fits(br: int, bc: int) -> bool:
        last = ((-(-hq // br) * br - 1) * win.row + (-(-win.width // bc) * bc - 1) * win.col
                + max(win.phase_offs))
        return in_offset + last + max_tap < depth
    return fits


def lower_to_plan(model: ir.Model, *, pes: int, pixel_lut,
                  reuse_activations: bool = True, overlap: bool = False,
                  slices: bool = True) -> HardwarePlan:
    """Lower a fused model to a hardware plan for ``pes`` lanes (module docstring); the pixel
    LUT is ``pixel_lut``, the model's 256-entry preprocessing table (``docs/semantics.md`` §1);
    ``reuse_activations``: :attr:`~fpgac.compiler.plan.HardwarePlan.reuse_activations`;
    ``overlap``: :attr:`~fpgac.compiler.plan.HardwarePlan.overlap` (the input map
    exclusive); ``slices``: one-window slices offered to :mod:`.choose_mapping` (``False``:
    none, no adder tree)."""
    if isinstance(pes, bool) or not isinstance(pes, (int, np.integer)) or pes < 1:
        raise FpgacError(f"pes: expected a positive integer, found {pes!r}")
    pes = int(pes)
    lut = tuple(int(v) for v in pixel_lut)
    if len(lut) != 256:
        raise FpgacError(f"pixel_lut: expected 256 entries (one per pixel value), found "
                         f"{len(lut)}")
    layers = place_layers(model)
    mem = allocate_memory(layers, layers[-1].out_map[0], reuse=reuse_activations,
                          exclusive_input=bool(overlap))
    # The input integer may be 2**n (one past the n-bit range, docs/semantics.md §1): the
    # pixel LUT and the activation memory then get one more bit.
    in_hi = max([2**int(model.input.n_bits) - 1] + list(lut))
    wraw_bits = max(int(la.op.n_bits) for la in layers)
    raw = [_weight_taps(layer) for layer in layers]
    gap_bits = encode_weights.choose_gap_bits(
        [[tap for _, tap in lst] for lists in raw for lst in lists], wraw_bits)
    tables = Tables(pes, addr_bits=_addr_bits(mem.depth))
    layer_plans = [_lower_layer(i, layer, model=model, mem=mem, raw=raw[i], gap_bits=gap_bits,
                                tables=tables, in_hi=in_hi, pes=pes, slices=slices)
                   for i, layer in enumerate(layers)]
    act_bits = max([widths.unsigned_bits(in_hi)] + [int(la.op.n_bits) for la in layers])
    taps = [tap for lists in raw for lst in lists for _, tap in lst]
    return _assemble(model, pes, lut, mem, tables, layer_plans, act_bits=act_bits,
                     wraw_bits=wraw_bits, gap_bits=gap_bits, max_tap=max(taps, default=0),
                     reuse=bool(reuse_activations), overlap=bool(overlap))


def _addr_bits(depth: int) -> int:
    """Bits of an activation address for ``depth`` words."""
    return max(1, math.ceil(math.log2(depth))) if depth > 1 else 1


def _assemble(model, pes, lut, mem, tables, layer_plans, *, act_bits, wraw_bits, gap_bits,
              max_tap, reuse, overlap=False) -> HardwarePlan:
    """The :class:`HardwarePlan` from the passes' results, with its widths and figures."""
    banks, bank_last, sel_rows = tables.trimmed()
    depth = mem.depth
    addr_bits = _addr_bits(depth)
    bias_bits = widths.signed_bits(max([0] + [abs(b) for _, b in tables.chan_table]))
    sel_bits = widths.unsigned_bits(len(banks) - 1)
    descs = tables.descriptors
    smax = max(d.slices for d in descs)
    init_bits = (addr_bits + widths.unsigned_bits(max(d.win_w for d in descs) - 1)
                 + widths.unsigned_bits(max(j for row in tables.lane_init for _, _, j in row)))
    table_bits = (len(descs) * sum(desc_widths(descs).values())
                  + len(tables.phase_table) * addr_bits
                  + len(tables.round_counts) * widths.unsigned_bits(
                      max(tables.round_counts) - 1)
                  + len(tables.chan_table) * (addr_bits + bias_bits)
                  + len(sel_rows) * pes * sel_bits + len(tables.lane_init) * pes * init_bits)
    shape = layer_plans[0].in_shape
    classes = mem.regions[-1].shape[0]
    return HardwarePlan(
        pes=pes, input_shape=shape, input_pixels=shape[0] * shape[1] * shape[2],
        input_offset=mem.regions[0].offset, input_pad=mem.regions[0].pad, classes=classes,
        out_bits=layer_plans[-1].requant.n_bits,
        class_bits=max(1, math.ceil(math.log2(classes))), act_bits=act_bits,
        acc_bits=max(la.acc_bits for la in layer_plans), w_bits=widths.delta_bits(act_bits),
        wraw_bits=wraw_bits, gap_bits=gap_bits, tap_bits=widths.unsigned_bits(max_tap),
        sel_bits=sel_bits, addr_bits=addr_bits, bias_bits=bias_bits, mem_depth=depth,
        final_offset=mem.final_offset, layers=tuple(layer_plans),
        nnz_macs=sum(la.nnz_macs for la in layer_plans),
        dense_macs=sum(la.dense_macs for la in layer_plans),
        rom_bits=sum(len(bk) * (wraw_bits + gap_bits + int(last))
                     for bk, last in zip(banks, bank_last)),
        dense_rom_bits=sum(la.dense_weights * la.requant.n_bits for la in layer_plans),
        table_bits=table_bits, mem_init=mem.mem_init, pixel_lut=lut,
        banks=tuple(tuple(bk) for bk in banks), bank_last=tuple(bank_last),
        sel_rows=tuple(sel_rows), phase_table=tuple(tables.phase_table),
        descriptors=tuple(descs), round_counts=tuple(tables.round_counts),
        chan_table=tuple(tables.chan_table), lane_init=tuple(tables.lane_init),
        program=tuple(tables.program), requant=tuple(la.requant for la in layer_plans),
        name=model.name, reuse_activations=reuse,
        input_fill=mem.input_fill, input_fill_first=mem.input_fill_first,
        input_zero=mem.regions[0].zero, act_body=mem.body,
        overlap=overlap, tree_latency=smax.bit_length() - 1)
