"""Pure conversions from library objects to what the Gradio app shows: chat messages and HTML.

No Gradio import and no I/O, so every function is tested without a server:

    step_messages(Ask(text="What is dropout?", index=1, total=2, ...))
      -> [{"role": "assistant", "content": "**Question 1 of 2** · regularization\\n\\nWhat is dropout?"}]
    feedback_card_html(feedback)  -> '<div class="ml-card">… 3.4/5 … lean hire …</div>'

Chat messages are plain dicts in the Chatbot's "messages" format (role, content, optional
metadata with a title: Gradio shows those as a collapsible box). Every piece of user or note text
that goes into HTML is escaped here, and its Markdown rendered safely (reports/markdown.py);
the Chatbot renders and sanitises its own Markdown.
Leaves out: calling the library (handlers.py) and layout (blocks.py).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import PurePath

from mockloop.models import Citation, Grade, Hit
from mockloop.reports.feedback import CriterionView, grade_view
from mockloop.reports.markdown import md_html, md_inline

SIGNAL_CLASS = {
    "strong no hire": "sig-0",
    "no hire": "sig-1",
    "lean hire": "sig-2",
    "hire": "sig-3",
    "strong hire": "sig-4",
}
ROUND_TITLES = {
    "breadth": "ML breadth rapid-fire",
    "mlsd": "ML system design",
    "deep-dive": "Project deep dive",
    "behavioral": "Behavioral",
    "nlp": "NLP depth",
    "ranking": "Ranking depth",
    "coding": "Coding (the Coding tab has the editor)",
}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def escape_md(text: str) -> str:
    """Text safe to drop into Markdown: no raw HTML, no accidental emphasis or headings."""
    text = html.escape(str(text), quote=False)
    return re.sub(r"([\\`*_#\[\]|])", r"\\\1", text)


def chat_md(text: str) -> str:
    """Note or grader text for the chat, whose Markdown the Chatbot renders: raw HTML escaped,
    Markdown (`**bold**`, backticks) kept, so it shows formatted rather than as marks."""
    return html.escape(str(text), quote=False)


def fmt_seconds(seconds: float | None) -> str:
    """65 -> '1:05'."""
    if seconds is None:
        return ""
    s = max(0, round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def count(n: int, noun: str) -> str:
    """count(1, 'note') -> '1 note'; count(3, 'note') -> '3 notes'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def topic_label(topic: str) -> str:
    """'loss-functions' -> 'loss functions'."""
    return re.sub(r"[-_]+", " ", topic).strip()


def signal_badge(signal: str | None) -> str:
    if not signal:
        return ""
    return f'<span class="ml-signal {SIGNAL_CLASS.get(signal, "")}">{_e(signal)}</span>'


# -- chat messages ---------------------------------------------------------------------------
def ask_message(ask) -> dict:
    """An interviewer question (or follow-up) as a chat message."""
    if ask.follow_up:
        head = "**Follow-up**"
    else:
        where = ask.stage or topic_label(ask.topic)
        head = f"**Question {ask.index} of {ask.total}** · {escape_md(where)}"
        if ask.time_budget_s:
            head += f" · {fmt_seconds(ask.time_budget_s)} to answer"
    body = f"{head}\n\n{chat_md(ask.text)}"
    if getattr(ask, "suggestion", None):  # it says where it comes from ("From your notes, …")
        body += f"\n\n**Tip:** {chat_md(ask.suggestion)}"
    if getattr(ask, "note", None):  # a follow-up: the candidate's note that holds the point
        body += f"\n\n({chat_md(ask.note)})"
    return {"role": "assistant", "content": body}


def feedback_message(fb) -> dict:
    """Feedback on one answer: a collapsible chat box titled with the score and hire signal."""
    g: Grade = fb.grade
    where = fb.stage or topic_label(fb.topic)
    view = grade_view(g, covered=2, missing=3)  # what every view shows (reports/feedback.py)
    lines = []
    for c in view.criteria:
        lines.append(f"- **{escape_md(c.label)}**: {c.score:.2f}")
        lines += [f"  - ✓ {chat_md(point)} — “{escape_md(quote)}”" for point, quote in c.covered]
        lines += [f"  - ✗ missing: {chat_md(m.text)}" for m in c.missing]
    lines += [f"- ⚑ red flag: {chat_md(f)}" for f in view.red_flags]
    if view.text:
        lines.append(f"\n{chat_md(view.text)}")
    if view.reread:
        lines.append("\n**Reread:** " + "; ".join(escape_md(x) for x in view.reread_labels[:4]))
    lines += [f"\n⚠ {chat_md(n)}" for n in view.notices]
    title = f"Feedback · {where}: {g.overall:.1f}/5 · {g.hire_signal}"
    return {
        "role": "assistant",
        "content": "\n".join(lines) or "No details.",
        "metadata": {"title": title, "status": "done"},
    }


