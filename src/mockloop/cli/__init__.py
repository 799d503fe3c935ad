"""The `mockloop` command: a thin layer over the library, one module per area.

bank.py (bank list, bank show) · notes.py (ingest, search, stats, forget, eval retrieval) ·
grading.py (grade, calibrate, eval grading) · interview.py (interview, sessions, resume, report, eval interviewer) ·
progress.py (progress, plan) · serve.py (serve) · coding.py (coding list, show, check).
"""

from mockloop.cli import (  # noqa: F401  (registers commands)
    bank,
    coding,
    grading,
    interview,
    notes,
    progress,
    serve,
)
from mockloop.cli.app import app


def main() -> None:
    app()
