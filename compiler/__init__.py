"""Model files -> IR -> passes -> hardware plan. See ``docs/architecture.md``."""
