"""render.py: round steps and grades → chat messages and HTML, without a server."""

from __future__ import annotations

import pytest

from mockloop.models import Citation, CriterionGrade, Evidence, Grade, Hit
from mockloop.notes.ingest import IngestSummary
from mockloop.rounds import Ask, Feedback, Hint, ItemResult, Notice, Summary, TopicScore
from mockloop.ui import render


def make_grade(**changes) -> Grade:
    values = dict(
        question_id="breadth.dropout",
        rubric_version="1",
        grader="offline",
        criteria=[
            CriterionGrade(
                criterion_id="mechanism",
                description="Explains the mechanism",
                score=0.5,
                covered=[
                    Evidence(point="Zeroes activations at random", quote="it <b>drops</b> units")
                ],
                missing=["Rescales by 1/(1-p) at training time"],
            )
        ],
        red_flags=["claims dropout is used at inference"],
        overall=2.8,
        hire_signal="lean hire",
        feedback="Good start.\nMissing: the rescaling.",
        citations=[
            Citation(
                chunk_id="c1",
                source="ml-breadth/regularization.md",
                heading_path=["Regularization", "Dropout"],
                point="Rescales by 1/(1-p) at training time",
            )
        ],
        notices=["The LLM judge failed; graded offline."],
    )
    values.update(changes)
    return Grade(**values)


def make_ask(**changes) -> Ask:
    values = dict(
        text="What does dropout do?", question_id="breadth.dropout", topic="regularization",
        index=2, total=5, time_budget_s=90,
    )  # fmt: skip
    values.update(changes)
    return Ask(**values)


def make_feedback(grade: Grade | None = None) -> Feedback:
    return Feedback(
        question_id="breadth.dropout", topic="regularization", prompt="What does dropout do?",
        grade=grade or make_grade(), elapsed_s=100.0, time_budget_s=90, text="",
    )  # fmt: skip


def test_question_message_says_where_we_are_and_the_time_budget():
    msg = render.ask_message(make_ask())
    assert msg["role"] == "assistant"
    assert msg["content"].startswith("**Question 2 of 5** · regularization · 1:30 to answer")
    assert msg["content"].endswith("What does dropout do?")


def test_follow_up_message_is_marked_and_untimed():
    msg = render.ask_message(make_ask(follow_up=True, text="And at inference?"))
    assert msg["content"].startswith("**Follow-up**")
    assert "to answer" not in msg["content"]


def test_follow_up_shows_the_pointer_to_the_candidates_note_as_the_terminal_does():
    note = "Your notes touch on this: system-design/feed-ranking.md § Feed ranking › 4. Data_labels"
    msg = render.ask_message(make_ask(follow_up=True, text="What goes wrong?", note=note))
    body, pointer = msg["content"].rsplit("\n\n", 1)
    assert body.endswith("What goes wrong?")
    assert pointer == (
        "(Your notes touch on this: system-design/feed-ranking.md § Feed ranking › 4. Data_labels)"
    )


def test_follow_up_without_a_note_has_no_pointer():
    msg = render.ask_message(make_ask(follow_up=True, text="What goes wrong?"))
    assert "notes touch on this" not in msg["content"]


def test_interviewer_text_cannot_inject_markup_but_its_markdown_shows_formatted():
    msg = render.ask_message(make_ask(text="<img src=x onerror=alert(1)> **bold** `k`"))
    assert "<img" not in msg["content"]
    assert "&lt;img" in msg["content"] and "**bold** `k`" in msg["content"]  # the Chatbot renders


def test_a_suggestion_from_notes_is_one_tip_not_tip_from_your_notes_from_your_notes():
    story = "From your notes, the story that fits best: “Ranking launch” (stories.md § Launch)"
    msg = render.ask_message(make_ask(suggestion=story))
    assert msg["content"].endswith(f"**Tip:** {story}")
    assert msg["content"].count("rom your notes") == 1


