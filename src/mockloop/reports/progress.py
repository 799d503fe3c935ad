"""The progress report: score over time per round, a topic mastery heat map, a review forecast.

Figures are matplotlib (Agg) and returned as Figure objects so the Gradio Progress tab shows the
same plots the HTML report embeds as base64 PNG.
"""

from __future__ import annotations

import base64
import html
import io
import sqlite3
from collections import defaultdict
from datetime import datetime, timedelta

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mockloop import progress  # noqa: E402


def _empty(fig: Figure, ax, message: str) -> Figure:
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, color="#666")
    ax.set_axis_off()
    return fig


def score_trend_figure(history: list[dict]) -> Figure:
    """Mean score per day for each round."""
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
    if not history:
        return _empty(fig, ax, "No graded answers yet: run a round to see your trend.")
    per_round: dict[str, dict] = defaultdict(lambda: defaultdict(list))
    for h in history:
        per_round[h["round"]][h["at"].date()].append(h["overall"])
    for rnd, days in sorted(per_round.items()):
        xs = sorted(days)
        daily = [sum(days[d]) / len(days[d]) for d in xs]
        # faint daily means, and a line through the mean of each day's previous week
        dots = ax.scatter(xs, daily, s=12, alpha=0.35)
        week = [
            sum(v for d2 in xs if d - timedelta(days=6) <= d2 <= d for v in days[d2])
            / sum(len(days[d2]) for d2 in xs if d - timedelta(days=6) <= d2 <= d)
            for d in xs
        ]
        ax.plot(xs, week, color=dots.get_facecolor()[0], alpha=1, linewidth=2, label=rnd)
    dates = sorted({h["at"].date() for h in history})
    if len(dates) == 1:  # one day of history: keep the axis to a week around it, not years
        ax.set_xlim(dates[0] - timedelta(days=3), dates[0] + timedelta(days=3))
    ax.set_ylim(0, 5)
    ax.set_ylabel("mean score (0–5)")
    ax.set_title("Score over time per round (7-day mean; dots: daily)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def mastery_heatmap_figure(history: list[dict], *, weeks: int = 8) -> Figure:
    """Topics × recent weeks, coloured by that week's mean score (blank where not practised)."""
    topics = sorted({h["topic"] for h in history})
    fig, ax = plt.subplots(figsize=(8, max(2.4, 0.32 * len(topics) + 1.2)), dpi=100)
    if not history:
        return _empty(fig, ax, "No topics practised yet.")
    last = max(h["at"] for h in history)
    grid = [[float("nan")] * weeks for _ in topics]
    cells: dict[tuple[int, int], list[float]] = defaultdict(list)
    for h in history:
        back = (last - h["at"]).days // 7
        if back < weeks:
            cells[(topics.index(h["topic"]), weeks - 1 - back)].append(h["overall"])
    for (i, j), values in cells.items():
        grid[i][j] = sum(values) / len(values)
    cmap = ListedColormap(["#d73027", "#fc8d59", "#fee08b", "#1a9850"])
    image = ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=5)
    ax.set_yticks(range(len(topics)), topics, fontsize=8)
    labels = [(last - timedelta(weeks=weeks - 1 - j)).strftime("%d %b") for j in range(weeks)]
    ax.set_xticks(range(weeks), labels, fontsize=8)
    ax.set_xlabel("week ending")
    ax.set_title("Topic mastery (no clue · shaky · has gaps · solid)")
    bar = fig.colorbar(image, ax=ax, ticks=[0.75, 2, 3, 4.25])
    bar.ax.set_yticklabels(progress.MASTERY_LEVELS, fontsize=8)
    fig.tight_layout()
    return fig


def forecast_figure(forecast: list[int], now: datetime) -> Figure:
    """Reviews falling due on each of the next days."""
    fig, ax = plt.subplots(figsize=(8, 2.8), dpi=100)
    if not any(forecast):
        return _empty(fig, ax, "No reviews scheduled yet.")
    days = [now.date() + timedelta(days=i) for i in range(len(forecast))]
    ax.bar(days, forecast, color="#4575b4")
    ax.set_ylabel("reviews due")
    ax.set_title(f"Review forecast, next {len(forecast)} days")
    ax.grid(axis="y", alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def round_rows(p: progress.Progress) -> list[list]:
    return [
        [
            r.round,
            r.sessions,
            r.answers,
            f"{r.mean:.2f}",
            f"{r.trend:+.2f}",
            r.due_today,
            r.due_week,
        ]
        for r in p.rounds
    ]


def topic_rows(p: progress.Progress) -> list[list]:
    return [
        [
            t.round,
            t.topic,
            t.answers,
            f"{t.mean:.2f}",
            f"{t.trend:+.2f}",
            t.mastery,
            t.due_today,
            t.due_week,
        ]
        for t in p.topics
    ]


ROUND_HEADERS = ["round", "sessions", "answers", "mean", "trend", "due today", "due this week"]
TOPIC_HEADERS = [
    "round",
    "topic",
    "answers",
    "mean",
    "trend",
    "mastery",
    "due today",
    "due this week",
]


def progress_html(conn: sqlite3.Connection, *, now: datetime | None = None) -> str:
    """A self-contained HTML page: tables and the three plots."""
    p = progress.summarize(conn, now=now)
    history = progress.score_history(conn)
    figures = [
        score_trend_figure(history),
        mastery_heatmap_figure(history),
        forecast_figure(progress.review_forecast(conn, now=p.now), p.now),
    ]
    images = "".join(f'<img alt="plot" src="data:image/png;base64,{_png(f)}">' for f in figures)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mockloop progress</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 960px; margin: 2rem auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; width: 100%; font-size: 0.9rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; }}
th {{ background: #f4f4f4; }} img {{ max-width: 100%; margin: 0.5rem 0; }}
</style></head><body>
<h1>Progress</h1>
<p>{p.total_sessions} sessions · {p.total_answers} graded answers · as of {p.now:%Y-%m-%d %H:%M} UTC</p>
<h2>Rounds</h2>{_table(ROUND_HEADERS, round_rows(p))}
<h2>Topics</h2>{_table(TOPIC_HEADERS, topic_rows(p))}
<h2>Plots</h2>{images}
</body></html>
"""