def notice_message(text: str) -> dict:
    return {"role": "assistant", "content": f"⚠ {escape_md(text)}"}


def hint_message(text: str) -> dict:
    return {"role": "assistant", "content": f"**Hint:** {escape_md(text)}"}


def summary_message(summary) -> dict:
    head = "**Round over**"
    if summary.overall is not None:
        head += f" — {summary.overall:.1f}/5 · {summary.hire_signal}"
    if summary.ended_early:
        head += " (ended early)"
    return {
        "role": "assistant",
        "content": head + "\n\nThe summary and your report are on the right.",
    }


def step_messages(step) -> list[dict]:
    """The chat messages one round step adds (Delta previews are handled by the streamer)."""
    kind = getattr(step, "kind", None)
    if kind == "ask":
        return [ask_message(step)]
    if kind == "feedback":
        return [feedback_message(step)]
    if kind == "notice":
        return [notice_message(step.text)]
    if kind == "hint":
        return [hint_message(step.text)]
    if kind == "summary":
        return [summary_message(step)]
    return []


def user_message(text: str) -> dict:
    return {"role": "user", "content": escape_md(text) if text.strip() else "_(no answer)_"}


# -- the timer -------------------------------------------------------------------------------
def timer_html(ask, session_id: str) -> str:
    """A countdown for a timed question; the page's script ticks it (see blocks.HEAD)."""
    if ask is None or ask.follow_up or not ask.time_budget_s:
        return ""
    key = f"{session_id}-{ask.index}-{ask.question_id}"
    return (
        f'<div class="ml-timer" data-key="{_e(key)}" data-budget="{int(ask.time_budget_s)}">'
        f'<span class="ml-timer-left">{fmt_seconds(ask.time_budget_s)}</span>'
        f' <span class="ml-timer-label">left of {fmt_seconds(ask.time_budget_s)}</span></div>'
    )


# -- feedback card ---------------------------------------------------------------------------
def _reread_html(citations: list[Citation], notes: Mapping[str, str]) -> str:
    if not citations:
        return ""
    items = []
    seen: set[str] = set()
    for c in citations:
        if c.label in seen:
            continue
        seen.add(c.label)
        why = f'<div class="ml-why">for: {md_inline(c.point)}</div>' if c.point else ""
        text = notes.get(c.chunk_id)
        body = (
            f'<div class="ml-note-text"><div class="ml-md">{md_html(text)}</div></div>'
            if text
            else ""
        )
        items.append(
            f'<details class="ml-cite"><summary>{_e(c.label)}</summary>{why}{body}</details>'
        )
    return '<div class="ml-section"><h4>Notes to reread</h4>' + "".join(items) + "</div>"


def _criterion_html(c: CriterionView) -> str:
    pct = round(100 * c.score)
    covered = "".join(
        f'<li class="ml-ok">✓ {md_inline(point)}<blockquote>“{_e(quote)}”</blockquote></li>'
        for point, quote in c.covered
    )
    missing = "".join(
        f'<li class="ml-miss">✗ {md_inline(m.point)}'
        + (f'<div class="ml-why">why it matters: {md_inline(m.why)}</div>' if m.why else "")
        + "</li>"
        for m in c.missing
    )
    points = f"<ul>{covered}{missing}</ul>" if covered or missing else ""
    return (
        f'<div class="ml-crit"><div class="ml-crit-head"><span>{_e(c.label)}'
        f'</span><span class="ml-crit-score">{c.score:.2f}</span></div>'
        f'<div class="ml-bar"><div style="width:{pct}%"></div></div>{points}</div>'
    )


