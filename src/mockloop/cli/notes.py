"""`mockloop` commands for notes."""

from mockloop.cli.app import app, eval_app  # noqa: F401
