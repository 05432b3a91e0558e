"""Pass: lower a fused model (:mod:`.fuse_activations`) to a hardware plan.

Contract
--------
``lower_to_plan(model, pes=P)`` accepts a chain ``(conv [maxpool])* [flatten] linear*`` (ReLUs
already fused, the last weighted op producing ``classes <= 64`` outputs of shape 1x1) and
returns the plan described in ``docs/architecture.md`` ("The accelerator"). It raises
:class:`~fpgac.errors.UnsupportedError` for anything else, naming the op and the reason, and
:class:`~fpgac.errors.ModelError` for values out of the ranges of ``docs/semantics.md``.

Mapping of a weighted layer with ``O`` outputs channels over ``J`` windows (a window is a pool
window, or one output pixel without pool; a linear layer or a conv with a 1x1 output has
``J = 1``): the ``P`` lanes are split into ``a`` channel slots times ``b = P // a`` window
slots (lane ``p = ci * b + wi``).

* ``a = 1`` is the **spatial** mode: all lanes share one weight stream from the shared ROM;
* ``a > 1`` is the **output-parallel** mode: channels are sorted by non-zero count (descending,
  stable) and dealt ``a`` at a time into rounds; lane ROM row ``e`` of a round holds entry ``e``
  of each slot's list (``(0, 0)`` padding past its end), replicated over the ``b`` window slots.

For each round (spatial: each channel) and each window group, one program group is emitted.
The compiler picks ``a`` per layer minimising ``sum over groups max(phases*count, n_valid)``
(the lockstep steps, or the writer drain when it is longer); ties go to the smaller ``a``.
A layer with a single window (linear, 1x1 conv output) is always output-parallel.

**Item mapping** (layers with several windows, ``P > 1``): the ``(channel, window)`` pairs,
sorted by the channel's non-zero count (descending, stable), are dealt ``P`` at a time, one
pair per lane, one group per chunk. A chunk of a single channel is a shared-ROM group (its list
once in the shared ROM, reused by the following chunks of that channel); a chunk mixing channels
is a lane-ROM group (each lane's column holds its channel's list, ``(0, 0)`` padding). It is
used when its estimated cycles are strictly lower than the best ``a``: it removes the idle
lanes of the last window group of every channel (``windows % b != 0``). The layer is then
reported as ``mode = LANES`` with ``lanes_per_stream = 1``; each group carries its own mode.
"""

from __future__ import annotations

import math

import numpy as np

from fpgac.compiler import ir
from fpgac.compiler.analysis import widths
from fpgac.compiler.plan import LANES, SPATIAL, Group, HardwarePlan, LayerPlan, Requant
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
    if not 1 <= n <= 16:
        raise UnsupportedError(f"{where}.n_bits: expected an integer in [1, 16], found {n}")
    top = 2**n - 1
    for key, val in (("inz", op.in_q.zero_point), ("outz", op.out_q.zero_point),
                     ("wz", op.w_zero_point)):
        if not 0 <= int(val) <= top:
            raise ModelError(f"{where}.{key}", f"an integer in [0, {top}]", int(val))
    if not 0 <= int(op.mqm0) <= 2**n:
        raise ModelError(f"{where}.mqm0", f"an integer in [0, {2**n}]", int(op.mqm0))
    if int(op.shift) < 0:
        raise ModelError(f"{where}.mn", f"an integer >= {-n} (mn + n_bits >= 0)", int(op.mn))
    w = np.asarray(op.weight)
    if w.size and (int(w.min()) < 0 or int(w.max()) > top):
        bad = int(w.min()) if int(w.min()) < 0 else int(w.max())
        raise ModelError(f"{where}.weight", f"integers in [0, {top}]", bad)


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


def _deal_items(pes, lists, windows):
    """The item mapping: ``(channel, window)`` pairs, sorted by the channel's non-zero count
    (descending, stable), dealt ``P`` at a time; returns the list of chunks."""
    items = sorted(((o, j) for o in range(len(lists)) for j in range(windows)),
                   key=lambda it: -len(lists[it[0]]))
    return [items[g:g + pes] for g in range(0, len(items), pes)]


def _items_cost(chunks, lists, phases):
    return sum(max(phases * max(1, max(len(lists[o]) for o, _ in chunk)), len(chunk))
               for chunk in chunks)


