"""Export round trips: every file -> load -> golden == the integer mode, exactly."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from fpgac.compiler.frontend import load_float_reference, load_model
from fpgac.compress.export import export_all
from fpgac.compress.integer import integer_forward
from fpgac.compress.pipeline import check_exports, golden_check
from fpgac.compress.tiny import tiny_model
from fpgac.errors import FpgacError

ALL = ["dense", "coo", "csr", "csc"]


@pytest.fixture(scope="module", params=[4, 8])
def exported(request, tmp_path_factory):
    """A trained, 70%-pruned tiny model exported in every format and layout."""
    model = tiny_model(5, request.param, train_images=300, epochs=1, sparsity=0.7, calib=32)
    out = tmp_path_factory.mktemp(f"export{request.param}")
    files = export_all(model, out, "tiny", layout="coo", own_layouts=ALL)
    return model, files


def test_every_file_is_written(exported):
    model, files = exported
    assert set(files) == {"legacy_int_coo", "legacy_int_dense", "legacy_float_coo",
                          "legacy_float_dense", "fpgac_coo", "fpgac_dense", "fpgac_csr",
                          "fpgac_csc"}
    heads = {k: yaml.safe_load(open(p)) for k, p in files.items()}
    assert heads["legacy_int_coo"]["head"] == "int_values"
    assert heads["legacy_float_dense"]["head"] == "float_value"
    assert heads["fpgac_csr"]["format"] == "fpgac-model/1"
    # legacy layout: top-level keys and the per-layer keys of the legacy doc
    doc = heads["legacy_int_coo"]
    assert set(doc) == {"head", "ins", "inz", "outs", "outz", "layers"}
    layer = doc["layers"][0]
    assert set(layer) == {"name", "n_bits", "ins", "inz", "outs", "outz", "ws", "wz", "bs", "bz",
                          "mn", "mqm0", "weight", "bias"}
    w = layer["weight"]
    assert set(w) == {"size", "indices", "values", "nnz"}
    assert len(w["indices"]) == 4 and all(len(r) == w["nnz"] for r in w["indices"])
    assert wz_missing(w, layer["wz"])
    assert set(heads["legacy_int_dense"]["layers"][0]["weight"]) == {"size", "data"}
    assert layer["bz"] == 0 and layer["bs"] == layer["ins"] * layer["ws"]


def wz_missing(w: dict, wz: int) -> bool:
    """COO weights list no entry equal to wz (the value of every missing entry)."""
    return wz not in w["values"]


def test_round_trip_golden_equals_integer_mode(exported, test_set):
    model, files = exported
    images = test_set.head(500)
    logits = integer_forward(model, images.pixels).numpy()
    assert check_exports(files, images, logits) == {k: 0 for k in files
                                                    if not k.startswith("legacy_float")}
    # and the loaded models are the same integers as the exported one
    own = load_model(files["fpgac_csc"])
    for a, b in zip(own.weighted, model.weighted):
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
        assert (a.mn, a.mqm0, a.w_zero_point, a.in_q, a.out_q) == (
            b.mn, b.mqm0, b.w_zero_point, b.in_q, b.out_q)
    legacy = load_model(files["legacy_int_coo"])
    assert [op.name for op in legacy.weighted] == [op.name for op in model.weighted]
    acc, mism = golden_check(legacy, images, logits)
    assert mism == 0 and 0.0 <= acc <= 1.0


def test_float_twins_hold_the_float_weights(exported):
    model, files = exported
    for kind in ("legacy_float_coo", "legacy_float_dense"):
        ref = load_float_reference(files[kind])
        for name, (w, b) in model.float_reference.items():
            assert np.array_equal(ref[name][0], w), (kind, name)
            assert np.array_equal(ref[name][1], b), (kind, name)
    own = {op.name: op for op in load_model(files["fpgac_dense"]).weighted}
    zeros = sum(int((w == 0).sum()) for w, _ in model.float_reference.values())
    assert zeros > 0.6 * sum(w.size for w, _ in model.float_reference.values())
    for name, (w, _) in model.float_reference.items():     # pruned float weights are 0.0 ...
        assert (own[name].weight[w == 0] == own[name].w_zero_point).all()   # ... and wz


def test_coo_files_are_smaller_for_a_sparse_model(exported):
    _, files = exported
    size = {k: len(open(p).read()) for k, p in files.items()}
    assert size["fpgac_csr"] < size["fpgac_dense"]
    assert size["legacy_float_coo"] < size["legacy_float_dense"]


def test_export_options(tmp_path):
    model = tiny_model(0, 8, train_images=0, sparsity=0.5, calib=8)
    files = export_all(model, tmp_path, "m", layout="csr", own_layouts=[], legacy_dense=False,
                       legacy_float=False, legacy_int_name="{name}.yml")
    assert files == {"legacy_int_coo": str(tmp_path / "m.yml"),
                     "fpgac_csr": str(tmp_path / "m.fpgac.yml")}
    files = export_all(model, tmp_path / "d", "m", layout="dense", own_layouts=[],
                       legacy_layout="dense", legacy_float=False, legacy_int_name="{name}.yml")
    assert files == {"legacy_int_dense": str(tmp_path / "d" / "m.yml"),
                     "fpgac_dense": str(tmp_path / "d" / "m.fpgac.yml")}
    assert "data" in yaml.safe_load(open(files["legacy_int_dense"]))["layers"][0]["weight"]
    with pytest.raises(FpgacError, match="export.legacy_layout: expected 'coo' or 'dense', "
                                         "found 'csr'"):
        export_all(model, tmp_path, "m", legacy_layout="csr")
