"""Export a quantized model through :mod:`fpgac.compiler.frontend` (the one writer).

File names for a run called ``NAME`` in ``out_dir``:

==============================  =============================================================
``NAME_int.yml``                legacy ``int_values``, COO weights (missing entries = ``wz``);
                                the name is ``legacy_int_name`` (``{name}`` is replaced)
``NAME_int_dense.yml``          legacy ``int_values``, dense nested lists
``NAME_float_coo.yml``          legacy ``float_value``, COO (missing entries = 0.0)
``NAME_float.yml``              legacy ``float_value``, dense
``NAME.fpgac.yml``              fpgac's own format, layout ``layout`` (default ``coo``)
``NAME.<layout>.fpgac.yml``     the own format in each further layout of ``own_layouts``
==============================  =============================================================

``legacy_layout="dense"`` makes the ``legacy_int_name`` file dense (then no ``NAME_int_dense.yml``
is written). ``legacy_dense=False`` skips the two dense legacy files, ``legacy_float=False`` the two
``float_value`` files; ``legacy=False`` skips every legacy file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fpgac.compiler import ir
from fpgac.errors import FpgacError

__all__ = ["export_all", "float_weights"]


def float_weights(model: ir.Model) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """The float twin (``name -> (weight, bias)``) kept by the quantizer."""
    if not model.float_reference:
        raise FpgacError(f"export: model {model.name!r}: expected float weights "
                         "(float_reference), found none")
    return model.float_reference


def export_all(model: ir.Model, out_dir: str | Path, name: str, *, layout: str = "coo",
               legacy: bool = True, own_layouts: list[str] | tuple[str, ...] = ("coo",),
               legacy_dense: bool = True, legacy_float: bool = True,
               legacy_int_name: str = "{name}_int.yml", legacy_layout: str = "coo"
               ) -> dict[str, str]:
    """Write the files listed in the module docstring; return ``kind -> path``.

    Raises
    ------
    ModelError
        From the legacy writers when the legacy topology cannot express ``model``.
    """
    from fpgac.compiler.frontend import save_legacy, save_legacy_float, save_model

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    if legacy:
        if legacy_layout not in ("coo", "dense"):
            raise FpgacError(f"export.legacy_layout: expected 'coo' or 'dense', found "
                             f"{legacy_layout!r}")
        main = f"legacy_int_{legacy_layout}"
        files[main] = str(out / legacy_int_name.format(name=name))
        save_legacy(model, files[main], coo=legacy_layout == "coo")
        if legacy_float:
            files["legacy_float_coo"] = str(out / f"{name}_float_coo.yml")
            save_legacy_float(model, float_weights(model), files["legacy_float_coo"], coo=True)
        if legacy_dense and legacy_layout == "coo":
            files["legacy_int_dense"] = str(out / f"{name}_int_dense.yml")
            save_legacy(model, files["legacy_int_dense"], coo=False)
        if legacy_dense and legacy_float:
            files["legacy_float_dense"] = str(out / f"{name}_float.yml")
            save_legacy_float(model, float_weights(model), files["legacy_float_dense"],
                              coo=False)
    files[f"fpgac_{layout}"] = str(out / f"{name}.fpgac.yml")
    save_model(model, files[f"fpgac_{layout}"], layout=layout)
    for extra in own_layouts:
        if extra != layout:
            files[f"fpgac_{extra}"] = str(out / f"{name}.{extra}.fpgac.yml")
            save_model(model, files[f"fpgac_{extra}"], layout=extra)
    return files
