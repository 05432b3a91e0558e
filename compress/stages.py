"""The stage kinds of the compression pipeline, each registered in :mod:`.registry`.

A stage is ``{kind: {parameters}}`` in a config's ``stages:`` list (or one step of the fixed
``fpgac compress`` preset, :func:`fpgac.compress.config.preset_stages`). Every kind below runs
``run(run, params, seed)`` on the shared :class:`~fpgac.compress.registry.Run` state and returns
the ``info`` of its table row. ``seed`` is the stage's ``seed`` parameter when given, else the
run's seed ``+ 101 * (index + 1)``. The kinds, in the order of the docs:

``train`` / ``finetune``, ``distill``, ``prune``, ``prune_macs``, ``prune_filters``,
``sensitivity``, ``lowrank``, ``quantize``, ``qat``, ``check``, ``export``.

Fine-tuning parameters of the pruning kinds are ``finetune_<key>`` (``epochs``, ``lr``,
``batch_size``, ``optimizer``, ``shift``); the fine-tuning after pruning step ``k`` (from 0)
of ``prune`` uses the seed ``seed + k``.
"""

from __future__ import annotations

from fpgac.errors import FpgacError, ModelError

from .data import calibration_set
from .models import build_cnn, config_spec
from .prune import prune_model
from .quantize import calibrate, quantize_model
from .registry import LAYOUTS, Run, stage
from .strategies.costs import footprint
from .strategies.distill import distill
from .strategies.filters import prune_filters
from .strategies.lowrank import factorize_linear
from .strategies.macs import prune_macs_iterative
from .strategies.qat import export_qat, qat_train
from .strategies.sensitivity import DEFAULT_RATIOS, allocate, apply_ratios, sensitivity_analysis

__all__: list[str] = []

_TRAIN = {"epochs": 10, "lr": 2e-3, "batch_size": 64, "optimizer": "adam",
          "weight_decay": 0.0, "shift": 2}
_FT = {"finetune_epochs": 2, "finetune_lr": 5e-4, "finetune_batch_size": 64,
       "finetune_optimizer": "adam", "finetune_shift": 2}
_Q = {"bits": 8, "calib": 1000, "percentile": 99.99, "rounding": "floor"}


@stage("train", dict(_TRAIN))
def _train(run: Run, p: dict, seed: int) -> dict:
    """Train the current network (zero weights held at 0 once pruned)."""
    return {"losses": run.fit(lambda: run.train(run.train_cfg(p, seed), "train"))}


@stage("finetune", {**_TRAIN, "epochs": 3, "lr": 5e-4})
def _finetune(run: Run, p: dict, seed: int) -> dict:
    """Train the current network again (zero weights held at 0 once pruned)."""
    return {"losses": run.fit(lambda: run.train(run.train_cfg(p, seed), "finetune"))}


def _check_distill(p: dict, where, shape: tuple) -> None:
    config_spec(p["teacher"], shape, where("teacher"))
    for j, pair in enumerate(p["features"]):
        if (not isinstance(pair, list) or len(pair) != 2
                or not all(isinstance(s, str) for s in pair)):
            raise ModelError(f"{where('features')}[{j}]", "a pair [student_layer, "
                             "teacher_layer]", pair)


@stage("distill", {**_TRAIN, "teacher": "lenet5", "teacher_epochs": 10, "teacher_lr": 2e-3,
                   "alpha": 0.7, "temperature": 4.0, "features": [], "feature_weight": 1.0},
       types={"teacher": (str, list)}, check=_check_distill)
def _distill(run: Run, p: dict, seed: int) -> dict:
    """Train a teacher, then the current network as its student (soft targets, features)."""
    teacher = build_cnn(config_spec(p["teacher"], run.shape, "teacher", run.source), run.shape,
                        seed=seed)
    run.train(run.train_cfg(p, seed, "teacher_"), "teacher", model=teacher)
    from .train import evaluate

    info = {"teacher_acc": evaluate(teacher, run.test_set),
            "teacher": footprint(teacher).as_dict()}
    info["losses"] = run.fit(lambda: distill(
        run.model, teacher, run.train_set, run.train_cfg(p, seed + 1), alpha=p["alpha"],
        temperature=p["temperature"], features=[tuple(f) for f in p["features"]],
        feature_weight=p["feature_weight"]))
    return info


