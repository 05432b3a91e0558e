"""Pass: lower a fused model (:mod:`.fuse_activations`) to a hardware plan.

Contract
--------
``lower_to_plan(model, pes=P, pixel_lut=LUT)`` accepts a chain
``(conv [maxpool])* [flatten] linear*`` (ReLUs already fused, the last weighted op producing
``classes <= 64`` outputs of shape 1x1) and
returns the plan described in ``docs/architecture.md`` ("The accelerator"). It raises
:class:`~fpgac.errors.UnsupportedError` for anything else, naming the op and the reason, and
:class:`~fpgac.errors.ModelError` for values out of the ranges of ``docs/semantics.md``.

Mapping of a weighted layer with ``O`` outputs channels over ``J`` windows (a window is a pool
window, or one output pixel without pool; a linear layer or a conv with a 1x1 output has
``J = 1``): the ``P`` lanes are split into ``a`` channel slots times ``b = P // a`` window
slots (lane ``p = ci * b + wi``).

* ``a = 1`` is the **spatial** mode: all lanes read bank 0 (one weight stream);
* ``a > 1`` is the **channel-parallel** mode: channels are sorted by entry count (descending,
  stable) and dealt ``a`` at a time into rounds; slot ``ci`` reads bank ``ci`` (lane ``p``
  reads bank ``p // b``), a round lasts as long as its longest list.

Weights: each channel's non-zero weights are encoded once
(:mod:`~fpgac.compiler.passes.encode_weights`, one ``g`` per plan) and appended to the bank
that serves the channel when a group first needs it (command *next*); later groups of the same
channel in that bank *rewind*. A bank that ever serves a list shorter than its group's count
stores the ``last`` column. Nothing is padded or copied.

For each round (spatial: each channel) and each window group, one program group is emitted.
The compiler picks ``a`` per layer minimising ``sum over groups max(phases*count, n_valid)``
(the lockstep steps, or the writer drain when it is longer); ties go to the smaller ``a``.
A layer with a single window (linear, 1x1 conv output) is always channel-parallel.

The layer is described by one :class:`~fpgac.compiler.plan.LayerDesc` (loop bounds, window
counter steps), a per-round step count, a per-channel ``(output base, bias)`` table in rank
order and the lanes' initial window counters: nothing is stored per output position
(``docs/architecture.md``, "Control"). The expanded group list (``plan.program``) is the
compiler's view of the schedule the controller generates.

(The *item mapping* of the previous layout, ``(channel, window)`` pairs dealt ``P`` at a time,
needed a table entry per output; it is not available with the descriptors: measured cost in
``docs/architecture.md``.)
"""

from __future__ import annotations

import math

import numpy as np

from fpgac.compiler import ir
from fpgac.compiler.analysis import widths
from fpgac.compiler.passes import encode_weights
from fpgac.compiler.plan import (CHANNEL_PARALLEL, SPATIAL, Group, HardwarePlan, LayerDesc,
                                 LayerPlan, Requant, desc_widths)
from fpgac import semantics
from fpgac.errors import FpgacError, ModelError, UnsupportedError

__all__ = ["lower_to_plan", "MAX_CLASSES"]

#: Most classes the result unit handles.
MAX_CLASSES = 64


class _Layer:
    """Scratch description of one hardware layer while lowering."""

    def __init__(self, op, pool):
        self.op = op
        self.pool = pool


def _chain(model: ir.Model) -> list[_Layer]:
    layers: list[_Layer] = []
    flat = False
    for i, op in enumerate(model.ops):
        where = f"ops[{i}] ({getattr(op, 'name', type(op).__name__)})"
        if isinstance(op, ir.Conv2d):
            if flat or any(isinstance(layer.op, ir.Linear) for layer in layers):
                raise UnsupportedError(f"{where}: a conv after a flatten or linear layer is "
                                       "not supported by the accelerator")
            layers.append(_Layer(op, None))
        elif isinstance(op, ir.Linear):
            layers.append(_Layer(op, None))
            flat = True
        elif isinstance(op, ir.MaxPool2d):
            if not layers or not isinstance(layers[-1].op, ir.Conv2d) or layers[-1].pool \
                    or not isinstance(model.ops[i - 1], ir.Conv2d):
                raise UnsupportedError(f"{where}: a max-pool must directly follow a conv "
                                       "(one pool per conv)")
            k, s = int(op.kernel), int(op.stride)
            if k < 1 or s < 1:
                raise ModelError(f"{where}.kernel/stride", "positive integers", (k, s))
            layers[-1].pool = (k, s)
        elif isinstance(op, ir.Flatten):
            flat = True
        elif isinstance(op, ir.ReLU):
            raise UnsupportedError(f"{where}: a ReLU that does not follow a weighted layer "
                                   "cannot be fused; the accelerator has no standalone ReLU")
        else:
            raise UnsupportedError(f"{where}: op type {type(op).__name__} is not supported")
    if not layers:
        raise UnsupportedError("model: expected at least one conv or linear layer, found none")
    return layers