def grade_card_html(
    grade: Grade,
    *,
    title: str = "",
    prompt: str = "",
    elapsed_s: float | None = None,
    budget_s: int | None = None,
    notes: Mapping[str, str] | None = None,
) -> str:
    """A Grade as a card: overall score, hire signal, criteria with evidence, missing, notes."""
    timing = ""
    if elapsed_s is not None and budget_s:
        over = elapsed_s > budget_s
        timing = (
            f'<div class="ml-timing{" ml-over" if over else ""}">answered in '
            f"{fmt_seconds(elapsed_s)} of {fmt_seconds(budget_s)}{' — over time' if over else ''}</div>"
        )
    view = grade_view(grade)  # what every view shows (reports/feedback.py)
    flags = "".join(
        f'<div class="ml-flag">⚑ red flag: {md_inline(f)}</div>' for f in view.red_flags
    )
    feedback = (
        f'<details class="ml-more"><summary>Written feedback</summary>'
        f'<div class="ml-feedback ml-md">{md_html(view.text)}</div></details>'
        if view.text
        else ""
    )
    notices = "".join(f'<div class="ml-notice">⚠ {md_inline(n)}</div>' for n in view.notices)
    criteria = "".join(_criterion_html(c) for c in view.criteria)
    return (
        '<div class="ml-card">'
        f'<div class="ml-card-head"><div class="ml-score">{grade.overall:.1f}<small>/5</small></div>'
        f'<div class="ml-card-title">{signal_badge(grade.hire_signal)}'
        f'<div class="ml-topic">{_e(title)}</div></div></div>'
        f"{f'<div class=ml-prompt>{md_inline(prompt)}</div>' if prompt else ''}"
        f"{timing}{notices}{flags}"
        f'<div class="ml-section"><h4>Per criterion</h4>{criteria}</div>'
        f"{_reread_html(view.reread, notes or {})}{feedback}"
        f'<div class="ml-grader">graded by {_e(grade.grader)} · rubric {_e(grade.rubric_version)}</div>'
        "</div>"
    )


def feedback_card_html(fb, notes: Mapping[str, str] | None = None) -> str:
    where = fb.stage or topic_label(fb.topic)
    return grade_card_html(
        fb.grade,
        title=where,
        prompt=fb.prompt,
        elapsed_s=fb.elapsed_s,
        budget_s=fb.time_budget_s,
        notes=notes,
    )