def lower_to_plan(model: ir.Model, *, pes: int) -> HardwarePlan:
    """Lower a fused model to a hardware plan for ``pes`` lanes (module docstring)."""
    if isinstance(pes, bool) or not isinstance(pes, (int, np.integer)) or pes < 1:
        raise FpgacError(f"pes: expected a positive integer, found {pes!r}")
    pes = int(pes)
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
            ho, wo = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
            if ho < 1 or wo < 1:
                raise ModelError(f"{where}.weight.size", f"a kernel <= {h + 2 * pad}", k)
            if layer.pool:
                pk, ps = layer.pool
                hq, wq = (ho - pk) // ps + 1, (wo - pk) // ps + 1
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
        off += c * (h + 2 * pad) * (w + 2 * pad)
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
        hp, wp = h + 2 * pad, w + 2 * pad
        return roff + c * hp * wp + (y + pad) * wp + x + pad

    # ---- per layer lowering -------------------------------------------------------------
    act_bits = max([int(model.input.n_bits)] + [int(la.op.n_bits) for la in chain])
    w_bits = widths.delta_bits(act_bits)
    shared_rom: list[tuple[int, int]] = []
    lane_rom: list[tuple[tuple[int, int], ...]] = []
    in_table: list[tuple[int, ...]] = []
    phase_table: list[int] = [0]
    out_table: list[tuple[int, int, int]] = []
    program: list[Group] = []
    requants: list[Requant] = []
    layer_plans: list[LayerPlan] = []
    max_tap = 0
    max_bias = 0
    for i, layer in enumerate(chain):
        op = layer.op
        final = i == len(chain) - 1
        (c, h, w), pad, (ho, wo), (oc, hq, wq) = geo[i]
        hp, wp = h + 2 * pad, w + 2 * pad
        in_off = regions[i][0]
        wz = int(op.w_zero_point)
        inz = int(op.in_q.zero_point)
        wmat = np.asarray(op.weight, dtype=np.int64)
        bias = [0] * oc if op.bias is None else [int(v) for v in op.bias]
        if isinstance(op, ir.Conv2d):
            k, s = op.kernel, int(op.stride)
            taps = [ci * hp * wp + ky * wp + kx
                    for ci in range(c) for ky in range(k) for kx in range(k)]
            flatw = wmat.reshape(oc, -1)
            pk, ps = layer.pool if layer.pool else (1, 1)
            windows = [(py, px) for py in range(hq) for px in range(wq)]
            bases = [in_off + py * ps * s * wp + px * ps * s for (py, px) in windows]
            phase_offs = [dy * s * wp + dx * s for dy in range(pk) for dx in range(pk)]
            used_outputs = len(windows) * pk * pk
        else:
            taps = list(range(op.in_features))
            flatw = wmat
            windows = [(0, 0)]
            bases = [in_off]
            phase_offs = [0]
            used_outputs = 1
        lists = []
        for o in range(oc):
            row = flatw[o]
            lists.append([(int(row[t]) - wz, taps[t]) for t in range(len(taps))
                          if int(row[t]) != wz])
        max_tap = max([max_tap] + taps)
        max_bias = max([max_bias] + [abs(b) for b in bias])
        phases = len(phase_offs)
        if phases > 1:
            phase_base = len(phase_table)
            phase_table.extend(phase_offs)
        else:
            phase_base = 0
        nwin = len(windows)
        a = _pick_split(pes, lists, nwin, phases)
        chunks = _deal_items(pes, lists, nwin) if nwin > 1 and pes > 1 else None
        groups_before = len(program)
        if chunks and _items_cost(chunks, lists, phases) < _split_cost(pes, lists, nwin,
                                                                        phases, a):
            mode, b = LANES, 1
            prev = None
            for chunk in chunks:
                chans = tuple(o for o, _ in chunk)
                count = max(1, max(len(lists[o]) for o in chans))
                # one channel: a shared-ROM (spatial) group, else a lane-ROM group; the same
                # channels as the previous chunk reuse its entries
                gmode = SPATIAL if len(set(chans)) == 1 else LANES
                if (gmode, chans[0] if gmode == SPATIAL else chans) == prev:
                    pass
                elif gmode == SPATIAL:
                    rom_start = len(shared_rom)
                    shared_rom.extend(lists[chans[0]] or [(0, 0)])
                    prev = (gmode, chans[0])
                else:
                    rom_start = len(lane_rom)
                    for e in range(count):
                        lane_rom.append(tuple(
                            lists[chans[p]][e] if p < len(chans) and e < len(lists[chans[p]])
                            else (0, 0) for p in range(pes)))
                    prev = (gmode, chans)
                in_table.append(tuple(bases[chunk[p][1]] if p < len(chunk) else bases[0]
                                      for p in range(pes)))
                out_base = len(out_table)
                for p, (o, j) in enumerate(chunk):
                    out_table.append((p, addr(i + 1, o, *windows[j]), bias[o]))
                program.append(Group(
                    layer=i, mode=gmode, rom_start=rom_start, count=count, phases=phases,
                    phase_base=phase_base, table_row=len(in_table) - 1, out_base=out_base,
                    n_valid=len(chunk), layer_first=len(program) == groups_before, inz=inz,
                    final=final))
        else:
            b = pes // a
            mode = SPATIAL if a == 1 and nwin > 1 else LANES
            order = (sorted(range(oc), key=lambda o: -len(lists[o])) if a > 1
                     else list(range(oc)))
            # in_table rows: one per window group, shared by all channels / rounds
            row0 = len(in_table)
            for g in range(0, nwin, b):
                row = []
                for p in range(pes):
                    wi = p % b
                    j = g + wi
                    row.append(bases[j] if j < nwin and p < a * b else bases[0])
                in_table.append(tuple(row))
            for r in range(0, oc, a):
                chans = order[r:r + a]
                if mode == SPATIAL:
                    lst = lists[chans[0]] or [(0, 0)]
                    rom_start = len(shared_rom)
                    shared_rom.extend(lst)
                    count = len(lst)
                else:
                    count = max(1, max(len(lists[o]) for o in chans))
                    rom_start = len(lane_rom)
                    for e in range(count):
                        row = []
                        for p in range(pes):
                            ci = p // b
                            if ci < len(chans) and e < len(lists[chans[ci]]):
                                row.append(lists[chans[ci]][e])
                            else:
                                row.append((0, 0))
                        lane_rom.append(tuple(row))
                for gi, g in enumerate(range(0, nwin, b)):
                    out_base = len(out_table)
                    for p in range(pes):
                        ci, wi = p // b, p % b
                        j = g + wi
                        if ci < len(chans) and j < nwin and p < a * b:
                            o = chans[ci]
                            py, px = windows[j]
                            out_table.append((p, addr(i + 1, o, py, px), bias[o]))
                    program.append(Group(
                        layer=i, mode=mode, rom_start=rom_start, count=count, phases=phases,
                        phase_base=phase_base, table_row=row0 + gi, out_base=out_base,
                        n_valid=len(out_table) - out_base,
                        layer_first=len(program) == groups_before, inz=inz, final=final))
        shift = int(op.shift)
        rnd = 2 ** (shift - 1) if model.rounding == "half_up" and shift > 0 else 0
        rq = Requant(mqm0=int(op.mqm0), shift=shift, rnd=rnd, outz=int(op.out_q.zero_point),
                     relu=bool(op.relu), n_bits=int(op.n_bits))
        requants.append(rq)
        nnz = sum(len(lst) for lst in lists)
        nxt_pad = regions[i + 1][2]
        layer_plans.append(LayerPlan(
            name=op.name, kind="conv" if isinstance(op, ir.Conv2d) else "linear", mode=mode,
            in_offset=in_off, in_shape=(c, h, w), in_pad=pad,
            out_offset=regions[i + 1][0],
            out_shape=(oc, hq + 2 * nxt_pad, wq + 2 * nxt_pad), out_map_shape=(oc, hq, wq),
            out_pad=nxt_pad, pool=layer.pool, relu=bool(op.relu), phases=phases,
            groups=len(program) - groups_before, nnz_weights=nnz,
            dense_weights=int(flatw.size), nnz_macs=nnz * used_outputs,
            dense_macs=int(flatw.size) * used_outputs,
            acc_bits=widths.layer_acc_bits(op), requant=rq, lanes_per_stream=b))

    acc_bits = max(la.acc_bits for la in layer_plans)
    tap_bits = widths.unsigned_bits(max_tap)
    addr_bits = max(1, math.ceil(math.log2(depth))) if depth > 1 else 1
    bias_bits = widths.signed_bits(max_bias)
    entry_bits = w_bits + tap_bits
    rom_bits = len(shared_rom) * entry_bits + len(lane_rom) * pes * entry_bits
    dense_rom_bits = sum(la.dense_weights * la.requant.n_bits for la in layer_plans)
    lane_bits = max(1, (pes - 1).bit_length())
    table_bits = (len(in_table) * pes * addr_bits + len(phase_table) * addr_bits
                  + len(out_table) * (lane_bits + addr_bits + bias_bits))
    from fpgac.sim.preprocess import pixel_table
    lut = tuple(int(v) for v in pixel_table(model.input))
    return HardwarePlan(
        pes=pes, input_shape=shape, input_pixels=shape[0] * shape[1] * shape[2],
        input_offset=regions[0][0], input_pad=regions[0][2], classes=classes,
        out_bits=int(last.n_bits), class_bits=max(1, math.ceil(math.log2(classes))),
        act_bits=act_bits, acc_bits=acc_bits, w_bits=w_bits, tap_bits=tap_bits,
        addr_bits=addr_bits, bias_bits=bias_bits, mem_depth=depth, final_offset=final_offset,
        layers=tuple(layer_plans), nnz_macs=sum(la.nnz_macs for la in layer_plans),
        dense_macs=sum(la.dense_macs for la in layer_plans), rom_bits=rom_bits,
        dense_rom_bits=dense_rom_bits, table_bits=table_bits, mem_init=tuple(mem_init),
        pixel_lut=lut, shared_rom=tuple(shared_rom), lane_rom=tuple(lane_rom),
        in_table=tuple(in_table), phase_table=tuple(phase_table), out_table=tuple(out_table),
        program=tuple(program), requant=tuple(requants), name=model.name)
