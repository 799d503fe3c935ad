"""The app's endpoints through gradio_client, as a script (or another program) would use them.

Each Client is its own browser session: rounds live in per-session state on the server.
Interview endpoints return (chat, timer, feedback card, answer box, session report).
"""

from __future__ import annotations

import csv
import html
import json
import re
import socket
from pathlib import Path

import pytest
from gradio_client import handle_file

from mockloop.bank import load_bank
from mockloop.ui import render
from tests.serving import serve_app

from .conftest import new_client, notes_home

pytestmark = pytest.mark.server

CHAT, TIMER, CARD, ANSWER, REPORT = range(5)


def unescape(markdown: str) -> str:
    """Undo Markdown backslash escapes and HTML entities: `C\\_FP &lt; 1` -> `C_FP < 1`."""
    return html.unescape(re.sub(r"\\([\\`*_#\[\]|])", r"\1", markdown))


def texts(chat: list[dict]) -> list[str]:
    out = []
    for m in chat:
        content = m["content"]
        if isinstance(content, list):
            content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
        out.append(content.replace("\\_", "_"))
    return out


def titles(chat: list[dict]) -> list[str]:
    return [(m.get("metadata") or {}).get("title", "") for m in chat]


def shown_question(chat: list[dict]):
    """The bank question whose prompt is the last question in the chat."""
    last = next(t for t in reversed(texts(chat)) if t.startswith("**Question"))
    for q in load_bank().for_round("breadth"):
        if unescape(render.escape_md(q.prompt)) in unescape(last):
            return q
    raise AssertionError(f"no bank question matches {last!r}")


def start(client, n=2, feedback="after each answer", llm="offline", round_name="breadth"):
    return client.predict(round_name, n, feedback, llm, "", api_name="/start_round")


def report_path(value) -> Path | None:
    if isinstance(value, dict):
        value = value.get("value")
    return Path(value) if value else None


def test_breadth_round_asks_grades_and_summarises(client):
    out = start(client, n=2)
    chat = out[CHAT]
    assert texts(chat)[-1].startswith("**Question 1 of 2**")
    assert 'class="ml-timer"' in out[TIMER] and "data-budget=" in out[TIMER]

    q1 = shown_question(chat)
    out = client.predict(q1.reference_answer, api_name="/answer")
    chat = out[CHAT]
    # the answer, as sent (Gradio may hand back Markdown escapes such as C\_FP already undone)
    assert unescape(render.escape_md(q1.reference_answer)) in [unescape(t) for t in texts(chat)]
    if not texts(chat)[-1].startswith("**Question 2 of 2**"):  # a short follow-up came first
        out = client.predict(q1.reference_answer, api_name="/answer")
        chat = out[CHAT]
    feedback_title = titles(chat)[-2]
    assert feedback_title.startswith("Feedback ·")
    score = float(feedback_title.split(": ")[1].split("/")[0])
    assert score >= 3.0, feedback_title  # the reference answer earns credit…
    assert "ml-ok" in out[CARD] and "<blockquote>" in out[CARD]  # …with quoted evidence
    assert texts(chat)[-1].startswith("**Question 2 of 2**")
    assert out[ANSWER] == ""  # the box is cleared for the next answer

    out = client.predict("I am not sure, maybe it depends on the data.", api_name="/answer")
    chat = out[CHAT]
    assert texts(chat)[-1].startswith("**Round over**")
    assert "summary" in out[CARD] and "Per criterion" not in out[CARD].split("<details")[0]
    assert out[TIMER] == ""
    report = report_path(out[REPORT])
    assert report is not None and report.exists()
    page = report.read_text(encoding="utf-8")
    assert q1.prompt.split(",")[0] in html.unescape(page) and "<html" in page.lower()


@pytest.fixture
def fresh_client(tmp_path):
    """A client of its own server over a home with only the ml-breadth notes and no progress:
    on the shared server, a due or weak question left by an earlier test may lead the round,
    on a topic those notes do not cover, and then there is nothing to reread."""
    with serve_app(notes_home(tmp_path / "home")) as url:
        yield new_client(url, tmp_path / "downloads")


def test_weak_answer_card_points_to_notes_to_reread(fresh_client):
    client = fresh_client
    start(client, n=1)
    out = client.predict("No idea.", api_name="/answer")
    card = out[CARD]
    assert "Notes to reread" in card
    assert ".md § " in card  # a citation into the ingested notes…
    assert 'class="ml-note-text"' in card  # …with the note's text to reread in place


def test_hint_adds_a_hint_without_moving_on(client):
    out = start(client, n=2)
    before = texts(out[CHAT])[-1]
    out = client.predict(api_name="/hint")
    chat = texts(out[CHAT])
    assert chat[-1].startswith("**Hint:**")
    assert chat[-2] == before  # still on the same question


