"""One interview session as a report: transcript, grades, quoted evidence, missing points,
citations and the round summary, in Markdown or self-contained HTML.

Built only from the session log (turns carry each Grade as JSON), so a report of a crashed or
resumed session shows exactly what was said. HTML is rendered with autoescaping, and the
Markdown of notes, answers and feedback through reports/markdown.py (raw HTML off): answers are
the candidate's text and never markup.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from jinja2 import Environment
from markupsafe import Markup

from mockloop.llm import safe_spec
from mockloop.models import Grade
from mockloop.reports.feedback import grade_view
from mockloop.reports.markdown import md_html, md_inline
from mockloop.sessions import SessionInfo, SessionLog, Turn


@dataclass
class Block:
    """One question (or stage) of the transcript with everything that happened under it."""

    question_id: str | None
    heading: str
    turns: list[Turn] = field(default_factory=list)
    grade: Grade | None = None


def _blocks(turns: list[Turn]) -> tuple[list[Block], Turn | None]:
    blocks: list[Block] = []
    summary = None
    for t in turns:
        if t.kind == "summary":
            summary = t
            continue
        if t.kind == "question" or not blocks:
            meta = t.meta or {}
            label = meta.get("stage") or t.question_id or "question"
            index = f"{meta['index']}/{meta['total']} · " if meta.get("index") else ""
            blocks.append(Block(t.question_id, f"{index}{label}"))
        block = blocks[-1]
        if t.kind == "feedback" and t.meta.get("grade"):
            grade = Grade.model_validate(t.meta["grade"])
            if block.grade is not None and t.question_id != block.question_id:
                # The whole-prompt grade of a staged round: a block of its own.
                blocks.append(Block(t.question_id, f"whole answer · {t.question_id}", [t], grade))
                continue
            block.grade = grade
        block.turns.append(t)
    return blocks, summary


_WHO = {
    "question": "Interviewer",
    "follow_up": "Interviewer (follow-up)",
    "hint": "Hint",
    "answer": "You",
    "skip": "You",
    "feedback": "Feedback",
    "clarify": "You (clarifying question)",
    "clarification": "Interviewer",
    "run": "You (ran the examples)",
    "submit": "You (submitted)",
}


def _md_safe(text: str) -> str:
    """Text from an answer or a model, as Markdown that shows it rather than runs it: raw HTML
    (`<script>`, `<img onerror=...>`) is escaped, so a viewer renders the characters.

        >>> _md_safe("<img src=x onerror=alert(1)> & more")
        '&lt;img src=x onerror=alert(1)&gt; &amp; more'
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _turn_text(t: Turn, safe=_md_safe) -> str:
    """A turn's text for the transcript; `safe` escapes what came from the candidate or a model
    (HTML passes `str`: its template autoescapes)."""
    if t.kind == "skip":
        return "(skipped)"
    if t.kind == "answer":
        text = safe(t.text) if t.text else "(empty answer)"
        el = t.meta.get("elapsed_s")
        if el is not None:
            text += (
                f"\n\n_{el:.0f}s{' — over the time budget' if t.meta.get('over_budget') else ''}_"
            )
        return text
    if t.kind in ("run", "submit"):  # the coding round's code, with how it did
        result = f"{t.meta.get('passed', 0)}/{t.meta.get('total', 0)} tests passed"
        if t.meta.get("error"):
            result += f" — {t.meta['error']}"
        return f"```python\n{t.text}\n```\n\n_{result}_"
    if t.kind == "question" and t.meta.get("suggestion"):
        return f"{safe(t.text)}\n\n_{safe(t.meta['suggestion'])}_"
    if t.kind == "follow_up" and t.meta.get("note"):
        return f"{safe(t.text)}\n\n_{safe(t.meta['note'])}_"
    return safe(t.text)


def _md_grade(g: Grade) -> list[str]:
    view = grade_view(g)  # what every view shows (reports/feedback.py)
    lines = [
        f"**Score {g.overall:.1f}/5 · {g.hire_signal}** (grader: {g.grader}, rubric v{g.rubric_version})",
        "",
    ]
    lines += ["| criterion | score | evidence | missing |", "|---|---|---|---|"]
    for c in view.criteria:
        ev = "<br>".join(f"“{_md_safe(quote)}”" for _, quote in c.covered) or "—"
        miss = "<br>".join(_md_safe(m.text) for m in c.missing) or "—"
        lines.append(f"| {c.label} | {c.score:.2f} | {_cell(ev)} | {_cell(miss)} |")
    lines.append("")
    if view.red_flags:
        lines += [f"- Red flag: {_md_safe(f)}" for f in view.red_flags] + [""]
    if view.text:
        lines += [_md_safe(view.text), ""]
    if view.reread:
        lines.append("Notes that hold what was missed:")
        lines += [f"- {c.label}" + (f" — {c.point}" if c.point else "") for c in view.reread]
        lines.append("")
    lines += [f"> {_md_safe(n)}" for n in view.notices]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def session_markdown(info: SessionInfo, turns: list[Turn]) -> str:
    blocks, summary = _blocks(turns)
    lines = [
        f"# Mock interview · {info.round} · {info.id}",
        "",
        f"- Started {info.started_at[:19].replace('T', ' ')} UTC · status {info.status}"
        + (f" · ended {info.ended_at[:19].replace('T', ' ')}" if info.ended_at else ""),
        f"- Model: {safe_spec(info.llm)} · feedback: {info.config.get('feedback', 'each')}",
        f"- Graded answers: {info.answered}"
        + (f" · mean {info.mean:.1f}/5" if info.mean is not None else ""),
        "",
    ]
    if summary is not None:
        lines += ["## Summary", "", "```", summary.text, "```", ""]
    lines += ["## Transcript", ""]
    for b in blocks:
        lines += [f"### {b.heading}", ""]
        for t in b.turns:
            if t.kind == "feedback":
                continue
            lines += [f"**{_WHO.get(t.kind, t.kind)}:** {_turn_text(t)}", ""]
        if b.grade is not None:
            lines += _md_grade(b.grade)
    return "\n".join(lines).rstrip() + "\n"


