"""`mockloop` commands for interview."""

from mockloop.cli.app import app, eval_app  # noqa: F401
