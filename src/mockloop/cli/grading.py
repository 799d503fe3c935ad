"""`mockloop` commands for grading."""

from mockloop.cli.app import app, eval_app  # noqa: F401
