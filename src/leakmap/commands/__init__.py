"""CLI commands, one module each; each exposes ``register(app)``."""
