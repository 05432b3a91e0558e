"""Shipped example models. See ``examples/README.md`` for how each one was made."""