def _check_op(op, idx: int) -> None:
    n = int(op.n_bits)
    where = f"layers[{idx}] ({op.name})"
    nlo, nhi = semantics.N_BITS_HW
    if not nlo <= n <= nhi:
        raise UnsupportedError(f"{where}.n_bits: expected an integer in [{nlo}, {nhi}], found {n}")
    ranges = semantics.param_ranges(n)
    for key, val, kind in (("inz", op.in_q.zero_point, "zero_point"),
                           ("outz", op.out_q.zero_point, "zero_point"),
                           ("wz", op.w_zero_point, "zero_point"), ("mqm0", op.mqm0, "mqm0")):
        lo, top = ranges[kind]
        if not lo <= int(val) <= top:
            raise ModelError(f"{where}.{key}", f"an integer in [{lo}, {top}]", int(val))
    if int(op.shift) < 0:
        raise ModelError(f"{where}.mn", f"an integer >= {-n} (mn + n_bits >= 0)", int(op.mn))
    w = np.asarray(op.weight)
    lo, top = ranges["weight"]
    if w.size and (int(w.min()) < lo or int(w.max()) > top):
        bad = int(w.min()) if int(w.min()) < lo else int(w.max())
        raise ModelError(f"{where}.weight", f"integers in [{lo}, {top}]", bad)


def _pick_split(pes, lists, windows, phases):
    """Return ``a`` (channel slots) minimising the estimated cycles of a layer."""
    best = None
    for a in range(1, pes + 1):
        if a > len(lists) and a != 1:
            break
        cost = _split_cost(pes, lists, windows, phases, a)
        if best is None or cost < best[0]:
            best = (cost, a)
    return best[1]


def _split_cost(pes, lists, windows, phases, a):
    """Estimated cycles of the ``a`` channel slots x ``P // a`` window slots mapping."""
    order = sorted(range(len(lists)), key=lambda o: -len(lists[o]))
    b = pes // a
    cost = 0
    for r in range(0, len(lists), a):
        chans = order[r:r + a]
        count = max(1, max(len(lists[o]) for o in chans))
        for g in range(0, windows, b):
            cost += max(phases * count, len(chans) * min(b, windows - g))
    return cost


