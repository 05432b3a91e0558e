"""The convert flow: a legacy file, its topology stated once, written in fpgac's own format.

:func:`convert` is what ``fpgac convert`` runs (the command's module doc says why and how);
``bench/legacy_bench.py`` and the tests call it too.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["convert"]


def convert(model_path, output, *, padding=None, pool=None, rounding: str = "floor",
            input_clamp: bool = False, layout: str = "coo", mean=None, std=None):
    """Load a legacy file with the stated topology and write it in fpgac's own format.

    Returns the written :class:`~fpgac.compiler.ir.Model` (its ``topology`` says which reading
    was used).

    Raises
    ------
    FpgacError
        The input is not a legacy file, the stated topology leaves none or several readings
        (the message lists them), or the output cannot be written.
    """
    import dataclasses

    from fpgac.compiler.frontend import load_model, save_model
    from fpgac.compiler.frontend.yamlio import load_yaml
    from fpgac.errors import FpgacError
    from fpgac.sim.mnist import candidate_accuracy

    doc = load_yaml(model_path)
    if not (isinstance(doc, dict) and "head" in doc):
        raise FpgacError(f"{model_path}: expected a legacy file (head: int_values), found "
                         "another file (an fpgac-model file states its topology already)")
    model = load_model(model_path, mean=mean, std=std, padding=padding, pool=pool,
                       hint=candidate_accuracy)
    topology = model.topology
    model = dataclasses.replace(
        model, rounding=rounding, source_format="fpgac",
        input=dataclasses.replace(model.input, clamp=bool(input_clamp)))
    model.topology = topology
    out = Path(output)
    if not out.parent.is_dir():
        raise FpgacError(f"-o: expected a file in an existing directory, found {str(out)!r}")
    try:
        save_model(model, out, layout=layout)
    except OSError as exc:
        raise FpgacError(f"-o: expected a writable file, found {exc.strerror or exc} "
                         f"({str(out)!r})") from None
    return model
