"""What the app's buttons do: each handler calls the library and turns the result into outputs.

`UiApp(settings)` holds what all browser sessions share (the settings, one Retriever over the
store, a lock so two ingests never interleave, a folder for downloads). What one browser owns —
its interview round and chat — lives in an `InterviewState` kept in a `gr.State`, so two people
on one server never see each other's round.

Handlers hold no interview, grading or ingest logic: rounds.start_round / RoundSession,
notes.ingest, retrieval.Retriever, batch.grade_batch, progress and the reports do the work.
Errors a user can act on come back as text in the page (with any secret value redacted).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from mockloop.config import Settings
from mockloop.notes.uploads import note_folder, remove_uploaded_copies
from mockloop.redact import describe_error
from mockloop.ui import render
from mockloop.ui.uploads import BATCH_TYPES, NOTE_TYPES, received_by, stage

log = logging.getLogger("mockloop.ui")

NOTE_CHARS = 700  # how much of a cited note the feedback card shows


def friendly_error(exc: BaseException) -> str:
    """An error as the page shows it: credentials in the environment blanked (redact.py)."""
    return describe_error(exc)


@dataclass
class InterviewState:
    """One browser's round: the live session object and the chat as shown."""

    session: object | None = None  # rounds.RoundSession
    messages: list[dict] = field(default_factory=list)
    card: str = ""
    timer: str = ""
    report: str | None = None  # path of the session report once the round is over

    @property
    def running(self) -> bool:
        """A round is open (possibly with a saved answer still to grade)."""
        return self.session is not None and not self.session.finished

    @property
    def active(self) -> bool:
        """A question is waiting for an answer."""
        return self.running and self.session.current is not None

    def close(self) -> None:
        conn = getattr(getattr(getattr(self.session, "ctx", None), "log", None), "conn", None)
        if conn is not None:
            conn.close()
        self.session = None


def close_state(state) -> None:
    """gr.State delete callback: free the round's database connection when a browser leaves."""
    if isinstance(state, InterviewState):
        state.close()


