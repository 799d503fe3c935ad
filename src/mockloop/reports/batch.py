"""The batch grading report: score distributions per round, topic and criterion, with plots.

HTML embeds its plots as base64 PNG (one self-contained file); Markdown writes them beside the
report in `<name>_files/`. Every answer-derived string is escaped (HTML autoescape), since text
from answers is data, never markup. Leaves out: the grading itself (batch.py).
"""

from __future__ import annotations

import base64
import io
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from mockloop.models import HIRE_SIGNALS


def _stats(values: list[float]) -> dict:
    return {
        "n": len(values),
        "mean": round(statistics.fmean(values), 2) if values else 0.0,
        "median": round(statistics.median(values), 2) if values else 0.0,
        "min": round(min(values), 2) if values else 0.0,
        "max": round(max(values), 2) if values else 0.0,
    }


def summarise(results: list[dict]) -> dict:
    """Tables the report shows: overall by round and topic, criterion scores, hire signals."""
    by_round, by_topic, by_criterion = defaultdict(list), defaultdict(list), defaultdict(list)
    for r in results:
        by_round[r["round"]].append(r["overall"])
        by_topic[r["topic"]].append(r["overall"])
        for c in r["grade"]["criteria"]:
            by_criterion[c["criterion_id"]].append(c["score"])
    hires = Counter(r["hire_signal"] for r in results)
    return {
        "overall": _stats([r["overall"] for r in results]),
        "rounds": {k: _stats(v) for k, v in sorted(by_round.items())},
        "topics": {k: _stats(v) for k, v in sorted(by_topic.items(), key=lambda kv: -len(kv[1]))},
        "criteria": {k: _stats(v) for k, v in sorted(by_criterion.items())},
        "hire": {h: hires.get(h, 0) for h in HIRE_SIGNALS},
    }


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def plots(results: list[dict], tables: dict) -> dict[str, bytes]:
    """PNG plots: overall histogram per round, mean by topic, mean by criterion, hire signals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}
    if not results:
        return out
    fig, ax = plt.subplots(figsize=(7, 3.2))
    rounds = sorted({r["round"] for r in results})
    ax.hist(
        [[r["overall"] for r in results if r["round"] == rn] for rn in rounds],
        bins=[0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5.0001],
        stacked=True,
        label=rounds,
    )
    ax.set_xlabel("overall score (0–5)")
    ax.set_ylabel("answers")
    ax.set_title("Overall score distribution by round")
    ax.legend(fontsize=8)
    out["overall"] = _png(fig)

    for key, title in (
        ("topics", "Mean overall by topic"),
        ("criteria", "Mean criterion score (0–1)"),
    ):
        # the most common first: a batch over many questions has more criteria than fit
        rows = sorted(tables[key].items(), key=lambda kv: -kv[1]["n"])[:25]
        if not rows:
            continue
        fig, ax = plt.subplots(figsize=(7, 0.3 * len(rows) + 1.2))
        ax.barh([k for k, _ in rows][::-1], [v["mean"] for _, v in rows][::-1], color="#4c72b0")
        ax.set_title(title)
        ax.set_xlim(0, 5 if key == "topics" else 1)
        out[key] = _png(fig)

    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.bar(list(tables["hire"]), list(tables["hire"].values()), color="#55a868")
    ax.set_title("Hire signals")
    ax.tick_params(axis="x", labelsize=8)
    out["hire"] = _png(fig)
    return out


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.num{text-align:right}img{max-width:100%}.bad{color:#a00}pre{white-space:pre-wrap;margin:0}
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ summary_line }}</p>
{% for name, png in images.items() %}<img alt="{{ name }} plot" src="data:image/png;base64,{{ png }}">
{% endfor %}
{% for key, label, heading in SECTIONS %}
<h2>{{ heading }}</h2><table><tr><th>{{ label }}</th><th>n</th><th>mean</th><th>median</th><th>min</th><th>max</th></tr>
{% for name, s in tables[key].items() %}<tr><td>{{ name }}</td><td class="num">{{ s.n }}</td><td class="num">{{ s.mean }}</td><td class="num">{{ s.median }}</td><td class="num">{{ s.min }}</td><td class="num">{{ s.max }}</td></tr>
{% endfor %}</table>{% endfor %}
{% if problems %}<h2>Skipped rows ({{ problems|length }})</h2><ul>
{% for p in problems %}<li class="bad">{{ "file" if p.row == 0 else "row " ~ p.row }}: {{ p.reason }}</li>{% endfor %}</ul>{% endif %}
<h2>Answers</h2><table><tr><th>row</th><th>id</th><th>question</th><th>round</th><th>overall</th><th>signal</th><th>feedback</th></tr>
{% for r in results %}<tr><td class="num">{{ r.row }}</td><td>{{ r.id }}</td><td>{{ r.question }}<br><small>{{ r.question_id }}</small></td><td>{{ r.round }}</td><td class="num">{{ "%.1f"|format(r.overall) }}</td><td>{{ r.hire_signal }}</td><td><pre>{{ r.grade.feedback }}</pre></td></tr>
{% endfor %}</table>
</body></html>
"""


