"""The eval flow: the golden integer model of a model file on the MNIST test set.

:func:`evaluate` loads the model (either YAML format), quantizes the test images with the
model's pixel table, runs :mod:`fpgac.sim.golden` and returns the accuracy, the speed, the
logits and the confusion matrix (``fpgac eval`` prints them).
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["evaluate"]


def evaluate(model_path, *, data_dir=None, limit: int | None = None,
             mean: float | None = None, std: float | None = None,
             progress: bool = False) -> dict:
    """Evaluate a model file with the golden model on the MNIST test set.

    Parameters
    ----------
    model_path
        The model file.
    data_dir
        MNIST directory, or ``None`` for the shipped test set.
    limit
        Use only the first ``limit`` images (``None``: all 10,000).
    mean, std
        Override the model's input preprocessing.
    progress
        Show a ``rich`` progress bar (on stderr).

    Returns
    -------
    dict
        ``model`` (name), ``images``, ``correct``, ``accuracy`` (fraction), ``seconds`` (golden
        run only), ``images_per_s``, ``logits`` (``int64 [N, classes]``), ``predicted``
        (``int64 [N]``), ``labels`` (``int64 [N]``), ``confusion`` (``int64 [10, classes]``:
        row = true label, column = predicted class) and ``legacy``: ``None``, or for a legacy
        file the dict of :func:`fpgac.sim.toolmode.compare_with_tool` plus ``topology``.

    Raises
    ------
    FpgacError
        Bad model file, bad data directory, bad ``limit``.
    """
    from fpgac.compiler.frontend import load_model
    from fpgac.sim.mnist import candidate_accuracy
    from fpgac.errors import FpgacError
    from fpgac.sim import golden
    from fpgac.sim.mnist import load_mnist
    from fpgac.sim.preprocess import quantize_images

    if limit is not None and limit < 1:
        raise FpgacError(f"--limit: expected a positive integer, found {limit}")
    model = load_model(model_path, mean=mean, std=std, hint=candidate_accuracy)
    images, labels = load_mnist("test", data_dir)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    start = time.perf_counter()
    q = quantize_images(images, model.input)
    logits = golden.run(model, q, progress=progress)
    seconds = time.perf_counter() - start
    predicted = np.argmax(logits, axis=1).astype(np.int64)
    labels = labels.astype(np.int64)
    classes = logits.shape[1]
    confusion = np.zeros((10, classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    correct = int((predicted == labels).sum())
    legacy = None
    if model.source_format == "legacy":
        from fpgac.sim.toolmode import compare_with_tool
        legacy = compare_with_tool(model, images, labels, correct / labels.size,
                                   source=str(model_path))
        legacy["topology"] = model.topology
    return {
        "legacy": legacy,
        "model": model.name, "images": int(labels.size), "correct": correct,
        "accuracy": correct / labels.size, "seconds": seconds,
        "images_per_s": labels.size / seconds if seconds > 0 else float("inf"),
        "logits": logits, "predicted": predicted, "labels": labels, "confusion": confusion,
    }
