"""fpgac's own format (``fpgac-model/1``): what valid files mean, round trips in every tensor
layout, and every validation message verbatim (``CASES``, also run by ``test_raise_sites``)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from factory import assert_same_model, random_model
from frontend_cases import DELETE, FIXTURES, Case, check, edit, fixture_doc

from fpgac.compiler.frontend import load_model, load_yaml, save_model
from fpgac.compiler.frontend.native import FORMAT, from_native, to_native
from fpgac.compiler.frontend.tensors import LAYOUTS
from fpgac.compiler.ir import Flatten, QuantParams

N = fixture_doc("tiny.fpgac.yml")
#: ops of the fixture: 0 conv1, 1 conv1_relu, 2 conv1_pool, 3 conv2, 4 conv2_relu, 5 conv2_pool,
#: 6 conv3, 7 conv3_relu, 8 flatten, 9 fc1, 10 fc1_relu, 11 fc2


def coo0(size: list[int]) -> dict:
    return {"size": size, "indices": [[] for _ in size], "values": [], "nnz": 0}


def O(id: str, changes: list, message: str) -> Case:
    """A case validating the own-format fixture with ``changes`` as ``m.yml``."""
    return Case(id, lambda: from_native(edit(N, *changes), "m.yml"), "m.yml: " + message)


WEIGHTED = "bias, bs, bz, ins, inz, mn, mqm0, n_bits, name, op, outs, outz"
CONV3 = {"scale": N["layers"][6]["outs"], "zero_point": N["layers"][6]["outz"]}

LOAD_CASES = [
    Case("top-string", lambda: from_native("fpgac", "m.yml"),
         "m.yml: (top level): expected a mapping, found 'fpgac'"),
    O("format-missing", [("format", DELETE)],
      "format: expected 'fpgac-model/1', found no such key"),
    O("format-version", [("format", "fpgac-model/2")],
      "format: expected 'fpgac-model/1', found 'fpgac-model/2'"),
    O("format-int", [("format", 1)], "format: expected 'fpgac-model/1', found 1"),
    O("top-unknown-key", [("author", "x")], "author: expected one of the keys format, input, "
      "layers, name, output, rounding, found an unknown key"),
    O("top-missing-key", [("output", DELETE)], "output: expected a required key, found no such "
      "key"),
    O("name-int", [("name", 3)], "name: expected a non-empty string, found 3"),
    O("rounding", [("rounding", "nearest")],
      "rounding: expected one of 'floor', 'half_up', found 'nearest'"),
    O("input-list", [("input", [1])], "input: expected a mapping, found a list of 1 item"),
    O("input-unknown-key", [("input.mean", 0.5)], "input.mean: expected one of the keys clamp, "
      "n_bits, preprocess, scale, shape, zero_point, found an unknown key"),
    O("input-clamp", [("input.clamp", "yes")], "input.clamp: expected true or false, found "
      "'yes'"),
    O("input-n_bits", [("input.n_bits", 1)],
      "input.n_bits: expected an integer in [2, 16], found 1"),
    O("input-shape-rank", [("input.shape", [1, 28])],
      "input.shape: expected 3 positive integers [C, H, W], found a list of 2 items"),
    O("input-shape-zero", [("input.shape", [1, 0, 28])],
      "input.shape[1]: expected a positive integer, found 0"),
    O("input-shape-bool", [("input.shape", [True, 28, 28])],
      "input.shape[0]: expected a positive integer, found True"),
    O("input-scale-nan", [("input.scale", math.nan)],
      "input.scale: expected a finite number > 0, found nan"),
    O("input-zero-point", [("input.zero_point", 256)],
      "input.zero_point: expected an integer in [0, 255], found 256"),
    O("preprocess-list", [("input.preprocess", [0.5])],
      "input.preprocess: expected a mapping, found a list of 1 item"),
    O("preprocess-unknown-key", [("input.preprocess", {"mean": 0.5, "sd": 0.5})],
      "input.preprocess.sd: expected one of the keys mean, std, found an unknown key"),
    O("preprocess-std-zero", [("input.preprocess", {"std": 0})],
      "input.preprocess.std: expected a finite number > 0, found 0"),
    O("preprocess-mean-inf", [("input.preprocess", {"mean": math.inf})],
      "input.preprocess.mean: expected a finite number, found inf"),
    O("output-unknown-key", [("output.n_bits", 8)],
      "output.n_bits: expected one of the keys scale, zero_point, found an unknown key"),
    O("output-zero-point", [("output.zero_point", -3)],
      "output.zero_point: expected an integer in [0, 255], found -3"),
    O("output-scale-chain", [("output.scale", 0.12)],
      "output.scale: expected 0.11 (= layers[11].outs), found 0.12"),
    O("output-zero-point-chain", [("output.zero_point", 130)],
      "output.zero_point: expected 131 (= layers[11].outz), found 130"),
    O("layers-mapping", [("layers", {})],
      "layers: expected a non-empty list of op mappings, found an empty mapping"),
    O("layers-empty", [("layers", [])],
      "layers: expected at least one conv2d or linear op, found a list of 0 items"),
    O("layers-no-weighted", [("layers", [{"op": "flatten"}])],
      "layers: expected at least one conv2d or linear op, found a list of 1 item"),
    O("layer-int", [("layers[1]", 7)], "layers[1]: expected a mapping, found 7"),
    O("op-missing", [("layers[1].op", DELETE)],
      "layers[1].op: expected a required key, found no such key"),
    O("op-unknown", [("layers[1].op", "gelu")], "layers[1].op: expected one of 'conv2d', "
      "'linear', 'relu', 'maxpool2d', 'flatten', found 'gelu'"),
    O("conv-unknown-key", [("layers[0].kernel", 3)], f"layers[0].kernel: expected one of the "
      f"keys {WEIGHTED}, padding, relu, stride, weight, ws, wz, found an unknown key"),
    O("linear-stride", [("layers[9].stride", 1)], f"layers[9].stride: expected one of the keys "
      f"{WEIGHTED}, relu, weight, ws, wz, found an unknown key"),
    O("conv-missing-key", [("layers[3].wz", DELETE)],
      "layers[3].wz: expected a required key, found no such key"),
    O("n_bits-mixed", [("layers[3].n_bits", 9)],
      "layers[3].n_bits: expected 8 (= input.n_bits; one width per model), found 9"),
    O("ins-chain-first", [("layers[0].ins", 0.5)],
      "layers[0].ins: expected 0.0078431 (= input.scale), found 0.5"),
    O("inz-chain-first", [("layers[0].inz", 0)],
      "layers[0].inz: expected 128 (= input.zero_point), found 0"),
    O("ins-chain", [("layers[3].ins", 0.06)],
      "layers[3].ins: expected 0.05 (= layers[0].outs), found 0.06"),
    O("inz-chain", [("layers[3].inz", 0)], "layers[3].inz: expected 120 (= layers[0].outz), "
      "found 0"),
    O("mqm0-range", [("layers[9].mqm0", 300)],
      "layers[9].mqm0: expected an integer in [0, 256], found 300"),
    O("relu-string", [("layers[0].relu", "yes")],
      "layers[0].relu: expected true or false, found 'yes'"),
    O("stride-zero", [("layers[0].stride", 0)],
      "layers[0].stride: expected an integer >= 1, found 0"),
    O("padding-negative", [("layers[0].padding", -1)],
      "layers[0].padding: expected an integer >= 0, found -1"),
    O("conv-weight-2d", [("layers[0].weight", coo0([2, 9]))],
      "layers[0].weight.size: expected 4 dimensions (conv2d), found shape [2, 9]"),
    O("linear-weight-4d", [("layers[9].weight", coo0([5, 4, 1, 1]))],
      "layers[9].weight.size: expected 2 dimensions (linear), found shape [5, 4, 1, 1]"),
    O("csr-indptr", [("layers[0].weight.indptr[2]", 4)],
      "layers[0].weight.indptr[2]: expected 5 (the number of values), found 4"),
    O("csr-value-above-n_bits", [("layers[0].weight.values[1]", 256)],
      "layers[0].weight.values[1]: expected an integer in [0, 255], found 256"),
    O("tensor-layout", [("layers[0].weight.layout", "bsr")],
      "layers[0].weight.layout: expected one of 'dense', 'coo', 'csr', 'csc', found 'bsr'"),
    O("relu-unknown-key", [("layers[1].kernel", 2)],
      "layers[1].kernel: expected one of the keys name, op, found an unknown key"),
    O("pool-kernel-zero", [("layers[2].kernel", 0)],
      "layers[2].kernel: expected an integer >= 1, found 0"),
    O("pool-stride-bool", [("layers[2].stride", True)],
      "layers[2].stride: expected an integer >= 1, found True"),
    O("name-duplicate", [("layers[1].name", "conv1")],
      "layers[1].name: expected a name not used before (layers[0] has it), found 'conv1'"),
    O("name-empty", [("layers[1].name", "")],
      "layers[1].name: expected a non-empty string, found ''"),
    # the shape chain
    O("chain-channels", [("layers[3].weight", coo0([3, 1, 5, 5]))],
      "layers[3] (conv2).weight.size[1]: expected 2 (the channels of the output of layers[2]), "
      "found 1"),
    O("chain-stride", [("layers[0].stride", 2)],
      "layers[6] (conv3).weight.size[2]: expected a kernel of at most 1 (the output of "
      "layers[5] is 1x1 with padding 0), found 5"),
    O("chain-pool", [("layers[5].kernel", 12), ("layers[5].stride", 1)],
      "layers[5] (conv2_pool).kernel: expected at most 10 (the output of layers[4] is 10x10), "
      "found 12"),
    O("chain-no-flatten", [("layers[8]", {"op": "relu", "name": "r"})],
      "layers[9] (fc1): expected a flat input (add a flatten op; the output of layers[8] has "
      "shape [4, 1, 1]), found shape [4, 1, 1]"),
    O("chain-conv-after-flatten", [("layers[2]", {"op": "flatten", "name": "f0"})],
      "layers[3] (conv2): expected a [C, H, W] input (the flattened output of layers[2]), "
      "found shape [1568]"),
    O("chain-flat-output", [("layers", N["layers"][:7]), ("output", CONV3)],
      "layers[6]: expected a flat network output (end with a linear or flatten op), found "
      "shape [4, 1, 1]"),
]

M = random_model(5, legacy=False)

WRITER_CASES = [
    Case("to-native-layout", lambda: to_native(M, layout="bsr"),
         "layout: expected one of 'dense', 'coo', 'csr', 'csc', found 'bsr'"),
    Case("to-native-op", lambda: to_native(dataclasses.replace(M, ops=M.ops + [object()])),
         f"ops[{len(M.ops)}]: expected conv2d, linear, relu, maxpool2d or flatten, found an op "
         "of type object"),
]

CASES = LOAD_CASES + WRITER_CASES


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_message(case):
    check(case)


def test_case_ids_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------------------------
# What valid files mean


def test_fixture_is_the_legacy_twin():
    own = load_model(FIXTURES / "tiny.fpgac.yml")
    legacy = load_model(FIXTURES / "tiny_int.yml")
    assert own.source_format == "fpgac" and own.name == "tiny_int"
    assert_same_model(own, legacy)


def test_defaults():
    doc = edit(N, ("name", DELETE), ("rounding", DELETE), ("layers[0].stride", DELETE),
               ("layers[6].padding", DELETE), ("layers[1].name", DELETE),
               ("layers[2]", {"op": "maxpool2d"}), ("layers[8]", {"op": "flatten"}))
    model = from_native(doc, "d.yml")
    assert model.name == "model" and model.rounding == "floor"
    assert (model.input.mean, model.input.std) == (0.5, 0.5)
    assert model.ops[0].stride == 1 and model.ops[6].padding == 0
    assert [op.name for op in model.ops[1:3]] == ["conv1_relu", "conv1_pool"]
    assert (model.ops[2].kernel, model.ops[2].stride) == (2, 2)
    assert isinstance(model.ops[8], Flatten) and model.ops[8].name == "flatten"
    assert not any(op.relu for op in model.weighted)
    pool = from_native(edit(N, ("layers[2]", {"op": "maxpool2d", "kernel": 3}),
                            ("layers[6].weight", coo0([4, 3, 2, 2]))), "p.yml").ops[2]
    assert (pool.kernel, pool.stride) == (3, 3)          # stride defaults to the kernel


def test_unnamed_ops_get_unique_names():
    doc = edit(N, ("layers[1]", {"op": "relu"}))
    doc["layers"].insert(2, {"op": "relu"})
    model = from_native(doc, "u.yml")
    assert [op.name for op in model.ops[1:3]] == ["conv1_relu", "conv1_relu2"]


def test_explicit_options():
    doc = edit(N, ("rounding", "half_up"), ("input.preprocess", {"mean": 0.1307, "std": 0.3081}),
               ("layers[9].relu", True), ("layers[10]", DELETE))
    model = from_native(doc, "o.yml")
    assert model.rounding == "half_up"
    assert (model.input.mean, model.input.std) == (0.1307, 0.3081)
    assert model.ops[9].relu and len(model.ops) == 11


def test_load_model_overrides_preprocessing():
    model = load_model(FIXTURES / "tiny.fpgac.yml", mean=0.25)
    assert (model.input.mean, model.input.std) == (0.25, 0.5)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("legacy", [True, False])
def test_round_trip_every_layout(layout, legacy, tmp_path):
    model = random_model(11, legacy=legacy)
    path = tmp_path / f"m_{layout}.yml"
    save_model(model, path, layout=layout)
    doc = load_yaml(path)
    assert doc["format"] == FORMAT and list(doc)[0] == "format"
    weight = doc["layers"][0]["weight"]
    assert weight["layout"] == layout
    assert_same_model(model, load_model(path))


def test_to_native_keeps_float_scales_exact():
    model = random_model(7, legacy=False)
    model = dataclasses.replace(model, out_q=QuantParams(0.1 + 0.2, model.out_q.zero_point))
    doc = to_native(model)
    assert doc["output"]["scale"] == 0.1 + 0.2
