"""IR -> IR transformations, one per module, each stating its contract in its docstring."""