_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_ENV.filters["md"] = lambda text: Markup(md_html(text))  # escapes raw HTML itself
_ENV.filters["md_inline"] = lambda text: Markup(md_inline(text))
_HTML = _ENV.from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Mock interview · {{ info.round }} · {{ info.id }}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:920px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em}
.turn{margin:.6em 0;padding:.5em .8em;border-radius:6px} .turn p{margin:.2em 0}
.Interviewer,.follow_up,.question{background:#eef3fb} .answer,.skip{background:#f6f6f6}
.hint{background:#fff8e1} .who{font-weight:600;margin-right:.4em}
table{border-collapse:collapse;width:100%;margin:.5em 0} td,th{border:1px solid #ddd;padding:.3em .5em;vertical-align:top;font-size:.92em}
.score{font-weight:700} .muted{color:#666} pre{background:#fafafa;padding:.8em;border:1px solid #eee;white-space:pre-wrap}
.notice{color:#8a4b00}
</style></head><body>
<h1>Mock interview · {{ info.round }} · {{ info.id }}</h1>
<p class="muted">Started {{ info.started_at[:19]|replace('T',' ') }} UTC · status {{ info.status }} · model {{ info.llm }}
 · graded answers {{ info.answered }}{% if info.mean is not none %} · mean {{ '%.1f'|format(info.mean) }}/5{% endif %}</p>
{% if summary %}<h2>Summary</h2><pre>{{ summary.text }}</pre>{% endif %}
<h2>Transcript</h2>
{% for b in blocks %}
<h3>{{ b.heading }}</h3>
{% for t in b.turns if t.kind != 'feedback' %}
<div class="turn {{ t.kind }}"><span class="who">{{ who.get(t.kind, t.kind) }}:</span>{{ turn_text(t)|md }}</div>
{% endfor %}
{% if b.grade %}{% set g = b.grade %}{% set v = view(g) %}
<p class="score">Score {{ '%.1f'|format(g.overall) }}/5 · {{ g.hire_signal }} <span class="muted">(grader {{ g.grader }}, rubric v{{ g.rubric_version }})</span></p>
<table><tr><th>criterion</th><th>score</th><th>evidence (quoted)</th><th>missing</th></tr>
{% for c in v.criteria %}<tr><td>{{ c.label }}</td><td>{{ '%.2f'|format(c.score) }}</td>
<td>{% for _, quote in c.covered %}“{{ quote|md_inline }}”<br>{% else %}—{% endfor %}</td>
<td>{% for m in c.missing %}{{ m.text|md_inline }}<br>{% else %}—{% endfor %}</td></tr>{% endfor %}
</table>
{% for f in v.red_flags %}<p>⚑ Red flag: {{ f|md_inline }}</p>{% endfor %}
{% if v.text %}{{ v.text|md }}{% endif %}
{% if v.reread %}<p>Notes that hold what was missed:</p><ul>
{% for c in v.reread %}<li>{{ c.label }}{% if c.point %} <span class="muted">— {{ c.point }}</span>{% endif %}</li>{% endfor %}</ul>{% endif %}
{% for n in v.notices %}<p class="notice">{{ n|md_inline }}</p>{% endfor %}
{% endif %}
{% endfor %}
</body></html>
"""
)


def session_html(info: SessionInfo, turns: list[Turn]) -> str:
    blocks, summary = _blocks(turns)
    return _HTML.render(
        info=dataclasses.replace(info, llm=safe_spec(info.llm)),
        blocks=blocks,
        summary=summary,
        who=_WHO,
        turn_text=lambda t: _turn_text(t, safe=str),
        view=grade_view,
    )


def session_report(log: SessionLog, session_id: str, fmt: str = "md") -> str:
    """The report of one session ('md' or 'html')."""
    info, turns = log.info(session_id), log.turns(session_id)
    return session_html(info, turns) if fmt == "html" else session_markdown(info, turns)