SECTIONS = [  # (table key, its column's label, heading)
    ("rounds", "round", "By round"),
    ("topics", "topic", "By topic"),
    ("criteria", "criterion", "By criterion (0–1)"),
]


def _cell(text: object) -> str:
    """Text fit for one Markdown table cell: one line, no column breaks."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _md(title: str, line: str, tables: dict, images: dict[str, str], summary) -> str:
    out = [f"# {title}", "", line, ""]
    out += [f"![{name}]({path})" for name, path in images.items()] + [""]
    for key, label, heading in SECTIONS:
        out += [
            f"## {heading}",
            "",
            f"| {label} | n | mean | median | min | max |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        out += [
            f"| {k} | {s['n']} | {s['mean']} | {s['median']} | {s['min']} | {s['max']} |"
            for k, s in tables[key].items()
        ]
        out.append("")
    if summary.problems:
        out += [f"## Skipped rows ({len(summary.problems)})", ""]
        out += [
            f"- {'file' if p.row == 0 else f'row {p.row}'}: {p.reason}" for p in summary.problems
        ]
        out.append("")
    out += [
        "## Answers",
        "",
        "| row | id | question | round | overall | signal |",
        "|---:|---|---|---|---:|---|",
    ]
    out += [
        f"| {r['row']} | {_cell(r['id'])} | {_cell(r['question'])} ({_cell(r['question_id'])}) | "
        f"{r['round']} | {r['overall']:.1f} | {r['hire_signal']} |"
        for r in summary.results
    ]
    return "\n".join(out) + "\n"


def write_report(summary, path: Path, *, title: str = "Batch grading report") -> Path:
    """Write an HTML (plots embedded) or Markdown (plots beside it) report for a batch summary."""
    from jinja2 import Environment, StrictUndefined

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tables = summarise(summary.results)
    pngs = plots(summary.results, tables)
    line = summary.lines()[len(summary.problems)]  # the counts line, after one line per problem
    if path.suffix.lower() in (".md", ".markdown"):
        folder = path.with_name(path.stem + "_files")
        folder.mkdir(exist_ok=True)
        images = {}
        for name, png in pngs.items():
            (folder / f"{name}.png").write_bytes(png)
            images[name] = f"{folder.name}/{name}.png"
        path.write_text(_md(title, line, tables, images, summary), encoding="utf-8")
        return path
    env = Environment(autoescape=True, undefined=StrictUndefined)
    html = env.from_string(_HTML).render(
        title=title,
        summary_line=line,
        tables=tables,
        images={k: base64.b64encode(v).decode("ascii") for k, v in pngs.items()},
        problems=summary.problems,
        results=summary.results,
        SECTIONS=SECTIONS,
    )
    path.write_text(html, encoding="utf-8")
    return path