def test_two_browsers_never_see_each_others_round(app_server, client, tmp_path):
    other = new_client(app_server.url, tmp_path / "other")
    mine = start(client, n=2)
    question = texts(mine[CHAT])[-1]

    theirs = other.predict("an answer from another browser", api_name="/answer")
    assert not any(question == t for t in texts(theirs[CHAT]))
    assert "start a round first" in texts(theirs[CHAT])[-1]

    out = client.predict("my own answer", api_name="/answer")  # my round is untouched
    assert texts(out[CHAT])[-1].startswith("**Question 2 of 2**")
    assert "an answer from another browser" not in " ".join(texts(out[CHAT]))


def test_skip_then_end_gives_summary_and_report(client):
    start(client, n=3)
    out = client.predict(api_name="/skip")
    chat = texts(out[CHAT])
    assert "_(skipped)_" in chat
    assert chat[-1].startswith("**Question 2 of 3**")
    out = client.predict(api_name="/end_round")
    assert (
        texts(out[CHAT])[-1].startswith("**Round over**") and "ended early" in texts(out[CHAT])[-1]
    )
    assert "(skipped)" in out[CARD]
    assert report_path(out[REPORT]).exists()
    out = client.predict("too late", api_name="/answer")
    assert "start a round first" in texts(out[CHAT])[-1]


def test_feedback_at_the_end_is_held_back_until_the_summary(client):
    start(client, n=1, feedback="at the end")
    out = client.predict("Gradient descent with a learning rate.", api_name="/answer")
    assert not any(t.startswith("Feedback") for t in titles(out[CHAT]))
    assert texts(out[CHAT])[-1].startswith("**Round over**")
    assert "ml-more" in out[CARD] and "Per criterion" in out[CARD]  # the held-back card


def test_model_without_a_key_runs_offline_and_says_so(client):
    out = start(client, llm="openai:gpt-4o-mini")
    chat = texts(out[CHAT])
    assert "OPENAI_API_KEY" in chat[0] and "runs offline" in chat[0]
    assert chat[-1].startswith("**Question 1 of 2**")


def test_llm_outage_mid_round_falls_back_to_offline_with_a_notice(client):
    with socket.socket() as s:  # a port nobody listens on: every model call is refused
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    out = start(client, n=1, llm=f"http://127.0.0.1:{dead}/v1?model=down")
    chat = texts(out[CHAT])
    assert any(t.startswith("⚠") and "standard wording" in t for t in chat)
    assert chat[-1].startswith("**Question 1 of 1**")
    out = client.predict("Regularisation reduces variance.", api_name="/answer")
    assert any(t.startswith("⚠") and "offline" in t.lower() for t in texts(out[CHAT])[len(chat) :])
    assert "graded by offline" in out[CARD]
    assert texts(out[CHAT])[-1].startswith("**Round over**")


def test_upload_a_note_find_it_then_forget_it(client, tmp_path):
    note = tmp_path / "quokka-notes.md"
    note.write_text(
        "# Quokka dropout\n\nQuokka dropout zeroes whole embedding rows of rare tokens, "
        "a made-up regulariser used only by this test.\n",
        encoding="utf-8",
    )
    summary, table, _choices, status = client.predict(
        [handle_file(str(note))], "", api_name="/ingest"
    )
    assert "1 added" in summary
    assert ["quokka-notes.md", 1] in table["data"]
    assert "notes ·" in status

    hits = client.predict("quokka dropout rare tokens", 3, api_name="/search")
    first = hits.split('class="ml-hit"')[1]
    assert "quokka-notes.md § Quokka dropout" in first

    message, table, _choices, _status = client.predict("quokka-notes.md", api_name="/forget")
    assert "Forgot quokka-notes.md" in message
    assert all(row[0] != "quokka-notes.md" for row in table["data"])
    assert "quokka-notes.md" not in client.predict("quokka dropout", 5, api_name="/search")


def test_a_broken_file_is_reported_and_the_rest_ingested(client, tmp_path):
    good = tmp_path / "wombat-batchnorm.md"
    good.write_text("# Wombat batchnorm\n\nNormalises per burrow.\n", encoding="utf-8")
    broken = tmp_path / "scan.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf")
    summary, table, _c, _s = client.predict(
        [handle_file(str(good)), handle_file(str(broken))], "", api_name="/ingest"
    )
    assert "1 added" in summary and "1 skipped" in summary
    assert "scan.pdf" in summary.split("| skipped file | why |")[1]
    assert any(row[0] == "wombat-batchnorm.md" for row in table["data"])
    client.predict("wombat-batchnorm.md", api_name="/forget")


def test_unsupported_and_oversized_uploads_are_refused(app_server, client, tmp_path):
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    with pytest.raises(Exception, match="(?i)invalid file type"):
        client.predict([handle_file(str(exe))], "", api_name="/ingest")
    big = tmp_path / "huge-notes.md"
    big.write_text("# Huge\n\n" + "word " * int(app_server.settings.max_file_mb * 300_000))
    with pytest.raises(Exception):  # noqa: B017 — the server refuses the upload itself
        client.predict([handle_file(str(big))], "", api_name="/ingest")
    _table, choices, _status = client.predict(api_name="/sources")
    assert "huge-notes.md" not in json.dumps(choices)
    assert not (app_server.settings.home / "uploads" / "notes" / "huge-notes.md").exists()


