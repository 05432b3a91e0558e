"""``fpgac eval`` end to end on a small synthetic model saved in fpgac's own format."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fpgac.cli import main
from fpgac.flows.eval import evaluate
from fpgac.compiler.frontend import save_model
from fpgac.errors import FpgacError
from fpgac.compiler.ir import Flatten, InputSpec, Linear, MaxPool2d, Model, QuantParams, ReLU
from fpgac.sim import golden
from fpgac.sim.mnist import load_mnist


def template_model() -> Model:
    """A nearest-template classifier: 4x4 max-pool, then one linear layer whose rows are the
    8-bit quantized (class mean - overall mean) of the pooled train5k images (~60 % on MNIST)."""
    images, labels = load_mnist("train5k")
    pooled = images.reshape(-1, 7, 4, 7, 4).max(axis=(2, 4)).reshape(-1, 49) / 255 * 2 - 1
    means = np.stack([pooled[labels == c].mean(axis=0) for c in range(10)])
    centred = means - means.mean(axis=0)
    w_scale = float(np.abs(centred).max() / 127)
    weight = np.clip(np.round(centred / w_scale) + 128, 0, 255).astype(np.int64)
    n = 8
    fc = Linear("fc", weight, None, QuantParams(2 / 255, 128), QuantParams(0.5, 128), w_scale,
                128, mn=10, mqm0=180, n_bits=n)
    return Model(InputSpec((1, 28, 28), QuantParams(2 / 255, 128), n),
                 [MaxPool2d(4, 4), Flatten(), fc], QuantParams(0.5, 128), name="template")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> tuple[Path, Model]:
    model = template_model()
    path = tmp_path_factory.mktemp("eval") / "template.yml"
    save_model(model, path)
    return path, model


def test_eval_prints_accuracy_and_saves_logits(model_file, tmp_path, capsys):
    path, model = model_file
    out = tmp_path / "logits.npy"
    assert main(["eval", str(path), "--limit", "500", "--save-logits", str(out)]) == 0
    text = capsys.readouterr().out
    images, labels = load_mnist("test")
    want_logits, want_classes = golden.predict(model, images[:500])
    logits = np.load(out)
    assert logits.dtype == np.int64 and logits.shape == (500, 10)
    np.testing.assert_array_equal(logits, want_logits)
    correct = int((want_classes == labels[:500]).sum())
    assert correct > 250                                   # a real classifier, not noise
    assert f"accuracy {correct / 500:.2%} ({correct}/500)" in text
    assert "images/s" in text and "confusion" in text and "recall" in text


def test_evaluate_confusion_and_preprocessing_override(model_file, tmp_path):
    path, model = model_file
    # The override maps pixels past [0, 256]: refused, unless the file states a clamp.
    with pytest.raises(FpgacError, match=r"input.scale: expected a scale and zero point that "
                                         r"map every pixel into \[0, 256\]"):
        evaluate(path, limit=3, mean=0.1307, std=0.3081)
    model = dataclasses.replace(model, input=dataclasses.replace(model.input, clamp=True))
    path = tmp_path / "clamped.yml"
    save_model(model, path)
    result = evaluate(path, limit=300, mean=0.1307, std=0.3081)
    images, labels = load_mnist("test")
    spec = dataclasses.replace(model.input, mean=0.1307, std=0.3081)
    want, classes = golden.predict(dataclasses.replace(model, input=spec), images[:300])
    np.testing.assert_array_equal(result["logits"], want)
    default = evaluate(path, limit=300)["logits"]
    assert (default != want).any()                         # the override changed the inputs
    conf = result["confusion"]
    assert conf.shape == (10, 10) and conf.sum() == 300
    assert np.trace(conf) == result["correct"] == int((classes == labels[:300]).sum())
    np.testing.assert_array_equal(conf.sum(axis=1), np.bincount(labels[:300], minlength=10))


def test_eval_fused_and_unfused_relu_give_same_logits(tmp_path):
    model = template_model()
    fc = model.ops[-1]
    unfused = dataclasses.replace(model, ops=model.ops + [ReLU()])
    fused = dataclasses.replace(model, ops=model.ops[:-1] + [dataclasses.replace(fc, relu=True)])
    a, b = tmp_path / "a.yml", tmp_path / "b.yml"
    save_model(unfused, a)
    save_model(fused, b)
    la = evaluate(a, limit=50)["logits"]
    np.testing.assert_array_equal(la, golden.predict(fused, load_mnist("test")[0][:50])[0])
    assert la.min() >= 128 and (la == 128).any()           # the ReLU did clamp something
    if "relu" in b.read_text():                            # the format may store fused ReLUs
        np.testing.assert_array_equal(evaluate(b, limit=50)["logits"], la)


def test_eval_user_errors_are_one_line(model_file, tmp_path):
    path, _ = model_file
    bad = tmp_path / "bad.yml"
    bad.write_text("format: fpgac-model/1\nops: 3\n")
    cases = [
        ([str(tmp_path / "missing.yml")], "missing.yml"),
        ([str(bad)], "bad.yml"),
        ([str(path), "--data", str(tmp_path)], "t10k images: expected one of"),
        ([str(path), "--save-logits", str(tmp_path / "no" / "x.npy")],
         "--save-logits: expected a file in an existing directory"),
    ]
    for argv, needle in cases:
        proc = subprocess.run([sys.executable, "-m", "fpgac", "eval", *argv],
                              capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("fpgac eval: error: "), proc.stderr
        assert needle in lines[0]
        assert "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "fpgac", "eval", str(path), "--limit", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "expected a positive integer, found 0" in proc.stderr


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "models"


def _legacy_with(old: str, new: str, name: str = "tiny_int.yml") -> str:
    text = (FIXTURES / name).read_text()
    assert text.count(old) == 1
    return text.replace(old, new)


BAD_FILES = [
    ("syntax", "head: int_values\nlayers: [\n",
     "line 3, column 1: invalid YAML (while parsing a flow node): did not find expected node "
     "content"),
    ("python-tag", "head: !!python/object/apply:os.system ['echo pwned']\n",
     "head: expected plain YAML data (mappings, lists, strings, numbers, booleans, null), found a "
     "tag !!python/object/apply:os.system"),
    ("version", "format: fpgac-model/9\n", "format: expected 'fpgac-model/1', found "
     "'fpgac-model/9'"),
    ("empty", "", "(top level): expected a mapping with 'format: fpgac-model/1' or 'head: "
     "int_values', found a null value"),
    ("wz-range", _legacy_with("  ws: 0.0047\n  wz: 117\n", "  ws: 0.0047\n  wz: 300\n"),
     "layers[0].wz: expected an integer in [0, 255], found 300"),
    ("chain", _legacy_with("    size:\n    - 5\n    - 4\n", "    size:\n    - 5\n    - 6\n",
                           "tiny_int_coo.yml"), None),
]


@pytest.mark.parametrize("name, text, message", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_eval_bad_model_file_is_one_line(name, text, message, tmp_path, capsys):
    path = tmp_path / f"{name}.yml"
    path.write_text(text)
    assert main(["eval", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    if message is None:                       # the shape chain: fc1 declares 6 inputs, not 4
        assert lines[0].startswith(
            f"fpgac eval: error: {path}: topology: expected a reading of the LeNet-style family "
            "(legacy-format.md) whose shapes chain, found none: ")
        assert "layers[3] (fc1) takes 6 inputs, the readings give" in lines[0]
        assert "4 (conv1 pad 1 + pool, conv2 + pool, conv3)" in lines[0]
        assert lines[0].endswith(f"'fpgac convert {path} -o chain.fpgac.yml --padding "
                                 "P1,P2,.. --pool NAMES'")
        return
    assert lines[0] == f"fpgac eval: error: {path}: {message}"


def test_eval_bad_arguments_are_one_line(model_file, capsys):
    path, _ = model_file
    assert main(["eval", str(path), "--std", "0", "--limit", "5"]) == 2
    err = capsys.readouterr().err
    assert err == (f"fpgac eval: error: {path}: std (argument): expected a finite number > 0, "
                   "found 0.0\n")


def test_eval_deeply_nested_file_does_not_crash(tmp_path):
    # libyaml's composer recurses per level: 200k nested lists used to overflow the C stack.
    path = tmp_path / "deep.yml"
    path.write_text("a: " + "[" * 200_000 + "\n")
    proc = subprocess.run([sys.executable, "-m", "fpgac", "eval", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (f"fpgac eval: error: {path}: (document): expected at most 100 levels "
                           "of nesting, found a document nested deeper (level 101 at line 1)\n")


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "lenet5_g90_8b.yml"


@pytest.mark.slow
@pytest.mark.skipif(not EXAMPLE.exists(), reason="examples/lenet5_g90_8b.yml not shipped yet")
def test_eval_legacy_lenet5_example_classifies_mnist():
    """The shipped legacy 8-bit, 90 %-sparse LeNet-5 export (float model: 97.6 %)."""
    result = evaluate(EXAMPLE, limit=2000)
    assert result["images"] == 2000 and result["logits"].shape == (2000, 10)
    assert result["accuracy"] > 0.96
    twin = EXAMPLE.with_name("lenet5_g90_8b.fpgac.yml")
    if twin.exists():
        np.testing.assert_array_equal(evaluate(twin, limit=300)["logits"],
                                      result["logits"][:300])