@stage("prune", {"method": "global-l1", "amount": 0.9, "iterations": 1, "dim": 0, "norm": 2,
                 "threshold": 0.05, **_FT},
       types={"norm": float}, sparsifies=True)
def _prune(run: Run, p: dict, seed: int) -> dict:
    """``prune_model`` in ``iterations`` composed steps, fine-tuning after every step."""
    steps = p["iterations"]

    def finetune(k: int) -> None:
        run.train(run.train_cfg(p, seed + k, "finetune_"), f"fine-tune {k + 1}/{steps}")

    run.say(f"[{run.name}] pruning: {p['method']} to {p['amount']:.0%} in {steps} step(s), "
            f"{run.epochs(p['finetune_epochs'])} fine-tune epochs per step")
    prune_model(run.model, p["method"], p["amount"], steps, between=finetune, dim=p["dim"],
                norm=p["norm"], custom_kwargs={"threshold": p["threshold"]})
    run.masked_finetune(run.train_cfg(p, seed + steps - 1, "finetune_"),
                        f"fine-tune {steps}/{steps}")
    return {}


@stage("prune_macs", {"reduction": 5.0, "alpha": 0.0, "normalize": False, "steps": 1, **_FT},
       sparsifies=True)
def _prune_macs(run: Run, p: dict, seed: int) -> dict:
    """MAC-aware global pruning in ``steps`` steps, fine-tuning after every step."""
    ft = run.train_cfg(p, seed, "finetune_")
    res = prune_macs_iterative(run.model, p["reduction"], p["steps"], alpha=p["alpha"],
                               normalize=p["normalize"],
                               between=lambda k: run.train(ft, "fine-tune"))
    run.masked_finetune(ft)
    return {"after_prune": res["after"].as_dict()}


@stage("prune_filters", {"ratio": 0.5, "include_linear": False, "layers": None, **_FT},
       types={"layers": (list, type(None))})
def _prune_filters(run: Run, p: dict, seed: int) -> dict:
    """Remove the lowest-L1 filters (the network shrinks), then fine-tune."""
    run.model = prune_filters(run.model, p["ratio"], layers=p["layers"],
                              include_linear=p["include_linear"])
    run.fit(lambda: run.train(run.train_cfg(p, seed, "finetune_"), "fine-tune"))
    return {"spec": run.model.spec}


def _one_target(p: dict, where, shape: tuple) -> None:
    if (p["params_x"] is None) == (p["macs_x"] is None):
        raise ModelError(where("macs_x"), "exactly one of params_x, macs_x", p["macs_x"])


@stage("sensitivity", {"params_x": None, "macs_x": None, "ratios": list(DEFAULT_RATIOS),
                       "eval": 1000, **_FT},
       types={"params_x": (float, type(None)), "macs_x": (float, type(None))},
       check=_one_target, sparsifies=True)
def _sensitivity(run: Run, p: dict, seed: int) -> dict:
    """Per-layer sensitivity curves, ratios for the target, prune, fine-tune."""
    sens = sensitivity_analysis(run.model, calibration_set(run.train_set, run.cap(p["eval"]),
                                                           seed), ratios=p["ratios"])
    ratios = allocate(sens, params_x=p["params_x"], macs_x=p["macs_x"])
    stem = run.out / f"{run.name}.sensitivity"
    sens.to_json(f"{stem}.json")
    sens.to_csv(f"{stem}.csv")
    sens.plot(f"{stem}.png")
    run.files.update({"sensitivity_json": f"{stem}.json", "sensitivity_csv": f"{stem}.csv",
                      "sensitivity_png": f"{stem}.png"})
    apply_ratios(run.model, ratios)
    run.masked_finetune(run.train_cfg(p, seed, "finetune_"))
    return {"ratios": ratios}


def _rank_or_energy(p: dict, where, shape: tuple) -> None:
    if (p["rank"] is None) == (p["energy"] is None):
        raise ModelError(where("energy"), "exactly one of rank, energy", p["energy"])


@stage("lowrank", {"layer": "fc1", "rank": None, "energy": None, **_FT},
       types={"rank": (int, type(None)), "energy": (float, type(None))},
       check=_rank_or_energy)
