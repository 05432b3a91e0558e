"""The flows behind the ``fpgac`` commands, as library functions.

Each flow is one function that takes paths and options, does the whole job and returns its
figures as a dict; it prints nothing (an optional ``progress`` callable is told each stage).
The commands in :mod:`fpgac.commands` only parse arguments, call a flow and print its result;
``bench/`` and the tests call the flows directly.

* :func:`fpgac.flows.eval.evaluate`: the golden integer model on the MNIST test set;
* :func:`fpgac.flows.verify.verify`: the emitted RTL simulated against the golden model;
* :func:`fpgac.flows.build.build`: the accelerator + board harness, tools and report;
* :func:`fpgac.flows.demo.demo`: eval + verify + build on the shipped default model;
* :func:`fpgac.flows.convert.convert`: a legacy file written in fpgac's own format, its
  topology stated.
"""