class UiApp:
    """The handlers, and what every browser session shares."""

    def __init__(self, settings: Settings | None = None, provider_factory=None):
        from mockloop.llm import get_provider

        self.settings = settings or Settings.from_env()
        self.provider_factory = provider_factory or get_provider  # spec -> llm.Provider
        self.settings.ensure_home()
        self.notes_lock = threading.Lock()
        self._retriever = None
        self._retriever_lock = threading.Lock()
        self.exports = Path(tempfile.mkdtemp(prefix="mockloop-downloads-"))
        weakref.finalize(self, shutil.rmtree, self.exports, ignore_errors=True)
        self.upload_cap = int(self.settings.max_file_mb * 1024 * 1024)
        # Whether the page is served to others (a login, or a non-loopback address): then the
        # folder box may not read the server's disk (notes/uploads.note_folder says when).
        self.exposed: Callable[[], bool] = lambda: False
        # Which file paths the upload handlers may read: files in Gradio's upload folder; once
        # the page is built, only the ones its upload route received (build_app sets this).
        self.received: Callable[[str], bool] = received_by(None)

    # -- shared resources ------------------------------------------------------------------
    def retriever(self):
        """The shared Retriever, or None while the store is empty or cannot be opened."""
        with self._retriever_lock:
            if self._retriever is None:
                from mockloop.retrieval import Retriever

                try:
                    r = Retriever(self.settings)
                    if r.store.count() == 0:
                        return None
                except Exception as exc:  # noqa: BLE001 — the app works without notes
                    log.warning("notes unavailable: %s", friendly_error(exc))
                    return None
                self._retriever = r
            return self._retriever

    def warm_up(self) -> None:
        """Load the question bank, the encoder and the BM25 index before the first use."""
        try:
            from mockloop.bank import load_bank
            from mockloop.embeddings import encode

            load_bank()
            encode(["warm up"], self.settings.embed_model)
            r = self.retriever()
            if r is not None:
                r.search("warm up", k=1)
        except Exception:  # noqa: BLE001 — warming is an optimisation; the first use loads it
            log.exception("warm-up failed")

    def _notes_changed(self) -> None:
        with self._retriever_lock:
            self._retriever = None

    def export(self, path: Path) -> str:
        """A copy of a file in the downloads folder (the only place the page may fetch from)."""
        folder = Path(tempfile.mkdtemp(dir=self.exports))
        target = folder / path.name
        shutil.copyfile(path, target)
        return str(target)

    def note_texts(self, chunk_ids: list[str]) -> dict[str, str]:
        r = self.retriever()
        if r is None or not chunk_ids:
            return {}
        try:
            chunks = r.store.get(list(dict.fromkeys(chunk_ids)))
        except Exception:  # noqa: BLE001 — the card still shows the citation labels
            return {}
        return {c.id: _clip(c.text, NOTE_CHARS) for c in chunks}

    def status_md(self) -> str:
        r = self.retriever()
        if r is None:
            notes = "no notes ingested yet — add some in the **Notes** tab"
        else:
            sources = r.store.sources()
            notes = f"{render.count(len(sources), 'note')} · {render.count(sum(sources.values()), 'chunk')}"
        from mockloop.llm import safe_spec

        return f"{notes} · default model: `{safe_spec(self.settings.llm)}`"

    # -- interview -------------------------------------------------------------------------
    def round_choices(self) -> list[tuple[str, str]]:
        from mockloop.models import ROUNDS

        return [(render.ROUND_TITLES.get(r, r), r) for r in ROUNDS]

    def model_choices(self) -> list[str]:
        """'offline', then the configured MOCKLOOP_LLM (shown without credentials) as default."""
        from mockloop.llm import safe_spec

        return list(dict.fromkeys(["offline", safe_spec(self.settings.llm)]))

    def projects(self) -> list[tuple[str, str]]:
        from mockloop.rounds import list_projects

        r = self.retriever()
        if r is None:
            return []
        try:
            return [(title, source) for source, title in list_projects(self.settings, r).items()]
        except Exception:  # noqa: BLE001
            return []

    def _outputs(self, st: InterviewState, answer: str | None = ""):
        active = st.active
        report = gr.update(value=st.report, visible=st.report is not None)
        box = gr.update() if answer is None else answer
        return (
            list(st.messages),
            st.timer,
            st.card,
            box,
            gr.update(interactive=st.running),
            gr.update(interactive=active),
            gr.update(interactive=active),
            gr.update(interactive=st.running),
            report,
            st,
        )

    def start_round(self, round_name, n, feedback, llm, project, state) -> Iterator[tuple]:
        """Start a round for this browser; streams the interviewer's first question."""
        from mockloop.llm import LLMError, safe_spec
        from mockloop.rounds import start_round

        if isinstance(state, InterviewState):
            state.close()
        st = InterviewState()
        spec = (llm or "offline").strip() or "offline"
        if spec == safe_spec(self.settings.llm):  # shown without credentials; use the real one
            spec = self.settings.llm
        try:
            provider = self.provider_factory(spec)
        except LLMError as exc:
            st.messages.append(
                render.notice_message(
                    f"Could not use the model {safe_spec(spec)}: {friendly_error(exc)} "
                    "This round runs offline instead."
                )
            )
            spec, provider = "offline", self.provider_factory("offline")
        feedback = "end" if str(feedback) in ("at the end", "end") else "each"
        retriever = self.retriever()
        try:
            st.session = start_round(
                round_name,
                self.settings,
                n=int(n or 5),
                llm=spec,
                feedback=feedback,
                project=(project or None) if round_name == "deep-dive" else None,
                provider=provider,
                retriever=retriever if retriever is not None else False,
            )
        except Exception as exc:  # noqa: BLE001 — e.g. an unknown round: say so, keep the page
            st.messages.append(
                render.notice_message(f"Could not start the round: {friendly_error(exc)}")
            )
            yield self._outputs(st, answer=None)
            return
        if retriever is None:
            st.messages.append(
                render.notice_message(
                    "No notes ingested yet: questions come from the bank only. Add notes in the Notes tab."
                )
            )
        st.card = render.placeholder_card("Feedback on each answer appears here.")
        yield from self._run(st, st.session.begin_iter())

    def answer(self, text, state) -> Iterator[tuple]:
        """Send an answer; streams feedback and the next question (or the summary)."""
        from mockloop.rounds import RoundOver

        st = state if isinstance(state, InterviewState) else InterviewState()
        text = text if isinstance(text, str) else ""
        if not st.running:
            st.messages.append(
                render.notice_message("There is no open question: start a round first.")
            )
            yield self._outputs(st, answer=text)
            return
        if st.active and not text.strip():  # a stray Shift+Enter: nothing to grade yet
            st.messages.append(
                render.notice_message("Type an answer first, or press Skip to move on.")
            )
            yield self._outputs(st, answer=text)
            return
        if not st.active:  # an earlier answer was saved but its grading failed: grade it now
            st.messages.append(render.notice_message("Grading your saved answer again…"))
            yield self._outputs(st, answer=text)
            yield from self._run(st, st.session.begin_iter(), keep=text)
            return
        st.messages.append(render.user_message(text))
        st.timer = ""
        yield self._outputs(st)
        try:
            yield from self._run(st, st.session.answer_iter(text), keep=text)
        except RoundOver as exc:
            st.messages.append(render.notice_message(str(exc)))
            yield self._outputs(st)

    def hint(self, state) -> tuple:
        from mockloop.rounds import RoundOver

        st = state if isinstance(state, InterviewState) else InterviewState()
        if not st.active:
            st.messages.append(
                render.notice_message("There is no open question to give a hint for.")
            )
            return self._outputs(st, answer=None)
        try:
            st.messages.append(render.hint_message(st.session.hint().text))
        except RoundOver as exc:
            st.messages.append(render.notice_message(str(exc)))
        return self._outputs(st, answer=None)

    def skip(self, state) -> Iterator[tuple]:
        st = state if isinstance(state, InterviewState) else InterviewState()
        if not st.active:
            st.messages.append(render.notice_message("There is no open question to skip."))
            yield self._outputs(st, answer=None)
            return
        st.messages.append({"role": "user", "content": "_(skipped)_"})
        st.timer = ""
        yield from self._run(st, st.session.skip_iter())

    def design_stages(self) -> list[tuple[str, str]]:
        """The stages of a system-design review, for taking one out of order."""
        from mockloop.rounds.mlsd import STAGE_QUESTIONS

        return [(key.replace("_", " "), key) for key in STAGE_QUESTIONS]

    def goto(self, stage, state) -> Iterator[tuple]:
        """Take a later stage of a design review next (the engine checks it is allowed)."""
        st = state if isinstance(state, InterviewState) else InterviewState()
        if not st.active or not (stage or "").strip():
            why = "Pick a stage first." if st.active else "There is no open question."
            st.messages.append(render.notice_message(why))
            yield self._outputs(st, answer=None)
            return
        st.timer = ""
        yield from self._run(st, st.session.goto_iter(stage))

    def end(self, state) -> Iterator[tuple]:
        st = state if isinstance(state, InterviewState) else InterviewState()
        if not st.running:
            st.messages.append(render.notice_message("No round is running."))
            yield self._outputs(st, answer=None)
            return
        st.timer = ""
        yield from self._run(st, st.session.end_iter())

    def _run(self, st: InterviewState, steps, keep: str = "") -> Iterator[tuple]:
        """Show a round's steps as they come: streamed words, feedback cards, the summary."""
        streaming: dict | None = None
        raw = ""
        try:
            for step in steps:
                if step.kind == "delta":
                    if streaming is None:
                        streaming = {"role": "assistant", "content": ""}
                        st.messages.append(streaming)
                    raw += step.text
                    streaming["content"] = render.escape_md(raw) + " ▍"
                    yield self._outputs(st)
                    continue
                if step.kind == "ask" and streaming is not None:
                    st.messages.remove(streaming)
                    streaming, raw = None, ""
                self._show(st, step)
                yield self._outputs(st)
        except Exception as exc:  # noqa: BLE001 — the answer is in the session log; say so
            log.exception("round step failed")
            if streaming is not None and streaming in st.messages:
                st.messages.remove(streaming)
            st.messages.append(
                render.notice_message(
                    f"Something went wrong: {friendly_error(exc)}. Your answer is saved in the session "
                    "log; press Send again or End the round."
                )
            )
            self._recover(st)
            yield self._outputs(st, answer=keep)

    def _show(self, st: InterviewState, step) -> None:
        st.messages += render.step_messages(step)
        if step.kind == "ask":
            st.timer = render.timer_html(step, st.session.session_id)
        elif step.kind == "feedback":
            st.card = render.feedback_card_html(
                step, self.note_texts([c.chunk_id for c in step.grade.citations])
            )
        elif step.kind == "summary":
            st.timer = ""
            cites = [c.chunk_id for c in step.reread]
            for f in [*step.deferred, *step.finals]:
                cites += [c.chunk_id for c in f.grade.citations]
            st.card = render.summary_html(step, self.note_texts(cites))
            st.report = self._session_report(step.session_id)

    def _recover(self, st: InterviewState) -> None:
        """Reopen the round from its log after a failed step, so nothing said is lost."""
        from mockloop.rounds import resume_round

        if st.session is None:
            return
        try:
            session_id = st.session.session_id
            provider = st.session.ctx.provider
            st.close()
            retriever = self.retriever()
            st.session = resume_round(
                session_id,
                self.settings,
                provider=provider,
                retriever=retriever if retriever is not None else False,
            )
            pending = st.session.current
            if pending is not None:
                st.timer = render.timer_html(pending, session_id)
        except Exception:  # noqa: BLE001
            log.exception("could not reopen the round")

    def _session_report(self, session_id: str) -> str | None:
        from mockloop.reports.session import session_report
        from mockloop.sessions import SessionLog

        session_log = SessionLog(self.settings)
        try:
            html = session_report(session_log, session_id, fmt="html")
        except Exception:  # noqa: BLE001 — the round is over either way; the summary is shown
            log.exception("session report failed")
            return None
        finally:
            session_log.conn.close()
        path = self.settings.reports_dir / f"session-{session_id}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        return self.export(path)

    # -- notes -----------------------------------------------------------------------------
    def ingest(self, files, folder, progress=None) -> tuple:
        """Ingest uploaded files and/or a folder on this machine; report every skip."""
        from mockloop.notes.ingest import IngestSummary, ingest
        from mockloop.store import StoreError

        staged = stage(
            files,
            self.settings.home / "uploads" / "notes",
            NOTE_TYPES,
            self.upload_cap,
            received=self.received,
        )
        paths: list[Path] = list(staged.paths)
        problems = list(staged.refused)
        folder = (folder or "").strip()
        if folder:
            path, why = note_folder(folder, exposed=self.exposed())
            if path is not None:
                paths.append(path)
            else:
                problems.append((folder, why))
        if not paths:
            summary = IngestSummary(skipped=problems)
            msg = (
                render.ingest_summary_md(summary)
                if problems
                else "Choose files or name a folder first."
            )
            return (msg, *self._sources_outputs())

        def on_progress(what: str, done: int, total: int) -> None:
            if progress is not None and total:
                progress(
                    (done, total), desc=f"embedding {what}" if what == "chunks" else "reading files"
                )

        try:
            with self.notes_lock:
                summary = ingest(paths, self.settings, on_progress=on_progress, on_notice=_toast)
        except StoreError as exc:
            return (f"✗ {friendly_error(exc)}", *self._sources_outputs())
        finally:
            self._notes_changed()
        summary.skipped[:0] = problems
        said = "".join(f"\n\n{render.escape_md(line)}" for line in summary.notes)
        return (render.ingest_summary_md(summary) + said, *self._sources_outputs())

    def _sources_outputs(self) -> tuple:
        sources = self.sources()
        return (
            render.sources_rows(sources),
            gr.update(choices=list(sources), value=None),
            self.status_md(),
        )

    def sources(self) -> dict[str, int]:
        r = self.retriever()
        return r.store.sources() if r is not None else {}

    def list_sources(self) -> tuple:
        return self._sources_outputs()

    def forget(self, source) -> tuple:
        from mockloop.notes.ingest import forget

        source = (source or "").strip()
        if not source:
            return ("Pick a source to forget.", *self._sources_outputs())
        try:
            with self.notes_lock:
                removed = forget([source], self.settings)
        except Exception as exc:  # noqa: BLE001
            return (f"✗ {friendly_error(exc)}", *self._sources_outputs())
        finally:
            self._notes_changed()
        # an uploaded copy would come back with the next upload
        remove_uploaded_copies(self.settings.home / "uploads" / "notes", removed)
        msg = (
            f"Forgot {', '.join(removed)}."
            if removed
            else f"No ingested source matches {source!r}."
        )
        return (msg, *self._sources_outputs())

    def search(self, query, k=5) -> str:
        query = (query or "").strip()
        if not query:
            return ""
        r = self.retriever()
        if r is None:
            return render.placeholder_card("No notes ingested yet: add some above, then search.")
        try:
            hits = r.search(query, k=int(k or 5))
        except Exception as exc:  # noqa: BLE001
            return render.placeholder_card(f"Search failed: {friendly_error(exc)}")
        return render.hits_html(query, hits)

    # -- batch -----------------------------------------------------------------------------
    def batch_grade(self, file, round_filter, cite, progress=None) -> tuple:
        """Grade a CSV/JSONL of answers; results table and CSV/JSONL/HTML downloads."""
        from mockloop.batch import grade_batch

        hidden = gr.update(value=None, visible=False)
        if not file:
            return ("Upload a .csv or .jsonl file of answers first.", [], hidden, hidden, hidden)
        staged = stage(
            [file],
            self.settings.home / "uploads" / "batch",
            BATCH_TYPES,
            self.upload_cap,
            received=self.received,
        )
        if not staged.paths:
            name, why = staged.refused[0]
            return (
                f"✗ {render.escape_md(name)}: {render.escape_md(why)}",
                [],
                hidden,
                hidden,
                hidden,
            )
        source = staged.paths[0]
        out_dir = self.settings.reports_dir / "batch"
        out_csv = out_dir / f"{source.stem}-results.csv"
        report = out_dir / f"{source.stem}-report.html"
        retriever = self.retriever() if cite else None
        try:
            summary = grade_batch(
                source,
                self.settings,
                round_name=round_filter or None,
                out=out_csv,
                report=report,
                retriever=retriever,
                progress=progress is not None,
                on_problem=lambda line: None,
            )
        except Exception as exc:  # noqa: BLE001 — e.g. an unreadable file; nothing was lost
            return (f"✗ {friendly_error(exc)}", [], hidden, hidden, hidden)
        from mockloop.batch import write_results

        out_jsonl = write_results(summary.results, out_dir / f"{source.stem}-results.jsonl")
        files = [self.export(p) if summary.results else None for p in (out_csv, out_jsonl, report)]
        buttons = [gr.update(value=f, visible=f is not None) for f in files]
        repeats = "".join(
            f"\n\nRow {n} repeats row {first}: the same grade is given."
            for n, first in summary.duplicates
        )
        return (
            render.batch_summary_md(summary, source.name) + repeats,
            _frame(*render.batch_table(summary.results)),
            *buttons,
        )

    def example_batch(self) -> str:
        """A small example answers.csv naming real bank questions, to show the expected columns."""
        import csv

        from mockloop.bank import load_bank

        path = self.exports / "example-answers.csv"
        if path.exists():
            return str(path)
        qs = load_bank().for_round("breadth")[:3]
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "question_id", "answer"])
            for i, q in enumerate(qs, 1):
                w.writerow([f"a{i}", q.id, "Write your answer here."])
        return str(path)

    # -- progress --------------------------------------------------------------------------
    def progress(self) -> tuple:
        """Tables and plots from the progress report, plus the session history."""
        import matplotlib.pyplot as plt

        from mockloop.reports import progress as report

        view = report.progress_view(self.settings)
        for f in view.figures:
            plt.close(f)  # drawn later by gradio; closing only drops pyplot's reference
        if view.session_count:
            head = f"**{report.totals_line(view.progress, view.session_count)}**"
        else:
            head = (
                "No graded answers yet: run a round in the **Interview** tab to see your progress."
            )
        return (
            head,
            _frame(report.ROUND_HEADERS, report.round_rows(view.progress)),
            _frame(report.TOPIC_HEADERS, report.topic_rows(view.progress)),
            *view.figures,
            _frame(render.SESSION_HEADERS, render.session_rows(view.sessions)),
        )


def _toast(message: str) -> None:
    """Say something in the page while a handler still runs (a long embedding ahead)."""
    try:
        gr.Info(message, duration=15)
    except Exception:  # noqa: BLE001 — outside a request (tests, scripts) there is no page
        log.info("%s", message)


def _frame(headers: list[str], rows: list[list]):
    import pandas as pd

    return pd.DataFrame(rows, columns=headers)


def _clip(text: str, n: int) -> str:
    text = text.strip()
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"
