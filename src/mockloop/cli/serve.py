"""`mockloop` commands for serve."""

from mockloop.cli.app import app, eval_app  # noqa: F401