def summary_html(summary, notes: Mapping[str, str] | None = None) -> str:
    """The end-of-round summary: overall, per-question table, strong/weak topics, notes, feedback."""
    notes = notes or {}
    title = ROUND_TITLES.get(summary.round, summary.round)
    score = f"{summary.overall:.1f}<small>/5</small>" if summary.overall is not None else "–"
    early = ' <span class="ml-muted">(ended early)</span>' if summary.ended_early else ""
    rows = []
    for i, r in enumerate(summary.items, 1):
        label = r.stage or topic_label(r.topic)
        if r.grade is None:
            result = '<span class="ml-muted">not answered</span>'
        else:
            result = f"{r.grade.overall:.1f} {signal_badge(r.grade.hire_signal)}"
        flag = " (skipped)" if r.skipped else " (covered earlier)" if r.covered_earlier else ""
        timing = ""
        if r.elapsed_s is not None and r.time_budget_s:
            cls = ' class="ml-over"' if r.elapsed_s > r.time_budget_s else ""
            timing = (
                f"<span{cls}>{fmt_seconds(r.elapsed_s)} / {fmt_seconds(r.time_budget_s)}</span>"
            )
        rows.append(
            f"<tr><td>{i}</td><td>{_e(label)}{_e(flag)}</td><td>{result}</td><td>{timing}</td></tr>"
        )
    table = (
        '<table class="ml-table"><thead><tr><th>#</th><th>question</th><th>score</th><th>time</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    topics = ""
    if summary.strongest:
        topics += (
            "<div><b>Strongest:</b> "
            + ", ".join(f"{_e(topic_label(t.topic))} ({t.mean:.1f})" for t in summary.strongest)
            + "</div>"
        )
    if summary.weakest:
        topics += (
            "<div><b>Work on:</b> "
            + ", ".join(f"{_e(topic_label(t.topic))} ({t.mean:.1f})" for t in summary.weakest)
            + "</div>"
        )
    cards = [
        (
            r.stage or topic_label(r.topic),
            grade_card_html(
                r.grade,
                title=r.stage or topic_label(r.topic),
                prompt=r.prompt,
                elapsed_s=r.elapsed_s,
                budget_s=r.time_budget_s,
                notes=notes,
            ),
        )
        for r in summary.items
        if r.grade is not None and not r.skipped
    ]
    cards += [
        (f"whole answer · {topic_label(f.topic)}", feedback_card_html(f, notes))
        for f in summary.finals
    ]
    opened = " open" if len(cards) == 1 else ""
    details = "".join(
        f'<details class="ml-more"{opened}><summary>Feedback · {_e(label)}</summary>{card}</details>'
        for label, card in cards
    )
    return (
        '<div class="ml-card ml-summary">'
        f'<div class="ml-card-head"><div class="ml-score">{score}</div><div class="ml-card-title">'
        f'{signal_badge(summary.hire_signal)}<div class="ml-topic">{_e(title)} — summary{early}</div>'
        f'</div></div>{table}<div class="ml-section">{topics}</div>'
        f"{_reread_html(summary.reread, notes)}{details}</div>"
    )


def placeholder_card(text: str) -> str:
    return f'<div class="ml-card ml-empty">{_e(text)}</div>'


# -- notes tab -------------------------------------------------------------------------------
def ingest_summary_md(summary) -> str:
    """What an ingest did, with every skipped file and its reason."""
    head = (
        f"**{summary.added} added · {summary.changed} changed · {summary.unchanged} unchanged · "
        f"{summary.removed} removed · {len(summary.skipped)} skipped** "
        f"(of {count(summary.files_seen, 'file')}; {count(summary.chunks_written, 'chunk')} written)"
    )
    lines = [("✓ " if summary.ok else "✗ ") + head]
    if summary.skipped:
        lines.append("")
        lines.append("| skipped file | why |")
        lines.append("|---|---|")
        lines += [f"| {escape_md(PurePath(p).name)} | {escape_md(r)} |" for p, r in summary.skipped]
    if summary.ignored:
        lines.append(f"\n{summary.ignored} files of other types were ignored.")
    if not summary.ok:
        lines.append(
            "\nNothing could be ingested. mockloop reads .md, .txt, .pdf, .csv and .zip "
            "(Notion export) files."
        )
    return "\n".join(lines)


def clip(text: str, n: int) -> str:
    """The text on one line, cut at a word within n characters: clip("one two three", 10) -> 'one two…'."""
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= n else flat[: n - 1].rsplit(" ", 1)[0] + "…"


def sources_rows(sources: Mapping[str, int]) -> list[list]:
    return [[name, n] for name, n in sources.items()]


def hits_html(query: str, hits: list[Hit], width: int = 360) -> str:
    """Search hits: rank, citation, score and a snippet of the chunk."""
    if not query.strip():
        return ""
    if not hits:
        return f'<div class="ml-muted">No notes match “{_e(query)}”.</div>'
    items = []
    for rank, h in enumerate(hits, 1):
        snip = clip(h.text, width)
        items.append(
            f'<div class="ml-hit"><div class="ml-hit-cite"><b>{rank}.</b> {_e(h.citation)}'
            f'<span class="ml-muted"> · {h.score:.3f}</span></div><div class="ml-md">{md_inline(snip)}</div></div>'
        )
    return "".join(items)


# -- batch tab -------------------------------------------------------------------------------
BATCH_HEADERS = ["row", "id", "question", "topic", "overall", "signal", "missing"]
QUESTION_CHARS = 120  # how much of a question's text the results table shows


def batch_table(results: list[dict]) -> tuple[list[str], list[list]]:
    """(headers, rows) for the results table: the question's text rather than its id (a row's own
    question has only a hash for an id), and the `id` column only when some row named one."""
    with_id = any(r["id"] for r in results)
    headers = [h for h in BATCH_HEADERS if with_id or h != "id"]
    rows = []
    for r in results:
        missing = [m for c in r["grade"]["criteria"] for m in c["missing"]]
        row = [
            r["row"],
            r["id"],
            clip(r["question"], QUESTION_CHARS),
            r["topic"],
            round(r["overall"], 2),
            r["hire_signal"],
            "; ".join(missing[:3]),
        ]
        rows.append(row if with_id else row[:1] + row[2:])
    return headers, rows


def batch_summary_md(summary, name: str) -> str:
    """Counts, the mean, and every skipped row with its reason."""
    graded = len(summary.results)
    mean = sum(r["overall"] for r in summary.results) / graded if graded else 0.0
    icon = "✓" if graded else "✗"
    lines = [
        f"{icon} **{escape_md(name)}: {summary.rows} rows — {graded} graded, {summary.skipped} skipped**"
        + (f", mean {mean:.2f}/5" if graded else "")
    ]
    if summary.reused:
        lines.append(f"{summary.reused} grades reused from an earlier run of the same file.")
    if summary.problems:
        lines += ["", "| row | why it was skipped |", "|---|---|"]
        lines += [f"| {p.row or 'file'} | {escape_md(p.reason)} |" for p in summary.problems]
    return "\n".join(lines)


# -- progress tab ----------------------------------------------------------------------------
SESSION_HEADERS = ["session", "round", "started (UTC)", "status", "answers", "mean"]


def session_rows(sessions) -> list[list]:
    """The session history's rows (sessions.SessionInfo), newest first as given."""
    return [
        [
            s.id,
            ROUND_TITLES.get(s.round, s.round),
            s.started_at[:16].replace("T", " "),
            s.status,
            s.answered,
            "" if s.mean is None else s.mean,
        ]
        for s in sessions
    ]
