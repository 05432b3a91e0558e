"""fpgac: from a pruned, quantized PyTorch CNN to a bit-exact sparse FPGA accelerator.

Subpackages: :mod:`fpgac.compiler` (IR, model files, passes, hardware plan),
:mod:`fpgac.sim` (golden integer model, RTL simulation), :mod:`fpgac.hw` (Amaranth core),
:mod:`fpgac.boards` (board harness and builds), :mod:`fpgac.compress` (PyTorch side).
"""

__version__ = "0.1.0"
