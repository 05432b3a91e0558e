"""One module per ``fpgac`` subcommand; each provides ``register(subparsers)``."""
