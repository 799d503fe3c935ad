"""The progress report: score per session over time, a topic mastery heat map, a review forecast.

Figures are matplotlib (Agg) and returned as Figure objects so the Gradio Progress tab shows the
same plots the HTML report embeds as base64 PNG.
"""

from __future__ import annotations

import base64
import html
import io
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mockloop import progress  # noqa: E402
from mockloop.config import Settings  # noqa: E402
from mockloop.sessions import SessionInfo, SessionLog  # noqa: E402

# One colour per mastery level, with the level boundaries progress.py uses (0 · 1.5 · 2.5 · 3.5 · 5).
LEVEL_COLOURS = ["#d73027", "#fc8d59", "#fee08b", "#1a9850"]
LEVEL_BOUNDS = [0.0, *progress.MASTERY_BOUNDS, 5.0]
SMOOTH_AFTER = 40  # a round with more sessions than this is drawn as a rolling mean
ROLLING = 10  # sessions in that rolling mean, at least (more for long histories)
COLOURBAR_INCHES = 1.8  # the heat map's colour bar keeps this height however many topics


def _empty(fig: Figure, ax, message: str) -> Figure:
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, color="#666")
    ax.set_axis_off()
    return fig


def session_scores(history: list[dict]) -> dict[str, list[tuple[datetime, float, int]]]:
    """Per round, each session as (start, mean score, answers), oldest first."""
    sessions: dict[tuple[str, str], list] = {}
    for h in history:
        key = (h["round"], h.get("session") or h["at"].isoformat())
        entry = sessions.setdefault(key, [h["at"], []])
        entry[0] = min(entry[0], h["at"])
        entry[1].append(h["overall"])
    per_round: dict[str, list[tuple[datetime, float, int]]] = defaultdict(list)
    for (rnd, _), (at, scores) in sessions.items():
        per_round[rnd].append((at, sum(scores) / len(scores), len(scores)))
    return {r: sorted(v) for r, v in sorted(per_round.items())}


