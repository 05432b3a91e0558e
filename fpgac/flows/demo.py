"""The demo flow: eval + verify + build on the shipped default model (or a given one).

:func:`demo` runs, in order, :func:`fpgac.flows.eval.evaluate` (the golden model on the MNIST
test set), :func:`fpgac.flows.verify.verify` (the Verilog simulated on the first ``images``
test images, bit-exact and cycle-exact) and :func:`fpgac.flows.build.build` for the Arty A7
(Verilog, XDC, Vivado scripts, ROM images, report; ``pnr`` adds the ``synth_xilinx`` resource
estimate). ``fpgac demo`` prints each step's line as soon as the step is done.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["DEFAULT_MODEL", "default_model", "default_out_dir", "demo"]

#: The shipped model the demo, ``fpgac run`` and the README use when no model is given.
DEFAULT_MODEL = "lenet5_g90_8b.yml"


def default_model() -> Path:
    """Path of the shipped default example model."""
    return Path(str(resources.files("fpgac.examples") / DEFAULT_MODEL))


def default_out_dir(model_path) -> Path:
    """``build/<model>-arty``, ``<model>`` being the file name up to its first dot."""
    return Path(f"build/{Path(model_path).name.split('.')[0]}-arty")


def demo(model_path=None, *, images: int = 500, limit: int | None = None, pes: int = 16,
         out_dir=None, build_dir=None, pnr: bool = False, progress=None, done=None) -> dict:
    """Run eval, verify and the Arty build; return ``{"eval", "verify", "build", "passed"}``.

    ``progress(text)`` is called before every stage; ``done(step, result)`` after each of the
    three steps (``step`` is ``"eval"``, ``"verify"`` or ``"build"``, ``result`` its dict), so
    that a caller can show a step's result before the next one starts. ``passed`` is the verify
    verdict (bit-exact and cycle-exact). Raises :class:`fpgac.errors.FpgacError` for a bad
    model or option.
    """
    from fpgac.flows.build import build
    from fpgac.flows.eval import evaluate
    from fpgac.flows.verify import verify

    stage = progress or (lambda text: None)
    finished = done or (lambda step, result: None)
    model = Path(model_path) if model_path else default_model()
    out = Path(out_dir) if out_dir is not None else default_out_dir(model)
    stage("golden model on the MNIST test set")
    ev = evaluate(model, limit=limit)
    finished("eval", ev)
    # the core the Arty build below makes (its weight banks and activation copies), not the
    # generic plan: the build's figures are then those of the verified design
    v = verify(model, images=images, pes=pes, build_dir=build_dir, progress=progress,
               board="arty")
    finished("verify", v)
    stage("Arty A7 build")
    report = build(model, "arty", pes=pes, out_dir=out, pnr=pnr, progress=progress)
    finished("build", report)
    return {"eval": ev, "verify": v, "build": report, "out_dir": out,
            "passed": bool(v["passed"])}