def test_a_missing_folder_is_reported(client):
    summary, *_ = client.predict(None, "/no/such/folder-for-mockloop", api_name="/ingest")
    assert "folder not found" in summary


def _answers_csv(path: Path) -> tuple[Path, list]:
    qs = load_bank().for_round("breadth")[:2]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "question_id", "answer"])
        w.writerow(["good", qs[0].id, qs[0].reference_answer])
        w.writerow(["weak", qs[1].id, "no idea"])
        w.writerow(["bad", "no.such.question", "anything"])
    return path, qs


def test_batch_grade_shows_results_problems_and_downloads(client, tmp_path):
    source, qs = _answers_csv(tmp_path / "study-group.csv")
    summary, table, csv_out, jsonl_out, html_out = client.predict(
        handle_file(str(source)), "", True, api_name="/batch_grade"
    )
    assert "3 rows — 2 graded, 1 skipped" in summary
    assert "unknown question id" in summary and "| 3 |" in summary
    rows = {r[1]: r for r in table["data"]}
    assert set(rows) == {"good", "weak"}
    assert table["headers"][:3] == ["row", "id", "question"]
    assert rows["good"][2] == render.clip(qs[0].prompt, render.QUESTION_CHARS)
    assert float(rows["good"][4]) > float(rows["weak"][4])

    with open(report_path(csv_out), encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    assert [r["id"] for r in records] == ["good", "weak"]
    assert records[0]["question"] == qs[0].prompt
    lines = report_path(jsonl_out).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["question_id"] for line in lines] == [qs[0].id, qs[1].id]
    html = report_path(html_out).read_text(encoding="utf-8")
    assert "<html" in html.lower() and qs[0].id in html


def test_batch_with_a_malformed_file_reports_rows_and_keeps_going(client, tmp_path):
    q = load_bank().for_round("breadth")[0]
    source = tmp_path / "answers.jsonl"
    source.write_text(
        json.dumps({"question_id": q.id, "answer": q.reference_answer})
        + "\n{not json\n"
        + json.dumps({"question_id": q.id})
        + "\n",
        encoding="utf-8",
    )
    summary, table, *_ = client.predict(
        handle_file(str(source)), "", False, api_name="/batch_grade"
    )
    assert "1 graded, 2 skipped" in summary
    assert "not valid JSON" in summary and "missing the answer" in summary
    assert len(table["data"]) == 1


def test_batch_refuses_other_file_types(client, tmp_path):
    source = tmp_path / "answers.txt"
    source.write_text("question_id,answer\n", encoding="utf-8")
    with pytest.raises(Exception, match="(?i)invalid file type"):
        client.predict(handle_file(str(source)), "", False, api_name="/batch_grade")


def test_progress_shows_graded_rounds(client):
    start(client, n=1)
    client.predict("Weight decay shrinks weights toward zero.", api_name="/answer")
    head, rounds, topics, trend, heat, forecast, sessions = client.predict(api_name="/progress")
    assert "graded answer" in head
    assert any(r[0] == "breadth" and int(r[2]) >= 1 for r in rounds["data"])
    assert topics["data"]
    assert all(p["type"] == "matplotlib" for p in (trend, heat, forecast))
    assert any(s[1] == "ML breadth rapid-fire" and s[3] == "finished" for s in sessions["data"])


def test_design_review_lets_the_candidate_take_a_later_stage(client):
    out = start(client, n=10, round_name="mlsd")  # the slider asks for all ten stages
    assert "Requirements" in texts(out[CHAT])[-1]
    out = client.predict("serving", api_name="/goto_stage")
    last = texts(out[CHAT])[-1]
    assert last.startswith("**Question 1 of 10**") and "serv" in last.lower()
    out = client.predict("no-such-stage", api_name="/goto_stage")
    assert "No stage 'no-such-stage' left" in " ".join(texts(out[CHAT])[-2:])


def test_the_server_never_hands_out_files_it_did_not_make(app_server):
    import httpx

    db = app_server.settings.db_path
    for path in (db, app_server.settings.home / "uploads", "/etc/passwd", __file__):
        r = httpx.get(f"{app_server.url}gradio_api/file={path}", timeout=10)
        assert r.status_code in (403, 404), (path, r.status_code)


def test_a_zip_export_is_ingested_with_its_folder_paths(client, tmp_path):
    import zipfile

    archive = tmp_path / "vault-export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("vault/ocelot-sampling.md", "# Ocelot sampling\n\nSamples spotted tokens.\n")
        zf.writestr("vault/deep/lynx-decay.md", "# Lynx decay\n\nDecays the lynx rate.\n")
        zf.writestr("vault/picture.png", b"\x89PNG")
    summary, table, *_ = client.predict([handle_file(str(archive))], "", api_name="/ingest")
    assert "2 added" in summary and "other types were ignored" in summary
    sources = {row[0] for row in table["data"]}
    assert {"vault/ocelot-sampling.md", "vault/deep/lynx-decay.md"} <= sources
    message, *_ = client.predict("vault/", api_name="/forget")
    assert "vault/ocelot-sampling.md" in message and "vault/deep/lynx-decay.md" in message