def score_trend_figure(history: list[dict]) -> Figure:
    """Mean score of every session, per round, at the time it started."""
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
    if not history:
        return _empty(fig, ax, "No graded answers yet: run a round to see your trend.")
    smoothed = False
    per_round = session_scores(history)
    for rnd, points in per_round.items():
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        n = f"{len(points)} session{'s' * (len(points) != 1)}"
        if len(points) <= SMOOTH_AFTER:
            ax.plot(xs, ys, marker="o", markersize=5, linewidth=1.5, label=f"{rnd} ({n})")
            continue
        smoothed = True
        window = max(ROLLING, len(points) // 40)  # about 40 independent steps along the line
        dots = ax.scatter(xs, ys, s=8, alpha=0.2)
        rolling = [
            sum(ys[max(0, i - window + 1) : i + 1]) / len(ys[max(0, i - window + 1) : i + 1])
            for i in range(len(ys))
        ]
        colour = dots.get_facecolor()[0]
        ax.plot(
            xs, rolling, color=colour, alpha=1, linewidth=2, label=f"{rnd} ({n}; mean of {window})"
        )
    times = [h["at"] for h in history]
    if max(times) - min(times) < timedelta(
        hours=2
    ):  # one sitting: a few hours around it, not years
        ax.set_xlim(min(times) - timedelta(hours=3), max(times) + timedelta(hours=3))
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_ylim(0, 5)
    ax.set_ylabel("session mean (0–5)")
    how = "dots: sessions; lines: rolling mean" if smoothed else "a point per session"
    ax.set_title(f"Score over time per round ({how})")
    ax.grid(alpha=0.3)
    if len(per_round) > 2:  # many rounds: the legend goes under the plot, not over the points
        fig.set_figheight(3.6 + 0.2 * ((len(per_round) + 1) // 2))
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8, frameon=False
        )
    else:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def mastery_heatmap_figure(
    history: list[dict], *, weeks: int = 8, now: datetime | None = None
) -> Figure:
    """Round · topic × the last `weeks` weeks up to `now` (default: today), coloured by that
    week's mean score in the mastery levels' colours (blank where not practised)."""
    rows = sorted({(h["round"], h["topic"]) for h in history})
    several = len({r for r, _ in rows}) > 1
    per_row = 0.3 if len(rows) <= 30 else 0.2
    fig, ax = plt.subplots(figsize=(8, max(2.4, per_row * len(rows) + 1.3)), dpi=100)
    if not history:
        return _empty(fig, ax, "No topics practised yet.")
    anchor = now or datetime.now(UTC)
    index = {row: i for i, row in enumerate(rows)}
    grid = [[float("nan")] * weeks for _ in rows]
    cells: dict[tuple[int, int], list[float]] = defaultdict(list)
    for h in history:
        back = max(0, (anchor - h["at"]).days // 7)
        if back < weeks:
            cells[(index[(h["round"], h["topic"])], weeks - 1 - back)].append(h["overall"])
    for (i, j), values in cells.items():
        grid[i][j] = sum(values) / len(values)
    if not cells:
        return _empty(fig, ax, f"No practice in the {weeks} weeks up to {anchor:%d %b %Y}.")
    cmap = ListedColormap(LEVEL_COLOURS)
    image = ax.imshow(grid, aspect="auto", cmap=cmap, norm=BoundaryNorm(LEVEL_BOUNDS, cmap.N))
    labels = [f"{r} · {t}" if several else t for r, t in rows]
    ax.set_yticks(range(len(rows)), labels, fontsize=8 if len(rows) <= 30 else 7)
    for i in range(1, len(rows)):  # a line between rounds
        if rows[i][0] != rows[i - 1][0]:
            ax.axhline(i - 0.5, color="#333", linewidth=0.8)
    weeks_end = [(anchor - timedelta(weeks=weeks - 1 - j)).strftime("%d %b") for j in range(weeks)]
    ax.set_xticks(range(weeks), weeks_end, fontsize=8)
    ax.set_xlabel("week ending")
    ax.set_title("Topic mastery per week")
    fig.tight_layout()
    # a colour bar of fixed height at the top right, not stretched along a long topic list
    height = ax.get_position().height * fig.get_figheight()
    frac = min(1.0, COLOURBAR_INCHES / height)
    cax = ax.inset_axes([1.03, 1 - frac, 0.03, frac])
    mids = [(a + b) / 2 for a, b in zip(LEVEL_BOUNDS, LEVEL_BOUNDS[1:], strict=False)]
    bar = fig.colorbar(image, cax=cax, ticks=mids)
    bar.ax.set_yticklabels(
        [f"{level} ({a:g}–{b:g})" for level, a, b in zip(
            progress.MASTERY_LEVELS, LEVEL_BOUNDS[:-1], LEVEL_BOUNDS[1:], strict=True
        )],
        fontsize=8,
    )  # fmt: skip
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


@dataclass
class ProgressView:
    """What the Progress tab shows, read from the database in one go."""

    progress: progress.Progress
    figures: tuple[Figure, Figure, Figure]  # score trend, mastery heat map, review forecast
    sessions: list[SessionInfo]  # the newest first, up to the limit asked for
    session_count: int  # every session, with graded answers or not (the history lists them all)


def progress_view(settings: Settings, *, limit: int = 50) -> ProgressView:
    """The progress summary, its three plots and the session history, from one connection.

    The figures are left open for the caller to draw; `plt.close` on each drops only pyplot's
    reference to it."""
    from mockloop.db import connect

    conn = connect(settings)
    try:
        p = progress.summarize(conn)
        history = progress.score_history(conn)
        figures = (
            score_trend_figure(history),
            mastery_heatmap_figure(history),
            forecast_figure(progress.review_forecast(conn, now=p.now), p.now),
        )
        sessions = SessionLog(settings, conn=conn).list(limit=limit)
        count = _session_count(conn)
    finally:
        conn.close()
    return ProgressView(p, figures, sessions, count)


def totals_line(p: progress.Progress, session_count: int) -> str:
    """'5 sessions (4 with graded answers) · 7 graded answers': the count the history agrees with.

    `p.total_sessions` counts only sessions with a graded answer; a session history lists every
    session, so the line names both when they differ."""
    line = f"{session_count} session{'' if session_count == 1 else 's'}"
    if p.total_sessions != session_count:
        line += f" ({p.total_sessions} with graded answers)"
    return f"{line} · {p.total_answers} graded answer{'' if p.total_answers == 1 else 's'}"


def _session_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]


def progress_html(conn: sqlite3.Connection, *, now: datetime | None = None) -> str:
    """A self-contained HTML page: tables and the three plots."""
    p = progress.summarize(conn, now=now)
    history = progress.score_history(conn)
    figures = [
        score_trend_figure(history),
        mastery_heatmap_figure(history, now=p.now),
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
<p>{totals_line(p, _session_count(conn))} · as of {p.now:%Y-%m-%d %H:%M} UTC</p>
<h2>Rounds</h2>{_table(ROUND_HEADERS, round_rows(p))}
<h2>Topics</h2>{_table(TOPIC_HEADERS, topic_rows(p))}
<h2>Plots</h2>{images}
</body></html>
"""
