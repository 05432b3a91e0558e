"""Legacy ``int_values`` / ``float_value`` files: topology inference, round trips, and every
validation message verbatim (``CASES``, also run by ``test_raise_sites``)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from factory import assert_same_model, random_float_weights, random_model
from frontend_cases import DELETE, FIXTURES, Case, check, edit, fixture_doc, scratch, write

from fpgac.compiler.analysis.shapes import infer_shapes
from fpgac.compiler.frontend import (dump_yaml, load_float_reference, load_model, save_legacy,
                                     save_legacy_float)
from fpgac.compiler.frontend.legacy import from_legacy
from fpgac.compiler.ir import Conv2d, Flatten, Linear, MaxPool2d, QuantParams, ReLU

D = fixture_doc("tiny_int.yml")
C = fixture_doc("tiny_int_coo.yml")
F = fixture_doc("tiny_float.yml")


def coo0(size: list[int]) -> dict:
    """An all-fill COO tensor of ``size`` (to change a layer's shape in a few characters)."""
    return {"size": size, "indices": [[] for _ in size], "values": [], "nnz": 0}


def L(id: str, changes: list, message: str, base: dict = D) -> Case:
    """A case loading ``base`` with ``changes`` as ``m.yml``; message without the file name."""
    return Case(id, lambda: from_legacy(edit(base, *changes), "m.yml"), "m.yml: " + message)


#: The start and end of the message when no reading of the family chains.
NONE = ("topology: expected a reading of the LeNet-style family (legacy-format.md) whose shapes "
        "chain, found none:")
CONVERT = ("; if the network pads or pools otherwise, state its topology: 'fpgac convert m.yml "
           "-o m.fpgac.yml --padding P1,P2,.. --pool NAMES'")

LAYER_KEYS = "bias, bs, bz, ins, inz, mn, mqm0, n_bits, name, outs, outz, weight, ws, wz"
BIAS_RANGE = "[-4611686018427387904, 4611686018427387903]"

INT_CASES = [
    # structure
    Case("top-list", lambda: from_legacy([1], "m.yml"),
         "m.yml: (top level): expected a mapping, found a list of 1 item"),
    L("head-missing", [("head", DELETE)], "head: expected a required key, found no such key"),
    L("head-other", [("head", "weights")],
      "head: expected one of 'int_values', 'float_value', found 'weights'"),
    L("head-float", [("head", "float_value")],
      "head: expected 'int_values' (the hardware needs the integer twin of this float reference "
      "file), found 'float_value'"),
    L("top-unknown-key", [("epochs", 3)], "epochs: expected one of the keys head, ins, inz, "
      "layers, outs, outz, found an unknown key"),
    L("top-missing-key", [("outz", DELETE)], "outz: expected a required key, found no such key"),
    L("layers-mapping", [("layers", {"a": 1})], "layers: expected a non-empty list of layer "
      "mappings, found a mapping with keys [a]"),
    L("layers-empty", [("layers", [])], "layers: expected a non-empty list of layer mappings, "
      "found an empty list"),
    L("layer-not-mapping", [("layers[1]", 5)], "layers[1]: expected a mapping, found 5"),
    L("layer-unknown-key", [("layers[1].wz2", 3)], f"layers[1].wz2: expected one of the keys "
      f"{LAYER_KEYS}, found an unknown key"),
    L("layer-missing-key", [("layers[1].mqm0", DELETE)],
      "layers[1].mqm0: expected a required key, found no such key"),
    # scalar keys and their ranges (semantics.md, "Ranges")
    L("n_bits-range", [("layers[0].n_bits", 17)],
      "layers[0].n_bits: expected an integer in [2, 16], found 17"),
    L("n_bits-bool", [("layers[0].n_bits", True)],
      "layers[0].n_bits: expected an integer in [2, 16], found True"),
    L("name-empty", [("layers[0].name", "")],
      "layers[0].name: expected a non-empty string, found ''"),
    L("ins-nan", [("layers[0].ins", math.nan)],
      "layers[0].ins: expected a finite number > 0, found nan"),
    L("outs-inf", [("layers[1].outs", math.inf)],
      "layers[1].outs: expected a finite number > 0, found inf"),
    L("ws-zero", [("layers[2].ws", 0)], "layers[2].ws: expected a finite number > 0, found 0"),
    L("ws-string", [("layers[2].ws", "0.1")],
      "layers[2].ws: expected a finite number > 0, found '0.1'"),
    L("bs-nan", [("layers[0].bs", math.nan)],
      "layers[0].bs: expected a finite number > 0, found nan"),
    L("inz-range", [("layers[1].inz", 256)],
      "layers[1].inz: expected an integer in [0, 255], found 256"),
    L("outz-negative", [("layers[1].outz", -1)],
      "layers[1].outz: expected an integer in [0, 255], found -1"),
    L("wz-range", [("layers[3].wz", 300)],
      "layers[3].wz: expected an integer in [0, 255], found 300"),
    L("wz-float", [("layers[3].wz", 122.0)],
      "layers[3].wz: expected an integer in [0, 255], found 122.0"),
    L("bz-nonzero", [("layers[0].bz", 1)],
      "layers[0].bz: expected 0 (biases have no zero point), found 1"),
    L("bz-float", [("layers[0].bz", 0.0)],
      "layers[0].bz: expected 0 (biases have no zero point), found 0.0"),
    L("mn-high", [("layers[1].mn", 65)], "layers[1].mn: expected an integer in [-8, 64], found 65"),
    L("mn-low", [("layers[1].mn", -9)], "layers[1].mn: expected an integer in [-8, 64], found -9"),
    L("mqm0-high", [("layers[1].mqm0", 257)],
      "layers[1].mqm0: expected an integer in [0, 256], found 257"),
    L("mqm0-negative", [("layers[1].mqm0", -1)],
      "layers[1].mqm0: expected an integer in [0, 256], found -1"),
    L("top-inz-range", [("inz", 256)], "inz: expected an integer in [0, 255], found 256"),
    L("top-ins-negative", [("ins", -1.0)], "ins: expected a finite number > 0, found -1.0"),
    # tensors
    L("weight-not-tensor", [("layers[0].weight", [1, 2])], "layers[0].weight: expected a tensor "
      "mapping {size, data} or {size, indices, values, nnz}, found a list of 2 items"),
    L("weight-3d", [("layers[0].weight", coo0([2, 9, 1]))], "layers[0].weight.size: expected 4 "
      "dimensions (conv2d) or 2 (linear), found shape [2, 9, 1]"),
    L("weight-not-square", [("layers[0].weight", coo0([2, 1, 3, 1]))],
      "layers[0].weight.size[3]: expected 3 (square kernels only), found 1"),
    L("weight-above-n_bits", [("layers[0].weight.data[1][0][2][1]", 256)],
      "layers[0].weight.data[1][0][2][1]: expected an integer in [0, 255], found 256"),
    L("weight-nan", [("layers[0].weight.data[0][0][0][0]", math.nan)],
      "layers[0].weight.data[0][0][0][0]: expected an integer in [0, 255], found nan"),
    L("weight-wrong-shape", [("layers[0].weight.size", [2, 1, 3, 4])],
      "layers[0].weight.data[0][0][0]: expected a list of 4 items (size[3]), found a list of "
      "3 items"),
    L("coo-value-above-n_bits", [("layers[2].weight.values[3]", 256)],
      "layers[2].weight.values[3]: expected an integer in [0, 255], found 256", C),
    L("coo-nnz-mismatch", [("layers[1].weight.nnz", 3)], "layers[1].weight.values: expected a "
      "list of 3 values (nnz), found a list of 63 items", C),
    L("coo-indices-mismatch", [("layers[1].weight.indices[2]", [0])],
      "layers[1].weight.indices[2]: expected a list of 63 indices (nnz), found a list of 1 "
      "item", C),
    L("coo-duplicate", [("layers[0].weight.indices", [[0, 0, 0, 1, 1], [0, 0, 0, 0, 0],
                                                      [0, 0, 2, 1, 2], [2, 2, 2, 2, 2]])],
      "layers[0].weight.indices[*][1]: expected a coordinate not listed before, found a "
      "duplicate: (0, 0, 0, 2)", C),
    L("coo-index-range", [("layers[3].weight.indices[1][0]", 4)],
      "layers[3].weight.indices[1][0]: expected an integer in [0, 3], found 4", C),
    L("csr-in-legacy", [("layers[3].weight", {"layout": "csr", "size": [5, 4],
                                               "indptr": [0, 0, 0, 0, 0, 0], "indices": [],
                                               "values": []})],
      "layers[3].weight: expected a tensor mapping {size, data} or {size, indices, values, "
      "nnz}, found a mapping with keys [indices, indptr, layout, size, values]"),
    L("bias-length", [("layers[0].bias", {"size": [3], "data": [1, 2, 3]})],
      "layers[0].bias.size: expected [2] (one per output channel), found shape [3]"),
    L("bias-2d", [("layers[0].bias", {"size": [2, 1], "data": [[1], [2]]})],
      "layers[0].bias.size: expected [2] (one per output channel), found shape [2, 1]"),
    L("bias-huge", [("layers[0].bias.data[1]", 1 << 62)],
      f"layers[0].bias.data[1]: expected an integer in {BIAS_RANGE}, found 4611686018427387904"),
    L("bias-coo-float", [("layers[0].bias.values[0]", 1.5)],
      f"layers[0].bias.values[0]: expected an integer in {BIAS_RANGE}, found 1.5", C),
    # the model as a whole
    L("n_bits-mixed", [("layers[2].n_bits", 9)],
      "layers[2].n_bits: expected 8 (= layers[0].n_bits; one width per model), found 9"),
    L("name-duplicate", [("layers[2].name", "conv1")],
      "layers[2].name: expected a name not used before (layers[0] has it), found 'conv1'"),
    L("conv-after-linear", [("layers[4].weight", coo0([10, 5, 1, 1]))],
      "layers[4].weight.size: expected 2 dimensions (convolutions must come before linear "
      "layers; layers[3] is linear), found shape [10, 5, 1, 1]"),
    L("ins-chain-first", [("layers[0].ins", 0.0079)],
      "layers[0].ins: expected 0.0078431 (= ins), found 0.0079"),
    L("inz-chain-first", [("layers[0].inz", 127)],
      "layers[0].inz: expected 128 (= inz), found 127"),
    L("ins-chain", [("layers[2].ins", 0.07)],
      "layers[2].ins: expected 0.031 (= layers[1].outs), found 0.07"),
    L("inz-chain", [("layers[2].inz", 96)],
      "layers[2].inz: expected 97 (= layers[1].outz), found 96"),
    L("outs-chain", [("outs", 0.1)], "outs: expected 0.11 (= layers[4].outs), found 0.1"),
    L("outz-chain", [("outz", 130)], "outz: expected 131 (= layers[4].outz), found 130"),
    L("first-kernel-even", [("layers[0].weight", coo0([2, 1, 4, 4]))],
      f"{NONE} layers[2] (conv3).weight.size[2]: expected a kernel of at most 4 (a 4x4 input "
      "with padding 0), found 5 (conv1 + pool, conv2 + pool, conv3 + pool; conv1 + pool, conv2 "
      "+ pool, conv3); layers[3] (fc1) takes 4 inputs, the readings give 16 (conv1 + pool, "
      "conv2, conv3 + pool), 64 (conv1 + pool, conv2, conv3), 36 (conv1, conv2 + pool, conv3 + "
      "pool), 144 (conv1, conv2 + pool, conv3), 256 (conv1, conv2, conv3 + pool), 1156 (conv1, "
      f"conv2, conv3){CONVERT}"),
    L("chain-conv-channels", [("layers[1].weight", coo0([3, 1, 5, 5]))],
      "layers[1] (conv2).weight.size[1]: expected 2 (the channels of the output of layers[0]), "
      "found 1"),
    L("chain-kernel", [("layers[0].weight", coo0([2, 1, 30, 30]))],
      f"{NONE} layers[0] (conv1).weight.size[2]: expected a kernel of at most 28 (a 28x28 "
      "input with padding 0), found 30 (conv1 + pool, conv2 + pool, conv3 + pool; conv1 + pool,"
      " conv2 + pool, conv3; conv1 + pool, conv2, conv3 + pool; conv1 + pool, conv2, conv3; "
      "conv1, conv2 + pool, conv3 + pool; conv1, conv2 + pool, conv3; conv1, conv2, conv3 + "
      f"pool; conv1, conv2, conv3){CONVERT}"),
    L("chain-flatten", [("layers[3].weight", coo0([5, 6]))],
      f"{NONE} layers[2] (conv3).weight.size[2]: expected a kernel of at most 4 (a 4x4 input "
      "with padding 0), found 5 (conv1 + pool, conv2 + pool, conv3 + pool; conv1 + pool, conv2 "
      "+ pool, conv3); layers[3] (fc1) takes 6 inputs, the readings give 16 (conv1 + pool, "
      "conv2, conv3 + pool), 100 (conv1 + pool, conv2, conv3), 36 (conv1, conv2 + pool, conv3 +"
      " pool), 196 (conv1, conv2 + pool, conv3), 324 (conv1, conv2, conv3 + pool), 1296 (conv1,"
      " conv2, conv3), 4 (conv1 pad 1 + pool, conv2 + pool, conv3), 36 (conv1 pad 1 + pool, "
      "conv2, conv3 + pool), 144 (conv1 pad 1 + pool, conv2, conv3), 64 (conv1 pad 1, conv2 + "
      "pool, conv3 + pool), 256 (conv1 pad 1, conv2 + pool, conv3), 400 (conv1 pad 1, conv2, "
      f"conv3 + pool), 1600 (conv1 pad 1, conv2, conv3){CONVERT}"),
    Case("ambiguous", lambda: from_legacy(edit(D, ("layers[2].weight", coo0([4, 3, 4, 4]))),
                                          "m.yml"),
         "m.yml: topology: expected exactly one reading of the LeNet-style family "
         "(legacy-format.md) that chains (the file does not store its topology), found 2 that "
         "chain: (1) conv1 + pool, conv2 + pool, conv3 [flatten 4; --padding 0,0,0 --pool "
         "conv1,conv2]; (2) conv1 pad 1 + pool, conv2 + pool, conv3 + pool [flatten 4; --padding "
         "1,0,0 --pool conv1,conv2,conv3]. Check which network you trained, then state it once: "
         "'fpgac convert m.yml -o m.fpgac.yml' with that candidate's options"),
    Case("stated-none", lambda: from_legacy(
        edit(D, ("layers[2].weight", coo0([4, 3, 4, 4]))), "m.yml", padding=[1, 0, 0],
        pool=[True, True, False]),
         "m.yml: topology: expected a reading within the stated topology whose shapes chain, "
         "found none: layers[3] (fc1) takes 4 inputs, the readings give 16 (conv1 pad 1 + pool, "
         "conv2 + pool, conv3); if the network pads or pools otherwise, state its topology: "
         "'fpgac convert m.yml -o m.fpgac.yml --padding P1,P2,.. --pool NAMES'"),
    Case("arg-padding-count", lambda: from_legacy(D, "m.yml", padding=[1]),
         "m.yml: padding (argument): expected 3 entries (one per conv), found 1"),
    Case("arg-pool-count", lambda: from_legacy(D, "m.yml", pool=[True]),
         "m.yml: pool (argument): expected 3 entries (one per conv), found 1"),
    Case("arg-padding-negative", lambda: from_legacy(D, "m.yml", padding=[1, -1, 0]),
         "m.yml: padding (argument): expected integers >= 0, found [1, -1, 0]"),
    Case("arg-pool-name", lambda: from_legacy(D, "m.yml", pool=["conv1", "fc1"]),
         "m.yml: pool (argument): expected names of convs of this file (conv1, conv2, conv3), "
         "found 'fc1'"),
    L("chain-linear", [("layers[4].weight", coo0([10, 4]))],
      "layers[4] (fc2).weight.size[1]: expected 5 (the output of layers[3]), found 4"),
]


def R(id: str, changes: list, message: str) -> Case:
    """A ``load_float_reference`` case on the dense float fixture with ``changes``."""
    def run():
        return load_float_reference(write(f"{id}.yml", edit(F, *changes)))
    return Case(id, run, f"{scratch(id + '.yml')}: " + message)


FLOAT_CASES = [
    R("float-head", [("head", "int_values")],
      "head: expected one of 'float_value', found 'int_values'"),
    R("float-unknown-key", [("epochs", 1)],
      "epochs: expected one of the keys head, ins, inz, layers, outs, outz, found an unknown "
      "key"),
    R("float-layers-empty", [("layers", [])],
      "layers: expected a non-empty list of layer mappings, found an empty list"),
    R("float-layer-missing-weight", [("layers[1].weight", DELETE)],
      "layers[1].weight: expected a required key, found no such key"),
    R("float-name-duplicate", [("layers[1].name", "conv1")],
      "layers[1].name: expected a name not used before, found 'conv1'"),
    R("float-scale-type", [("layers[1].ws", "x")],
      "layers[1].ws: expected a finite number > 0, found 'x'"),
    R("float-zero-point-type", [("layers[1].wz", 1.5)],
      "layers[1].wz: expected an integer, found 1.5"),
    R("float-weight-inf", [("layers[3].weight.data[0][1]", math.inf)],
      "layers[3].weight.data[0][1]: expected a finite number, found inf"),
    R("float-weight-3d", [("layers[3].weight", {"size": [1, 1, 1], "data": [[[0.5]]]})],
      "layers[3].weight.size: expected 4 dimensions (conv2d) or 2 (linear), found shape "
      "[1, 1, 1]"),
    R("float-bias-length", [("layers[3].bias", {"size": [1], "data": [0.5]})],
      "layers[3].bias.size: expected [5] (one per output channel), found shape [1]"),
]

M = random_model(3)


def _replace_op(model, i, **changes):
    ops = list(model.ops)
    ops[i] = dataclasses.replace(ops[i], **changes)
    return dataclasses.replace(model, ops=ops)


def W(id: str, model, message: str) -> Case:
    """A ``save_legacy`` refusal (source ``(legacy writer)``)."""
    return Case(id, lambda: save_legacy(model, scratch(f"{id}.yml")),
                "(legacy writer): " + message)


TOPOLOGY = ("Conv2d, ReLU, MaxPool2d, Conv2d, ReLU, MaxPool2d, Conv2d, ReLU, Flatten, Linear, "
            "ReLU, Linear")
Q1, Q3 = M.ops[0].out_q, M.weighted[-1].out_q

WRITER_CASES = [
    W("writer-no-weighted", dataclasses.replace(M, ops=[Flatten()]),
      "ops: expected at least one conv2d or linear op, found no weighted op"),
    W("writer-rounding", dataclasses.replace(M, rounding="half_up"),
      "rounding: expected 'floor' (legacy files cannot store the rounding), found 'half_up'"),
    W("writer-preprocess", dataclasses.replace(
        M, input=dataclasses.replace(M.input, mean=0.1307, std=0.3081)),
      "input.preprocess: expected mean 0.5, std 0.5 (legacy files cannot store them), found a "
      "mean of 0.1307 and std of 0.3081"),
    W("writer-input-shape", dataclasses.replace(
        M, input=dataclasses.replace(M.input, shape=(1, 32, 32))),
      "input.shape: expected [1, 28, 28] (the legacy input), found shape [1, 32, 32]"),
    W("writer-clamp", dataclasses.replace(
        M, input=dataclasses.replace(M.input, clamp=True)),
      "input.clamp: expected false (legacy files quantize the input without a clamp), found "
      "True"),
    W("writer-n_bits", _replace_op(M, 3, n_bits=7),
      "conv2.n_bits: expected 8 (one width per model), found 7"),
    W("writer-fused-relu", _replace_op(M, 0, relu=True),
      "conv1.relu: expected explicit ReLU ops (save before fusing activations), found True"),
    W("writer-first-stride", _replace_op(M, 0, stride=2),
      "conv1: expected stride 1 and padding 0 or 1 (the legacy first conv: 0 or (k-1)/2 for an "
      "odd kernel), found a stride of 2, padding of 1, kernel 3"),
    W("writer-padding", _replace_op(M, 3, padding=1),
      "conv2: expected stride 1 and padding 0 (legacy convs after the first), found a stride "
      "of 1, padding of 1, kernel 5"),
    W("writer-in_q", _replace_op(M, 3, in_q=QuantParams(0.5, 3)),
      f"conv2.in_q: expected scale {Q1.scale!r}, zero point {Q1.zero_point} (the previous "
      "output quantization), found a scale 0.5, zero point 3"),
    W("writer-out_q", dataclasses.replace(M, out_q=QuantParams(0.5, 3)),
      f"out_q: expected scale {Q3.scale!r}, zero point {Q3.zero_point} (the last layer's "
      "output quantization), found a scale 0.5, zero point 3"),
    W("writer-op-kind", dataclasses.replace(
        M, ops=M.ops[:1] + [MaxPool2d(2, 2, "p")] + M.ops[2:]),
      f"ops[1] (p): expected a ReLU (legacy topology: {TOPOLOGY}), found a MaxPool2d(2, 2)"),
    W("writer-pool-kernel", dataclasses.replace(
        M, ops=M.ops[:2] + [MaxPool2d(3, 2, "p")] + M.ops[3:]),
      f"ops[2] (p): expected a MaxPool2d(2, 2) (legacy topology: {TOPOLOGY}), found a "
      "MaxPool2d(3, 2)"),
    W("writer-extra-op", dataclasses.replace(M, ops=M.ops + [ReLU("extra")]),
      f"ops: expected 12 ops (legacy topology: {TOPOLOGY}), found a chain of 13 ops"),
]

FW = random_float_weights(M)


def FW_(id: str, weights: dict, message: str) -> Case:
    return Case(id, lambda: save_legacy_float(M, weights, scratch(f"{id}.yml")),
                "(legacy writer): " + message)


WRITER_CASES += [
    FW_("writer-float-missing", {k: v for k, v in FW.items() if k != "fc1"},
        "float_weights['fc1']: expected a (weight, bias) pair for every weighted layer, found "
        "no entry"),
    FW_("writer-float-shape", dict(FW, fc1=(np.zeros((3, 3)), None)),
        "float_weights['fc1'][0]: expected finite values of shape [6, 4], found shape [3, 3]"),
    FW_("writer-float-nan", dict(FW, fc1=(np.where(np.eye(6, 4) > 0, np.nan, 0.0), None)),
        "float_weights['fc1'][0]: expected finite values of shape [6, 4], found a nan at "
        "[0, 0]"),
    FW_("writer-float-bias", dict(FW, fc1=(FW["fc1"][0], np.zeros(2))),
        "float_weights['fc1'][1]: expected finite values of shape [6], found shape [2]"),
]

#: A stated topology given for a file that states its own.
LOAD_CASES = [
    Case("arg-own-format", lambda: load_model(FIXTURES / "tiny.fpgac.yml", padding=[1, 0, 0]),
         f"{FIXTURES / 'tiny.fpgac.yml'}: padding/pool (argument): expected a legacy file (an "
         "fpgac-model file states its topology), found a file with 'format: fpgac-model/1'"),
]

CASES = INT_CASES + FLOAT_CASES + WRITER_CASES + LOAD_CASES


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_message(case):
    error = check(case)
    if case in INT_CASES:
        assert error.source == "m.yml"


def test_case_ids_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------------------------
# What valid files mean


def test_inferred_topology_and_shapes():
    model = load_model(FIXTURES / "tiny_int.yml")
    assert model.name == "tiny_int" and model.source_format == "legacy"
    assert model.rounding == "floor" and (model.input.mean, model.input.std) == (0.5, 0.5)
    assert model.input.shape == (1, 28, 28) and model.input.quant == QuantParams(0.0078431, 128)
    assert [op.name for op in model.ops] == [
        "conv1", "conv1_relu", "conv1_pool", "conv2", "conv2_relu", "conv2_pool", "conv3",
        "conv3_relu", "flatten", "fc1", "fc1_relu", "fc2"]
    kinds = [Conv2d, ReLU, MaxPool2d, Conv2d, ReLU, MaxPool2d, Conv2d, ReLU, Flatten, Linear,
             ReLU, Linear]
    assert [type(op) for op in model.ops] == kinds
    convs = [op for op in model.ops if isinstance(op, Conv2d)]
    assert [(c.stride, c.padding) for c in convs] == [(1, 1), (1, 0), (1, 0)]
    assert all((p.kernel, p.stride) == (2, 2) for p in model.ops if isinstance(p, MaxPool2d))
    assert infer_shapes(model) == [(2, 28, 28), (2, 28, 28), (2, 14, 14), (3, 10, 10),
                                   (3, 10, 10), (3, 5, 5), (4, 1, 1), (4, 1, 1), (4,), (5,),
                                   (5,), (10,)]
    assert model.ops[3].bias is None and model.ops[0].bias.tolist() == D["layers"][0]["bias"][
        "data"]
    assert not any(op.relu for op in model.weighted)


def test_dense_and_coo_give_the_same_ir():
    dense = load_model(FIXTURES / "tiny_int.yml")
    sparse = load_model(FIXTURES / "tiny_int_coo.yml")
    assert_same_model(dense, dataclasses.replace(sparse, name=dense.name))
    # COO entries that are missing equal wz (not 0) for weights, 0 for biases.
    fc1 = C["layers"][3]
    w = sparse.ops[9].weight
    listed = np.zeros(w.shape, dtype=bool)
    listed[tuple(fc1["weight"]["indices"])] = True
    assert (w[~listed] == fc1["wz"]).all() and (~listed).any()
    assert fc1["wz"] != 0


def _reorder(obj):
    """Every mapping with its keys in reverse order (lists keep their order)."""
    if isinstance(obj, dict):
        return {k: _reorder(obj[k]) for k in reversed(list(obj))}
    if isinstance(obj, list):
        return [_reorder(v) for v in obj]
    return obj


@pytest.mark.parametrize("name", ["tiny_int.yml", "tiny_int_coo.yml"])
def test_keys_in_any_order(name, tmp_path):
    doc = fixture_doc(name)
    shuffled = _reorder(doc)
    assert list(shuffled) != list(doc)
    path = tmp_path / name
    dump_yaml(shuffled, path, sort_keys=False)
    assert path.read_text().startswith("outz:")
    assert_same_model(load_model(FIXTURES / name), load_model(path))


def test_preprocessing_override():
    model = load_model(FIXTURES / "tiny_int.yml", mean=0.1307, std=0.3081)
    assert (model.input.mean, model.input.std) == (0.1307, 0.3081)


def test_single_linear_layer_model():
    # A leading linear layer gets a flatten in front; the input is [1, 28, 28].
    layer = dict(D["layers"][4], name="fc", ins=D["ins"], inz=D["inz"],
                 weight=coo0([10, 784]), bias={"size": [10], "data": list(range(10))})
    doc = edit(D, ("layers", [layer]))
    model = from_legacy(doc, "one.yml")
    assert [type(op) for op in model.ops] == [Flatten, Linear]
    assert model.name == "one" and model.input.shape == (1, 28, 28)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("coo", [False, True])
def test_save_legacy_round_trip(seed, coo, tmp_path):
    model = random_model(seed)
    path = tmp_path / f"rand{seed}.yml"
    save_legacy(model, path, coo=coo)
    back = load_model(path)
    assert back.source_format == "legacy"
    assert_same_model(model, back)
    text = path.read_text()
    assert ("nnz:" in text) == coo and "layout" not in text


def test_float_reference_dense_and_coo_agree_with_int_file():
    dense = load_float_reference(FIXTURES / "tiny_float.yml")
    sparse = load_float_reference(FIXTURES / "tiny_float_coo.yml")
    ints = load_model(FIXTURES / "tiny_int.yml")
    assert list(dense) == list(sparse) == [op.name for op in ints.weighted]
    for op in ints.weighted:
        (wd, bd), (ws, bs) = dense[op.name], sparse[op.name]
        assert wd.dtype == np.float64 and (wd == ws).all()
        assert (bd is None) == (bs is None) == (op.bias is None)
        if bd is not None:
            assert (bd == bs).all()
        # The fixture's float weights are (w - wz) * ws exactly where w != wz, 0.0 elsewhere.
        np.testing.assert_allclose(wd, (op.weight - op.w_zero_point) * op.w_scale, rtol=1e-12)
        assert ((wd == 0.0) == (op.weight == op.w_zero_point)).all()


def test_save_legacy_float_round_trip(tmp_path):
    for coo in (False, True):
        path = tmp_path / f"f{int(coo)}.yml"
        save_legacy_float(M, FW, path, coo=coo)
        back = load_float_reference(path)
        for name, (w, b) in FW.items():
            assert (back[name][0] == w).all()
            assert (b is None and back[name][1] is None) or (back[name][1] == b).all()
