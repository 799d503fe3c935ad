"""The report's plots say what they claim: per-session trend, mastery colours, a sane colour bar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from mockloop import progress
from mockloop.reports import progress as report

NOW = datetime.now(UTC).replace(microsecond=0)
PALETTE = ["#d73027", "#fc8d59", "#fee08b", "#1a9850"]  # no clue · shaky · has gaps · solid


def h(topic, overall, at, session, rnd="breadth"):
    return {"round": rnd, "topic": topic, "overall": overall, "at": at, "session": session}


def test_several_sessions_on_one_day_each_show_as_a_point():
    day = NOW - timedelta(days=1)
    history = [
        h("dropout", score, day + timedelta(hours=i, minutes=k), f"s{i}")
        for i, score in enumerate([1.0, 2.5, 4.0])
        for k in range(3)
    ]
    fig = report.score_trend_figure(history)
    (line,) = fig.axes[0].get_lines()
    assert [round(y, 2) for y in line.get_ydata()] == [1.0, 2.5, 4.0]
    # and the axis spans hours, not the days around them
    left, right = fig.axes[0].get_xlim()
    assert right - left < 1  # matplotlib dates are in days


def test_per_session_means_group_by_session_not_by_day():
    t = NOW - timedelta(days=2)
    history = [h("a", 1, t, "s1"), h("b", 3, t, "s1"), h("a", 5, t + timedelta(hours=1), "s2")]
    history.append(h("rag", 2, t, "s3", rnd="nlp"))
    sessions = report.session_scores(history)
    assert [(m, n) for _, m, n in sessions["breadth"]] == [(2.0, 2), (5.0, 1)]
    assert [(m, n) for _, m, n in sessions["nlp"]] == [(2.0, 1)]


def test_heatmap_colours_follow_the_mastery_levels():
    """A 3.6 cell is 'solid' and a 1.3 cell 'no clue', as in the tables."""
    values = [round(v, 1) for v in np.arange(0, 5.01, 0.1)]
    history = [h(f"t{i:02d}", v, NOW - timedelta(days=1), f"s{i}") for i, v in enumerate(values)]
    fig = report.mastery_heatmap_figure(history)
    image = fig.axes[0].get_images()[0]
    cells = image.get_array()[:, -1]  # this week's column, one row per topic (sorted = values)
    colours = image.to_rgba(np.ma.asarray(cells).reshape(-1, 1))[:, 0]
    for value, colour in zip(values, colours, strict=True):
        level = progress.mastery_level(value)
        expected = PALETTE[progress.MASTERY_LEVELS.index(level)]
        assert tuple(colour) == pytest.approx(to_rgba(expected)), (value, level)
    assert report.LEVEL_COLOURS == PALETTE


def test_heatmap_weeks_end_today_not_at_the_last_grade():
    history = [h("dropout", 2.0, NOW - timedelta(days=20), "s1")]
    fig = report.mastery_heatmap_figure(history, now=NOW)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[-1] == NOW.strftime("%d %b")
    grid = fig.axes[0].get_images()[0].get_array()
    filled = [j for j in range(grid.shape[1]) if not np.ma.is_masked(grid[0, j])]
    assert filled == [grid.shape[1] - 1 - 20 // 7]  # three weeks back, not the last column


@pytest.mark.parametrize("topics", [5, 80])
def test_colour_bar_keeps_a_sane_height_with_many_topics(topics):
    history = [
        h(f"topic-{i:02d}", i % 6 * 0.9, NOW - timedelta(days=i % 50), f"s{i}")
        for i in range(topics)
    ]
    fig = report.mastery_heatmap_figure(history)
    fig.canvas.draw()
    heat = fig.axes[0]
    (bar,) = heat.child_axes + fig.axes[1:]  # the colour bar, wherever it is attached
    bar_inches = bar.get_window_extent().height / fig.dpi
    heat_inches = heat.get_window_extent().height / fig.dpi
    assert 1.0 < bar_inches <= 2.0
    if topics == 80:
        assert heat_inches > 4 * bar_inches
        labels = [t.get_text() for t in bar.get_yticklabels()]
        assert labels[0].startswith("no clue") and labels[-1].startswith("solid")


def test_heatmap_groups_rows_by_round():
    t = NOW - timedelta(days=1)
    history = [
        h("rag", 2, t, "a", "nlp"),
        h("dropout", 4, t, "b"),
        h("attention", 1, t, "c", "nlp"),
    ]
    fig = report.mastery_heatmap_figure(history)
    labels = [x.get_text() for x in fig.axes[0].get_yticklabels()]
    assert labels == ["breadth · dropout", "nlp · attention", "nlp · rag"]