def _lowrank(run: Run, p: dict, seed: int) -> dict:
    """Truncated-SVD factorization of a linear layer, then fine-tune."""
    run.model, report = factorize_linear(run.model, p["layer"], rank=p["rank"],
                                         energy=p["energy"])
    run.fit(lambda: run.train(run.train_cfg(p, seed, "finetune_"), "fine-tune"))
    return {"lowrank": report, "spec": run.model.spec}


@stage("quantize", dict(_Q), changes_float=False, makes_int=True)
def _quantize(run: Run, p: dict, seed: int) -> dict:
    """Post-training quantization: calibrate on ``calib`` training images, quantize."""
    calib = calibration_set(run.train_set, run.cap(p["calib"]), seed)
    ranges = calibrate(run.model, calib, p["percentile"])
    run.qmodel = quantize_model(run.model, ranges, p["bits"], name=run.name,
                                rounding=p["rounding"])
    return {}


@stage("qat", {**_Q, "epochs": 2, "lr": 5e-4, "batch_size": 64, "optimizer": "adam",
               "weight_decay": 0.0, "shift": 2}, changes_float=False, makes_int=True)
def _qat(run: Run, p: dict, seed: int) -> dict:
    """Quantization-aware training, exported through the post-training quantizer."""
    calib = calibration_set(run.train_set, run.cap(p["calib"]), seed)
    net = run.fit(lambda: qat_train(run.model, run.train_set, run.train_cfg(p, seed),
                                    p["bits"], calib=calib, percentile=p["percentile"],
                                    rounding=p["rounding"], progress=run.progress))
    run.qmodel = export_qat(net, name=run.name)
    return {}


@stage("check", {}, seeded=False, changes_float=False, needs_int=True)
def _check(run: Run, p: dict, seed: int) -> dict:
    """Run the golden model on the test images: 0 images may differ from the integer mode."""
    from .pipeline import golden_check

    acc, mismatches = golden_check(run.qmodel, run.test_set, run.int_logits().numpy())
    if mismatches:
        raise FpgacError(f"check: {run.name}: integer mode and golden model disagree on "
                         f"{mismatches} images: expected 0")
    return {"golden_acc": acc, "golden_mismatches": mismatches}


def _check_export(p: dict, where, shape: tuple) -> None:
    for i, lay in enumerate(p["own_layouts"]):
        if lay not in LAYOUTS:
            raise ModelError(f"{where('own_layouts')}[{i}]", "one of " + ", ".join(LAYOUTS),
                             lay)


@stage("export", {"legacy": True, "layout": "coo", "own_layouts": ["coo"],
                  "legacy_dense": False, "legacy_float": True,
                  "legacy_int_name": "{name}_int.yml", "legacy_layout": "coo",
                  "legacy_fallback": True},
       seeded=False, check=_check_export, changes_float=False, needs_int=True)
def _export(run: Run, p: dict, seed: int) -> dict:
    """Write the model files, reload every integer one: golden = integer mode on every image.

    With ``legacy_fallback`` a model the legacy topology cannot express is written in the own
    format only (``info.legacy_skipped`` says why); without it that is an error.
    """
    from .export import export_all
    from .pipeline import check_exports

    info: dict = {}
    opts = {k: p[k] for k in ("layout", "own_layouts", "legacy_dense", "legacy_float",
                              "legacy_int_name", "legacy_layout")}
    try:
        written = export_all(run.qmodel, run.out, run.name, legacy=p["legacy"], **opts)
    except ModelError as exc:           # the legacy topology cannot express this model
        if not (p["legacy"] and p["legacy_fallback"]):
            raise
        info["legacy_skipped"] = str(exc)
        written = export_all(run.qmodel, run.out, run.name, legacy=False, **opts)
    run.files.update(written)
    logits = run.int_logits().numpy()
    info["roundtrip_mismatches"] = check_exports(written, run.test_set, logits)
    bad = {k: n for k, n in info["roundtrip_mismatches"].items() if n}
    if bad:
        raise FpgacError(f"export: {run.name}: expected every reloaded file to match the "
                         f"integer mode on every test image (golden), found mismatches {bad}")
    # every reloaded file ran bit-exactly as the integer mode: the same accuracy
    info["golden_acc"] = float((logits.argmax(1) == run.test_set.labels.numpy()).mean())
    return info
