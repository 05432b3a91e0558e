"""Locate an RTL-vs-golden mismatch: the first hardware layer whose output map differs.

:func:`first_difference` re-simulates one image with the activation memory dumped after the
run (``rtl.simulate(..., dump_layers=1)``), cuts every layer's output map out of it
(:func:`fpgac.sim.rtl.layer_maps`) and compares them, in execution order, with the golden
model's per-layer outputs (weighted op with its fused ReLU / max-pool). It returns the first
layer and the first position (``(c, y, x)`` or ``(feature,)``, row-major) that differ.

A plan that reuses activation regions keeps only the last maps, so the re-simulation then
uses the *debug plan* built from ``model`` (``reuse_activations=False``: one region per map,
same schedule and arithmetic, a deeper memory); the result says which plan it ran
(``"plan": "debug"``, else ``"as built"``). A mismatch that only the reused layout shows (a
liveness or ring bug) then shows no differing layer: ``None`` with a mismatch means that.
"""

from __future__ import annotations

import numpy as np

__all__ = ["golden_layer_outputs", "first_difference", "trace_command"]

#: Plan fields the debug plan copies from the plan under test (a test may build a core with
#: other latencies than the defaults).
_LATENCIES = ("rom_latency", "lane_latency", "writer_latency", "result_latency",
              "barrier_latency", "group_latency")


def golden_layer_outputs(model, per_op: list[np.ndarray]) -> list[np.ndarray]:
    """Per hardware layer (weighted op + fused ReLU / max-pool): its golden output map."""
    from fpgac.compiler import ir

    outs: list[np.ndarray] = []
    for op, value in zip(model.ops, per_op):
        if isinstance(op, (ir.Conv2d, ir.Linear)):
            outs.append(value)
        elif isinstance(op, (ir.ReLU, ir.MaxPool2d)) and outs:
            outs[-1] = value
    return outs


def first_difference(model, plan, image: np.ndarray, *, simulator: str = "verilator",
                     build_dir=None) -> dict | None:
    """The first differing layer for one ``uint8`` image (``[C, H, W]``), or ``None``.

    Returns ``{"layer": name, "index": i, "position": [..], "rtl": v, "golden": v,
    "differing": count, "plan": "debug" | "as built"}`` (module docstring); ``None`` when
    every layer's map equals golden.
    """
    from fpgac.sim import golden, rtl
    from fpgac.sim.preprocess import quantize_images

    import dataclasses

    from fpgac.compiler.plan import plan_hardware

    img = np.asarray(image, dtype=np.uint8).reshape((1,) + tuple(model.input.shape))
    kind = "as built"
    if plan.reuse_activations:
        kind = "debug"
        debug = plan_hardware(model, pes=plan.pes, pixel_lut=plan.pixel_lut,
                              bank_ports=plan.bank_ports, reuse_activations=False,
                              weight_store=plan.weight_store)
        plan = dataclasses.replace(debug, **{f: getattr(plan, f) for f in _LATENCIES})
    res = rtl.simulate(plan, img, simulator=simulator, build_dir=build_dir, dump_layers=1)
    _, per_op = golden.run(model, quantize_images(img, model.input), intermediates=True)
    want = golden_layer_outputs(model, per_op)
    for i, (layer, got) in enumerate(zip(plan.layers, res.layers)):
        exp = np.asarray(want[i]).reshape(got.shape)[0]
        got = got[0]
        diff = np.argwhere(got != exp)
        if len(diff):
            pos = tuple(int(v) for v in diff[0])
            return {"layer": layer.name, "index": i, "position": list(pos),
                    "rtl": int(got[pos]), "golden": int(exp[pos]), "differing": int(len(diff)),
                    "plan": kind}
    return None


def trace_command(model_path, image: int, pes: int) -> str:
    """The ``fpgac verify`` command line that writes a waveform of image ``image``."""
    return (f"fpgac verify {model_path} --pes {pes} --images {image + 1} "
            f"--trace image{image}.fst --trace-image {image}")