def lower_to_plan(model: ir.Model, *, pes: int, pixel_lut) -> HardwarePlan:
    """Lower a fused model to a hardware plan for ``pes`` lanes (module docstring); the pixel
    LUT is ``pixel_lut``, the model's 256-entry preprocessing table (``docs/semantics.md`` §1)."""
    if isinstance(pes, bool) or not isinstance(pes, (int, np.integer)) or pes < 1:
        raise FpgacError(f"pes: expected a positive integer, found {pes!r}")
    pes = int(pes)
    lut = tuple(int(v) for v in pixel_lut)
    if len(lut) != 256:
        raise FpgacError(f"pixel_lut: expected 256 entries (one per pixel value), found "
                         f"{len(lut)}")
    chain = _chain(model)
    for i, layer in enumerate(chain):
        _check_op(layer.op, i)

    # ---- shapes and regions -------------------------------------------------------------
    shape = tuple(int(v) for v in model.input.shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ModelError("input.shape", "three positive integers (C, H, W)", shape)
    geo = []   # per layer: (in_shape, in_pad, conv_out (Ho,Wo), out_map (C,H,W), windows)
    cur = shape
    for i, layer in enumerate(chain):
        op = layer.op
        where = f"layers[{i}] ({op.name})"
        if isinstance(op, ir.Conv2d):
            c, h, w = cur
            k, s, pad = op.kernel, int(op.stride), int(op.padding)
            if op.weight.ndim != 4 or op.weight.shape[2] != op.weight.shape[3]:
                raise ModelError(f"{where}.weight.size", "[O, C, k, k]", list(op.weight.shape))
            if op.in_channels != c:
                raise ModelError(f"{where}.weight.size[1]", f"{c} input channels",
                                 op.in_channels)
            if s < 1 or pad < 0:
                raise ModelError(f"{where}.stride/padding", "stride >= 1, padding >= 0",
                                 (s, pad))
            ho, wo = (semantics.conv_out_size(h, k, s, pad),
                      semantics.conv_out_size(w, k, s, pad))
            if ho < 1 or wo < 1:
                raise ModelError(f"{where}.weight.size", f"a kernel <= {h + 2 * pad}", k)
            if layer.pool:
                pk, ps = layer.pool
                hq, wq = semantics.pool_out_size(ho, pk, ps), semantics.pool_out_size(wo, pk, ps)
                if hq < 1 or wq < 1:
                    raise UnsupportedError(f"{where}: max-pool {pk}x{pk} does not fit the "
                                           f"{ho}x{wo} conv output")
            else:
                hq, wq = ho, wo
            geo.append(((c, h, w), pad, (ho, wo), (op.out_channels, hq, wq)))
            cur = (op.out_channels, hq, wq)
        else:
            feats = cur[0] * cur[1] * cur[2]
            if op.weight.ndim != 2 or op.in_features != feats:
                raise ModelError(f"{where}.weight.size[1]", f"{feats} input features",
                                 list(op.weight.shape))
            geo.append((cur, 0, (1, 1), (op.out_features, 1, 1)))
            cur = (op.out_features, 1, 1)
    last = chain[-1].op
    classes = geo[-1][3][0]
    if geo[-1][3][1:] != (1, 1):
        raise UnsupportedError(f"{last.name}: the last layer must produce a 1x1 map (classes), "
                               f"found {geo[-1][3][1]}x{geo[-1][3][2]}")
    if classes > MAX_CLASSES:
        raise UnsupportedError(f"{last.name}: expected at most {MAX_CLASSES} classes, "
                               f"found {classes}")

    # regions: region i = input of layer i, region L = final output
    regions = []   # (offset, (C,H,W), pad, zero point)
    off = 0
    for i, layer in enumerate(chain):
        (c, h, w), pad = geo[i][0], geo[i][1]
        regions.append((off, (c, h, w), pad, int(layer.op.in_q.zero_point)))
        hp, wp = semantics.padded_shape(h, w, pad)
        off += c * hp * wp
    final_offset = off
    regions.append((off, (classes, 1, 1), 0, 0))
    depth = off + classes
    mem_init = [0] * depth
    for (roff, (c, h, w), pad, z) in regions:
        if pad:
            hp, wp = h + 2 * pad, w + 2 * pad
            for ci in range(c):
                for y in range(hp):
                    for x in range(wp):
                        if not (pad <= y < h + pad and pad <= x < w + pad):
                            mem_init[roff + ci * hp * wp + y * wp + x] = z

    def addr(region, c, y, x):
        roff, (_, h, w), pad, _ = regions[region]
        return roff + semantics.padded_offset(c, y, x, h, w, pad)

    # ---- per layer lowering -------------------------------------------------------------
    # The input integer may be 2**n (one past the n-bit range, docs/semantics.md §1): the
    # pixel LUT and the activation memory then get one more bit.
    in_hi = max([2**int(model.input.n_bits) - 1] + list(lut))
    act_bits = max([widths.unsigned_bits(in_hi)] + [int(la.op.n_bits) for la in chain])
    w_bits = widths.delta_bits(act_bits)
    wraw_bits = max(int(la.op.n_bits) for la in chain)
    # per layer: raw (w, tap) lists of the non-zero weights, taps, window geometry
    raw = []
    for i, layer in enumerate(chain):
        op = layer.op
        (c, h, w), pad, (ho, wo), (oc, hq, wq) = geo[i]
        hp, wp = h + 2 * pad, w + 2 * pad
        wz = int(op.w_zero_point)
        wmat = np.asarray(op.weight, dtype=np.int64)
        if isinstance(op, ir.Conv2d):
            k = op.kernel
            taps = [ci * hp * wp + ky * wp + kx
                    for ci in range(c) for ky in range(k) for kx in range(k)]
            flatw = wmat.reshape(oc, -1)
        else:
            taps = list(range(op.in_features))
            flatw = wmat
        raw.append([[(int(row[t]), taps[t]) for t in range(len(taps)) if int(row[t]) != wz]
                    for row in flatw])
    gap_bits = encode_weights.choose_gap_bits(
        [[tap for _, tap in lst] for lists in raw for lst in lists], wraw_bits)
    max_tap = max(tap for lists in raw for lst in lists for _, tap in lst) if any(
        lst for lists in raw for lst in lists) else 0

    banks: list[list[tuple[int, int, int]]] = [[] for _ in range(pes)]
    bank_last = [False] * pes
    sel_rows: list[tuple[int, ...]] = []
    phase_table: list[int] = [0]
    descriptors: list[LayerDesc] = []
    round_counts: list[int] = []
    chan_table: list[tuple[int, int]] = []
    lane_init: list[tuple[tuple[int, int, int], ...]] = []
    program: list[Group] = []
    requants: list[Requant] = []
    layer_plans: list[LayerPlan] = []
    max_bias = 0

    def sel_row(row):
        row = tuple(row)
        if row not in sel_rows:
            sel_rows.append(row)
        return sel_rows.index(row)

    for i, layer in enumerate(chain):
        op = layer.op
        final = i == len(chain) - 1
        (c, h, w), pad, (ho, wo), (oc, hq, wq) = geo[i]
        hp, wp = h + 2 * pad, w + 2 * pad
        in_off = regions[i][0]
        wz = int(op.w_zero_point)
        inz = int(op.in_q.zero_point)
        flat_size = int(np.asarray(op.weight).size)
        bias = [0] * oc if op.bias is None else [int(v) for v in op.bias]
        if isinstance(op, ir.Conv2d):
            s = int(op.stride)
            pk, ps = layer.pool if layer.pool else (1, 1)
            nwin = hq * wq
            row_step, col_step = ps * s * wp, ps * s
            phase_offs = [dy * s * wp + dx * s for dy in range(pk) for dx in range(pk)]
            used_outputs = nwin * pk * pk
        else:
            nwin, wq = 1, 1
            row_step = col_step = 0
            phase_offs = [0]
            used_outputs = 1
        lists = [encode_weights.encode_list(lst, wz, gap_bits) for lst in raw[i]]
        max_bias = max([max_bias] + [abs(b) for b in bias])
        phases = len(phase_offs)
        if phases > 1:
            phase_base = len(phase_table)
            phase_table.extend(phase_offs)
        else:
            phase_base = 0
        a = _pick_split(pes, lists, nwin, phases)
        b = pes // a
        mode = SPATIAL if a == 1 and nwin > 1 else CHANNEL_PARALLEL
        order = sorted(range(oc), key=lambda o: -len(lists[o])) if a > 1 else list(range(oc))
        nxt_pad = regions[i + 1][2]
        ohp, owp = hq + 2 * nxt_pad, wq + 2 * nxt_pad
        rounds, ngroups = -(-oc // a), -(-nwin // b)
        desc = LayerDesc(
            rounds=rounds, groups=ngroups, phases=phases, phase_base=phase_base, slots=a,
            last_slots=oc - (rounds - 1) * a, width=b, last_width=nwin - (ngroups - 1) * b,
            round_base=len(round_counts), rank_base=len(chan_table),
            sel_row=sel_row(p // b if p < a * b else 0 for p in range(pes)), wz=wz, inz=inz,
            final=final, windows=nwin, win_w=wq, step_px=b % wq,
            step_base=(b // wq) * row_step + (b % wq) * col_step,
            wrap_base=row_step - wq * col_step, out_first=nxt_pad * owp + nxt_pad,
            out_step=(b // wq) * owp + b % wq, out_wrap=owp - wq)
        descriptors.append(desc)
        for o in order:
            chan_table.append((regions[i + 1][0] + o * ohp * owp, bias[o]))
        init = []
        for p in range(pes):
            j = p % b if p < a * b else nwin
            if j < nwin:
                init.append((in_off + (j // wq) * row_step + (j % wq) * col_step, j % wq, j))
            else:
                init.append((in_off, 0, j))
        lane_init.append(tuple(init))
        groups_before = len(program)
        for r in range(rounds):
            chans = order[r * a:(r + 1) * a]
            count = max(len(lists[o]) for o in chans)
            round_counts.append(count)
            for k, o in enumerate(chans):       # bank k serves slot k: its list, once
                banks[k].extend(lists[o])
                if len(lists[o]) < count:
                    bank_last[k] = True
            for g in range(ngroups):
                nvw = min(b, nwin - g * b)
                cmd = [0] * pes
                for k in range(len(chans)):
                    cmd[k] = 1 if g == 0 else 2
                program.append(Group(
                    layer=i, count=count, phases=phases, bank_cmd=tuple(cmd),
                    n_valid=len(chans) * nvw, layer_first=len(program) == groups_before,
                    inz=inz, wz=wz, final=final, round=r, g=g, rank=r * a, nch=len(chans),
                    nvw=nvw))
        shift = int(op.shift)
        rnd = semantics.rounding_constant(shift, model.rounding)
        rq = Requant(mqm0=int(op.mqm0), shift=shift, rnd=rnd, outz=int(op.out_q.zero_point),
                     relu=bool(op.relu), n_bits=int(op.n_bits))
        requants.append(rq)
        nnz = sum(len(lst) for lst in raw[i])
        layer_plans.append(LayerPlan(
            name=op.name, kind="conv" if isinstance(op, ir.Conv2d) else "linear", mode=mode,
            in_offset=in_off, in_shape=(c, h, w), in_pad=pad,
            out_offset=regions[i + 1][0],
            out_shape=(oc, hq + 2 * nxt_pad, wq + 2 * nxt_pad), out_map_shape=(oc, hq, wq),
            out_pad=nxt_pad, pool=layer.pool, relu=bool(op.relu), phases=phases,
            groups=len(program) - groups_before, nnz_weights=nnz,
            dense_weights=flat_size, nnz_macs=nnz * used_outputs,
            dense_macs=flat_size * used_outputs,
            acc_bits=widths.layer_acc_bits(op, in_hi if i == 0 else None), requant=rq,
            lanes_per_stream=b))

    acc_bits = max(la.acc_bits for la in layer_plans)
    tap_bits = widths.unsigned_bits(max_tap)
    addr_bits = max(1, math.ceil(math.log2(depth))) if depth > 1 else 1
    bias_bits = widths.signed_bits(max_bias)
    nbanks = max(1, max(k + 1 for k in range(pes) if banks[k]) if any(banks) else 1)
    banks = banks[:nbanks]
    bank_last = [bank_last[k] for k in range(nbanks)]
    sel_rows = [tuple(v if v < nbanks else 0 for v in row) for row in sel_rows]
    rom_bits = sum(len(bk) * (wraw_bits + gap_bits + int(last))
                   for bk, last in zip(banks, bank_last))
    dense_rom_bits = sum(la.dense_weights * la.requant.n_bits for la in layer_plans)
    sel_bits = widths.unsigned_bits(nbanks - 1)
    dbits = desc_widths(descriptors)
    init_bits = (addr_bits + widths.unsigned_bits(max(d.win_w for d in descriptors) - 1)
                 + widths.unsigned_bits(max(j for row in lane_init for _, _, j in row)))
    table_bits = (len(descriptors) * sum(dbits.values()) + len(phase_table) * addr_bits
                  + len(round_counts) * widths.unsigned_bits(max(round_counts) - 1)
                  + len(chan_table) * (addr_bits + bias_bits)
                  + len(sel_rows) * pes * sel_bits + len(lane_init) * pes * init_bits)
    return HardwarePlan(
        pes=pes, input_shape=shape, input_pixels=shape[0] * shape[1] * shape[2],
        input_offset=regions[0][0], input_pad=regions[0][2], classes=classes,
        out_bits=int(last.n_bits), class_bits=max(1, math.ceil(math.log2(classes))),
        act_bits=act_bits, acc_bits=acc_bits, w_bits=w_bits, wraw_bits=wraw_bits,
        gap_bits=gap_bits, tap_bits=tap_bits, sel_bits=sel_bits,
        addr_bits=addr_bits, bias_bits=bias_bits, mem_depth=depth, final_offset=final_offset,
        layers=tuple(layer_plans), nnz_macs=sum(la.nnz_macs for la in layer_plans),
        dense_macs=sum(la.dense_macs for la in layer_plans), rom_bits=rom_bits,
        dense_rom_bits=dense_rom_bits, table_bits=table_bits, mem_init=tuple(mem_init),
        pixel_lut=lut, banks=tuple(tuple(bk) for bk in banks), bank_last=tuple(bank_last),
        sel_rows=tuple(sel_rows), phase_table=tuple(phase_table),
        descriptors=tuple(descriptors), round_counts=tuple(round_counts),
        chan_table=tuple(chan_table), lane_init=tuple(lane_init), program=tuple(program),
        requant=tuple(requants),
        name=model.name)
