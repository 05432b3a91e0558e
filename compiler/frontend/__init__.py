"""YAML model files (legacy ``int_values``/``float_value`` and fpgac's own format) <-> IR."""