def test_markdown_from_notes_and_grades_is_rendered_and_stays_safe():
    grade = make_grade(feedback="Say **why** it rescales.\n<script>alert(1)</script>")
    card = render.feedback_card_html(
        make_feedback(grade),
        notes={
            "c1": "Dropout keeps `1-p` of units; **rescale** by _1/(1-p)_ <img src=x onerror=a>"
        },
    )
    assert "<strong>why</strong>" in card and "**why**" not in card
    assert "<code>1-p</code>" in card and "<strong>rescale</strong>" in card
    assert "<em>1/(1-p)</em>" in card
    assert "<script>" not in card and "<img" not in card and "&lt;img src=x" in card
    hit = Hit(chunk_id="c", text="Use **LoRA** with `r=8` [x](javascript:alert(1))",
              source="nlp/lora.md", heading_path=["LoRA"], score=0.5)  # fmt: skip
    hits = render.hits_html("lora", [hit])
    assert "<strong>LoRA</strong>" in hits and "<code>r=8</code>" in hits
    assert 'href="javascript' not in hits  # such a link stays text
    body = render.feedback_message(make_feedback(grade))["content"]
    assert "Say **why** it rescales." in body and "<script>" not in body


def test_feedback_message_is_a_collapsible_box_titled_with_score_and_signal():
    msg = render.feedback_message(make_feedback())
    assert msg["metadata"]["title"] == "Feedback · regularization: 2.8/5 · lean hire"
    body = msg["content"]
    assert "✓ Zeroes activations at random" in body
    assert "✗ missing: Rescales by 1/(1-p) at training time" in body
    assert "⚑ red flag: claims dropout is used at inference" in body
    assert "ml-breadth/regularization.md § Regularization › Dropout" in body
    assert "graded offline" in body


@pytest.mark.parametrize(
    ("step", "start"),
    [
        (Notice(text="Model down"), "⚠ Model down"),
        (Hint(question_id="q", text="Think about scaling."), "**Hint:** Think about scaling."),
    ],
)
def test_notices_and_hints_become_assistant_messages(step, start):
    [msg] = render.step_messages(step)
    assert msg["role"] == "assistant" and msg["content"].startswith(start)


def test_streaming_deltas_add_no_message_of_their_own():
    from mockloop.rounds import Delta

    assert render.step_messages(Delta(text="Tell me")) == []


def test_empty_answer_is_shown_as_such():
    assert render.user_message("   ")["content"] == "_(no answer)_"


def test_feedback_card_shows_score_signal_evidence_missing_and_notes():
    html = render.feedback_card_html(
        make_feedback(), notes={"c1": "Dropout rescales <kept> units."}
    )
    assert '<div class="ml-score">2.8<small>/5</small></div>' in html
    assert 'class="ml-signal sig-2">lean hire<' in html
    assert "Explains the mechanism" in html and ">0.50<" in html and "width:50%" in html
    assert "<blockquote>“it &lt;b&gt;drops&lt;/b&gt; units”</blockquote>" in html  # quoted, escaped
    assert "✗ Rescales by 1/(1-p) at training time" in html
    assert "⚑ red flag: claims dropout is used at inference" in html
    assert "ml-breadth/regularization.md § Regularization › Dropout" in html
    assert "Dropout rescales &lt;kept&gt; units." in html  # the note itself, to reread in place
    assert "answered in 1:40 of 1:30 — over time" in html
    assert "graded offline" in html


def test_timer_only_for_timed_questions():
    assert 'data-budget="90"' in render.timer_html(make_ask(), "s1")
    assert render.timer_html(make_ask(time_budget_s=None), "s1") == ""
    assert render.timer_html(make_ask(follow_up=True), "s1") == ""
    assert render.timer_html(None, "s1") == ""


def test_timer_key_differs_per_question_so_each_starts_fresh():
    a = render.timer_html(make_ask(index=1, question_id="q1"), "s1")
    b = render.timer_html(make_ask(index=2, question_id="q2"), "s1")
    assert a.split('data-key="')[1].split('"')[0] != b.split('data-key="')[1].split('"')[0]


def test_summary_lists_every_question_topics_notes_and_each_card():
    graded = ItemResult(
        question_id="q1", topic="regularization", prompt="What does dropout do?",
        grade=make_grade(), elapsed_s=100, time_budget_s=90,
    )  # fmt: skip
    skipped = ItemResult(
        question_id="q2",
        topic="optimizers",
        prompt="Adam?",
        skipped=True,
        grade=make_grade(overall=0.0, hire_signal="strong no hire"),
    )
    unanswered = ItemResult(question_id="q3", topic="metrics", prompt="AUC?")
    summary = Summary(
        session_id="s1", round="breadth", items=[graded, skipped, unanswered], overall=1.4,
        hire_signal="strong no hire", strongest=[TopicScore(topic="regularization", mean=2.8, answers=1)],
        weakest=[TopicScore(topic="optimizers", mean=0.0, answers=1)],
        reread=make_grade().citations, ended_early=True,
    )  # fmt: skip
    html = render.summary_html(summary, notes={"c1": "Dropout note text"})
    assert "ML breadth rapid-fire — summary" in html and "(ended early)" in html
    assert html.count("<tr><td>") == 3
    assert "optimizers (skipped)" in html and "not answered" in html
    assert 'class="ml-over">1:40 / 1:30' in html
    assert (
        "<b>Strongest:</b> regularization (2.8)" in html
        and "<b>Work on:</b> optimizers (0.0)" in html
    )
    assert "Notes to reread" in html and "Dropout note text" in html
    assert (
        html.count('class="ml-more"') == 1 + 1
    )  # one answered question's card (+ its written feedback)


