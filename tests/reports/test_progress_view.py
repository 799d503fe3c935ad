"""The Progress tab's data from the library: its totals agree with the session history."""

from __future__ import annotations

from mockloop.config import Settings
from mockloop.progress import Progress
from mockloop.reports.progress import progress_view, totals_line
from mockloop.sessions import SessionLog
from mockloop.ui import render


def test_totals_count_every_session_the_history_lists():
    p = Progress(now=None, total_answers=7, total_sessions=4)
    assert totals_line(p, 5) == "5 sessions (4 with graded answers) · 7 graded answers"
    assert totals_line(Progress(now=None, total_answers=1, total_sessions=1), 1) == (
        "1 session · 1 graded answer"
    )


def test_progress_view_reads_the_history_and_counts_sessions_without_grades(tmp_path):
    settings = Settings(home=tmp_path)
    log = SessionLog(settings)
    first = log.create("breadth", "offline", {}, {})
    log.create("mlsd", "offline", {}, {})  # started, nothing graded yet
    log.conn.close()
    view = progress_view(settings)
    assert view.session_count == 2 and view.progress.total_sessions == 0
    assert len(view.figures) == 3
    rows = render.session_rows(view.sessions)
    assert {r[0] for r in rows} == {first, view.sessions[0].id} and len(rows) == 2
    assert "ML system design" in {r[1] for r in rows}
