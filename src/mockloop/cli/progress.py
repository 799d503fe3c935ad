"""`mockloop` commands for progress."""

from mockloop.cli.app import app, eval_app  # noqa: F401