def test_hits_show_citation_score_and_escaped_snippet():
    hit = Hit(chunk_id="c", text="Use <b>LoRA</b>   for\nPEFT " + "x " * 400, source="nlp/lora.md",
              heading_path=["LoRA"], score=0.5)  # fmt: skip
    html = render.hits_html("lora", [hit])
    assert "<b>1.</b> nlp/lora.md § LoRA" in html and "0.500" in html
    assert "&lt;b&gt;LoRA&lt;/b&gt; for PEFT" in html and html.count("x ") < 200
    assert "No notes match" in render.hits_html("zzz", [])
    assert render.hits_html("  ", []) == ""


def test_ingest_summary_lists_every_skipped_file_and_why():
    s = IngestSummary(added=2, unchanged=1, files_seen=4, chunks_written=9,
                      skipped=[("/tmp/x/scan.pdf", "no text layer")])  # fmt: skip
    md = render.ingest_summary_md(s)
    assert md.startswith("✓ **2 added · 0 changed · 1 unchanged · 0 removed · 1 skipped**")
    assert "| scan.pdf | no text layer |" in md
    assert "/tmp/x" not in md  # only the file's name, not where the server keeps it
    assert "Nothing could be ingested" in render.ingest_summary_md(IngestSummary(files_seen=1))


def _batch_result(**changes) -> dict:
    from mockloop.batch import result_row
    from mockloop.models import Question

    q = Question(id="row-9701d261ea", round="breadth", topic="regularization",
                 prompt="What does dropout do, and why rescale at training time?")  # fmt: skip
    return result_row(1, {"id": ""}, q, make_grade()) | changes


def test_batch_table_shows_the_question_text_and_an_id_column_only_when_rows_have_ids():
    from mockloop.batch import BatchSummary, Problem

    result = _batch_result(overall=2.8333)
    headers, rows = render.batch_table([result])
    assert headers == ["row", "question", "topic", "overall", "signal", "missing"]
    assert rows == [
        [1, "What does dropout do, and why rescale at training time?", "regularization", 2.83,
         "lean hire", "Rescales by 1/(1-p) at training time"]
    ]  # fmt: skip
    headers, rows = render.batch_table([_batch_result(id="a1")])
    assert headers[:3] == ["row", "id", "question"] and rows[0][:2] == [1, "a1"]
    s = BatchSummary(rows=2, graded=1, problems=[Problem(2, "missing the answer column")],
                     results=[result])  # fmt: skip
    md = render.batch_summary_md(s, "answers.csv")
    assert "2 rows — 1 graded, 1 skipped**, mean 2.83/5" in md
    assert "| 2 | missing the answer column |" in md


def test_batch_results_and_reports_carry_the_question_text(tmp_path):
    import csv
    import json

    from mockloop.batch import BatchSummary, write_results
    from mockloop.reports.batch import write_report

    text = "What does dropout do, and why rescale at training time?"
    s = BatchSummary(rows=1, graded=1, results=[_batch_result(id="a1")])
    line = json.loads(write_results(s.results, tmp_path / "r.jsonl").read_text("utf-8"))
    assert line["question"] == text
    with write_results(s.results, tmp_path / "r.csv").open(encoding="utf-8") as fh:
        assert next(csv.DictReader(fh))["question"] == text
    html = write_report(s, tmp_path / "r.html").read_text("utf-8")
    assert "<th>criterion</th>" in html and "criteri<" not in html
    assert text in html and "<td>a1</td>" in html
    md = write_report(s, tmp_path / "r.md").read_text("utf-8")
    assert "| criterion | n |" in md and f"| 1 | a1 | {text} (row-9701d261ea) |" in md
