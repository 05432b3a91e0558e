"""Compression strategies beyond per-layer pruning, built on :mod:`fpgac.compress`.

Every strategy works on the spec-built :class:`fpgac.compress.models.CNN` and returns a network
that the base pipeline quantizes and exports unchanged (it stays a straight chain of conv2d /
linear / relu / maxpool2d / flatten layers):

* :mod:`.costs` -- parameter and (non-zero) MAC accounting, float side and IR side.
* :mod:`.filters` -- uniform L1 filter pruning that physically shrinks the network.
* :mod:`.sensitivity` -- per-layer accuracy-vs-ratio curves and a greedy ratio allocation for a
  parameter or non-zero-MAC target.
* :mod:`.macs` -- MAC-aware global unstructured pruning (a ``BasePruningMethod`` budgeted in MACs).
* :mod:`.qat` -- quantization-aware training (fake quantization with a straight-through
  estimator) exported through the post-training quantizer's integer path.
* :mod:`.distill` -- knowledge distillation (soft targets plus optional feature losses).
* :mod:`.lowrank` -- truncated-SVD factorization of linear layers.

Each one is also a registered stage kind (:mod:`fpgac.compress.stages`), so a YAML config
chains them in order (:func:`fpgac.compress.runner.run_config`).
"""
