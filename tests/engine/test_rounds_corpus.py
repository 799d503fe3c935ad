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
        # papers/paper-tracker.md or the Notion export's Paper Tracker.csv: both are trackers
        assert "paper" in chunk.source.lower() and "tl;dr" in chunk.text.lower()
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


@pytest.fixture(scope="module")
def corpus_plus_note(corpus_settings, tmp_path_factory):
    """The sample corpus plus one untagged note on a topic the bank has no question for."""
    import shutil

    from mockloop.config import Settings
    from mockloop.notes.ingest import ingest

    base = tmp_path_factory.mktemp("corpus-plus-note")
    shutil.copytree(corpus_settings.home, base / "home")
    note = base / "notes" / "nlp" / "watermark.md"
    note.parent.mkdir(parents=True)
    note.write_text(
        "# Watermarking LLM output\n\n## How it works\n"
        + """At each generation step a hash of the previous token seeds a split of the vocabulary into a
green list and a red list, and the sampler adds a small bias to the logits of the green tokens. A
detector that knows the hash counts the green tokens in a text and computes a z-score against the
expected green fraction: human text has about that fraction, watermarked text far more, so a few
hundred tokens are enough to detect it. Paraphrasing and low-entropy text weaken the signal.
""",
        encoding="utf-8",
    )
    settings = Settings(home=base / "home")
    assert ingest([base / "notes"], settings).added == 1
    r, why = open_retriever(settings)
    assert r is not None, why
    return settings, r


def test_notes_without_a_bank_question_get_a_derived_one(corpus_plus_note):
    from mockloop.bank import load_bank

    settings, retriever = corpus_plus_note
    notes = NotesIndex(retriever, settings)
    bank = load_bank().questions
    derived = notes.note_questions("nlp", bank)
    assert [retriever.get(q.source_chunk_id).source for q in derived] == ["nlp/watermark.md"]
    (q,) = derived
    chunk = retriever.get(q.source_chunk_id)
    assert q.reference_answer == chunk.text and q.id.startswith("note:")
    assert q.prompt == "How does watermarking LLM output work, and when would you use it?"
    # Notes the bank already covers (all of the sample corpus) derive nothing.
    assert notes.note_questions("ranking", bank) == []
    assert notes.note_questions("breadth", bank) == []


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
