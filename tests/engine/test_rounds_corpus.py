"""Rounds grounded in the sample corpus: papers, derived questions, stories, projects, notes."""

from __future__ import annotations

import pytest

from mockloop.rounds import list_projects, open_retriever, start_round
from mockloop.rounds.notes import NotesIndex


@pytest.fixture(scope="module")
def retriever(corpus_settings):
    r, why = open_retriever(corpus_settings)
    assert r is not None, why
    return r


def start(round_name, corpus_settings, retriever, **kw):
    # Sessions go to this test's own MOCKLOOP_HOME database, never the shared corpus home.
    from mockloop.config import Settings
    from mockloop.sessions import SessionLog

    log = SessionLog(Settings.from_env())
    return start_round(round_name, corpus_settings, retriever=retriever, log=log, seed=1, **kw)


def test_depth_rounds_draw_papers_from_the_tracker_with_their_tldr(corpus_settings, retriever):
    for round_name in ("nlp", "ranking"):
        s = start(round_name, corpus_settings, retriever, n=3)
        papers = [i.question for i in s.state.items if i.question.id.startswith("paper:")]
        assert papers, round_name
        paper = papers[0]
        chunk = retriever.get(paper.source_chunk_id)
        assert chunk.source == "papers/paper-tracker.md"
        assert paper.reference_answer and paper.reference_answer[:40] in " ".join(
            chunk.text.split()
        )
        assert chunk.heading_path[-1] in paper.prompt  # the paper's title is what is asked about


def test_papers_go_to_the_round_whose_notes_they_resemble(corpus_settings, retriever):
    notes = NotesIndex(retriever, corpus_settings)
    nlp = {c.heading_path[-1] for c in notes.papers_for("nlp", ["ranking"])}
    ranking = {c.heading_path[-1] for c in notes.papers_for("ranking", ["nlp"])}
    assert any(t.startswith("LoRA") for t in nlp) and not any(t.startswith("LoRA") for t in ranking)
    assert any(t.startswith("Wide & Deep") or t.startswith("DCN") for t in ranking)


def test_notes_without_a_bank_question_get_a_derived_one(corpus_settings, retriever):
    from mockloop.bank import load_bank

    notes = NotesIndex(retriever, corpus_settings)
    bank = load_bank().for_round("ranking")
    derived = notes.note_questions("ranking", bank)
    bank_topics = {q.topic for q in bank}
    for q in derived:
        chunk = retriever.get(q.source_chunk_id)
        assert chunk is not None and q.reference_answer == chunk.text
        assert not {t.lower() for t in chunk.tags} & bank_topics
        assert q.prompt.startswith("Explain ")
    assert not any("MOC" in q.prompt or "map of content" in q.prompt.lower() for q in derived)


def test_behavioral_suggests_a_story_from_the_notes(corpus_settings, retriever):
    s = start("behavioral", corpus_settings, retriever, n=2)
    suggestions = [i.suggestion for i in s.state.items]
    assert all(x and "behavioral/" in x for x in suggestions), suggestions


def test_deep_dive_is_about_a_project_note(corpus_settings, retriever):
    projects = list_projects(corpus_settings, retriever)
    assert set(projects) >= {
        "projects/support-rag-pilot.md",
        "projects/home-feed-multitask-migration.md",
    }
    s = start("deep-dive", corpus_settings, retriever, project="projects/support-rag-pilot.md")
    (ask,) = s.begin()
    assert "support-assistant RAG pilot" in ask.text and ask.stage.startswith("Background")


def test_mlsd_follow_up_points_at_the_candidates_notes(corpus_settings, retriever):
    s = start("mlsd", corpus_settings, retriever, question_id="mlsd.feed-ranking")
    s.begin()
    s.goto("data")
    steps = s.answer("Training examples are logged impressions joined with engagement labels.")
    fu = steps[-1]
    assert fu.follow_up and fu.note and fu.note.startswith("Your notes touch on this: ")
    cited = fu.note.removeprefix("Your notes touch on this: ").split(" § ")[0]
    assert cited.endswith(".md") and cited.split("/")[0] in {
        "ranking",
        "system-design",
        "ml-breadth",
    }


def test_summary_notes_to_reread_resolve_to_real_chunks(corpus_settings, retriever):
    s = start("breadth", corpus_settings, retriever, n=2)
    s.begin()
    s.answer("I would add dropout.")
    summary = s.answer("Not sure.")[-1]
    assert summary.kind == "summary" and summary.reread
    for c in summary.reread:
        hit = retriever.get(c.chunk_id)
        assert hit is not None and hit.source == c.source
