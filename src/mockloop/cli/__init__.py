"""The `mockloop` command: a thin layer over the library, one module per area.

notes.py (ingest, search, stats, forget, eval retrieval) · grading.py (grade, calibrate,
eval grading) · interview.py (interview, sessions, resume, report, eval interviewer) ·
progress.py (progress, plan) · serve.py (serve) · coding.py (coding list, show, check).
"""

from mockloop.cli import coding, grading, interview, notes, progress, serve  # noqa: F401  (registers commands)
from mockloop.cli.app import app


def main() -> None:
    app()
