"""Notes laid out unlike corpus/ — a flat folder, `topics/`, `misc/`, an Obsidian vault with tags —
are routed by what they say, and the rounds use them: a new ML note is asked about in the next
breadth round, a project note drives the deep dive, a story is offered for the questions it fits."""

from __future__ import annotations

import pytest

from mockloop.config import Settings
from mockloop.notes.ingest import ingest
from mockloop.rounds import list_projects, open_retriever, start_round
from mockloop.rounds.notes import NotesIndex

from .conftest import write_tree
from .own_vault import DISAGREE, FILES, HERON, MENTOR, PCA

OBSIDIAN = {
    "Inbox/pca.md": "---\nround: breadth\n---\n" + PCA,
    "Inbox/heron.md": HERON.replace("## Goal", "#project\n\n## Goal"),
    "Journal/feature-store.md": "#story\n\n" + DISAGREE,
    "Journal/mentor.md": "---\ntags: [story]\n---\n" + MENTOR,
}
LAYOUTS = {
    "flat": dict(FILES),
    "topics": {f"topics/{name}": text for name, text in FILES.items()},
    "misc": {f"misc/{name}": text for name, text in FILES.items()},
    "obsidian": OBSIDIAN,
}


def _home(tmp_path_factory, files: dict[str, str]) -> tuple[Settings, object]:
    base = tmp_path_factory.mktemp("own")
    write_tree(base / "vault", files)
    settings = Settings(home=base / "home")
    assert ingest([base / "vault"], settings).ok
    retriever, why = open_retriever(settings)
    assert retriever is not None, why
    return settings, retriever


@pytest.fixture(scope="module")
def misc(tmp_path_factory):
    return _home(tmp_path_factory, LAYOUTS["misc"])


def _start(round_name, settings, retriever, **kw):
    return start_round(round_name, settings, retriever=retriever, seed=3, **kw)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_notes_are_routed_by_what_they_say_whatever_the_folders(layout, tmp_path_factory):
    settings, retriever = _home(tmp_path_factory, LAYOUTS[layout])
    routes = NotesIndex(retriever, settings).routing()
    by_name = {source.rsplit("/", 1)[-1]: r for source, r in routes.items()}
    assert by_name["pca.md"].round == "breadth", by_name["pca.md"].line
    assert (by_name["heron.md"].kind, by_name["heron.md"].round) == ("project", "deep-dive")
    for story in ("feature-store.md", "mentor.md"):
        assert (by_name[story].kind, by_name[story].round) == ("story", "behavioral")
    if layout == "obsidian":  # the user's tags and front matter are what decided
        assert "tag or front matter" in by_name["pca.md"].why


def test_a_new_ml_note_in_misc_is_asked_in_the_next_breadth_round(misc):
    settings, retriever = misc
    s = _start("breadth", settings, retriever, n=5)
    # The bank asks about PCA, so the note leads with the bank question closest to it.
    first = [i.question for i in s.state.items[:3]]
    led = [q for q in first if (h := s.ctx.notes.covering_hit(q)) and h.source == "misc/pca.md"]
    assert led and led[0].topic == "pca", [q.id for q in first]


def test_a_project_note_in_misc_drives_the_deep_dive(misc):
    settings, retriever = misc
    assert list(list_projects(settings, retriever)) == ["misc/heron.md"]
    s = _start("deep-dive", settings, retriever)
    (ask,) = s.begin()
    assert "Heron" in ask.text and s.state.extra["project_source"] == "misc/heron.md"


def test_a_story_note_in_misc_is_offered_for_the_questions_it_fits(misc):
    from mockloop.rounds.behavioral import suggest_story

    settings, retriever = misc
    s = _start("behavioral", settings, retriever, n=1)
    bank = {q.id: q for q in s.ctx.bank.for_round("behavioral")}
    disagree = suggest_story(s.ctx, bank["behavioral.disagree-with-teammate"])
    mentoring = suggest_story(s.ctx, bank["behavioral.mentoring"])
    assert "feature-store argument" in disagree and "misc/feature-store.md" in disagree
    assert "Coaching a new graduate" in mentoring


def test_the_user_can_pin_a_note_to_a_round_or_keep_it_out(tmp_path_factory):
    files = {
        "misc/pca.md": "---\nmockloop-round: none\n---\n" + PCA,
        "misc/heron.md": "---\nmockloop-round: mlsd\n---\n" + HERON,
    }
    settings, retriever = _home(tmp_path_factory, files)
    routes = NotesIndex(retriever, settings).routing()
    assert routes["misc/pca.md"].round is None
    assert "mockloop-round: none" in routes["misc/pca.md"].why
    assert routes["misc/heron.md"].round == "mlsd"
    assert list_projects(settings, retriever) == {}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("pca.md", None),
        ("heron.md", "project"),
        ("feature-store.md", "story"),
        ("mentor.md", "story"),
    ],
)
def test_project_and_story_detectors_read_the_text_not_the_path(name, kind):
    from mockloop.notes.chunking import chunk_documents
    from mockloop.notes.loaders import load
    from mockloop.notes.routing import project_reason, story_reason

    chunks = chunk_documents(f"misc/{name}", load(name, FILES[name].encode()), "h")
    found = "story" if story_reason(chunks) else "project" if project_reason(chunks) else None
    assert found == kind


ANSWERS = {  # a candidate's telling of Heron: solid, but the budget is misremembered
    "background": "Card fraud at checkout was costing us; the risk team reviewed flagged orders "
    "by hand with a rules engine. I led the modelling and owned the launch.",
    "alternatives": "We went with XGBoost because the GRU was too slow: our latency budget "
    "for the whole checkout call was 0.5 s and the GRU needed 45 ms per call.",
    "challenges": "Our first offline evaluation used a random split and leaked future "
    "chargebacks; we switched to a time-based split.",
    "impact": "PR-AUC went from 0.48 for the rules to 0.62, measured on the held-out months.",
    "reflection": "I would add drift monitoring from day one and test the reason codes earlier.",
}


def test_a_deep_dive_on_a_project_note_names_its_facts_and_flags_a_contradicting_number(misc):
    settings, retriever = misc
    s = _start("deep-dive", settings, retriever, project="misc/heron.md")
    steps = s.begin()
    asked, grades = [], []
    while not s.finished:
        ask = steps[-1]
        asked.append(ask.text)
        stage = ask.question_id.rsplit("#", 1)[-1]
        steps = s.answer(ANSWERS[stage] if not ask.follow_up else "That is all I remember.")
        grades += [st.grade for st in steps if st.kind == "feedback"]
    facts = ["XGBoost", "GRU", "0.3 s", "random split", "fraud losses", "card-fraud losses"]
    naming = [a for a in asked if any(f.lower() in a.lower() for f in facts)]
    assert len(naming) >= 3, asked
    assert any("XGBoost over the GRU" in a and "0.3 s latency budget" in a for a in asked)
    # the misremembered budget is flagged against the note, with the note's own number
    flagged = [n for g in grades for n in g.notices if "0.5 s" in n]
    assert flagged and "0.3 s" in flagged[0] and "misc/heron.md" in flagged[0]
    # impact the note states (fraud losses down 23%) but the answer never told is a missed point
    impact = [c for g in grades for c in g.criteria if c.criterion_id == "impact"]
    assert any("23%" in m for c in impact for m in c.missing)
    # and the notes to reread are the project's own
    assert {c.source for g in grades for c in g.citations} <= {"misc/heron.md"}


def _chunks(name: str):
    from mockloop.notes.chunking import chunk_documents
    from mockloop.notes.loaders import load

    return chunk_documents(f"misc/{name}", load(name, FILES[name].encode()), "h")


def test_project_facts_are_read_with_plain_rules():
    from mockloop.rounds.deep_dive import fact_prompts
    from mockloop.rounds.project import project_facts

    facts = project_facts(_chunks("heron.md"))
    kinds = {f.kind for f in facts}
    assert kinds >= {"goal", "users", "data", "decision", "metric", "constraint", "result"}
    decision = next(f for f in facts if f.kind == "decision")
    assert (decision.chosen, decision.over) == ("XGBoost", "the GRU sequence model")
    result = next(f for f in facts if f.kind == "result")
    assert result.numbers == ["23%", "$1.2M", "35%"]
    prompts = fact_prompts(facts)
    assert prompts["alternatives"].startswith(
        "You chose XGBoost over the GRU sequence model — why, given the 0.3 s latency budget?"
    )
    assert "random split" in prompts["challenges"]
    assert "fraud losses" in prompts["impact"] and "23%" not in prompts["impact"]


def test_a_told_story_is_checked_against_its_note():
    from mockloop.models import CriterionGrade, Grade
    from mockloop.rounds.behavioral import check_story

    grade = Grade(
        question_id="behavioral.disagree-with-teammate",
        rubric_version="1",
        grader="offline",
        criteria=[CriterionGrade(criterion_id="quantified_result", score=0.0)],
        overall=2.0,
        hire_signal="no hire",
    )
    told = (
        "My teammate wanted to build our own feature store; I ran a two-day spike with him on "
        "the managed store and we adopted it once we passed 80 features."
    )
    checked = check_story(grade, told, _chunks("feature-store.md"))
    missing = checked.criteria[0].missing
    assert any("click-through by 4%" in m for m in missing)  # the result the note holds
    assert any("50 features" in n and "80 features" in n for n in checked.notices)
    assert checked.citations[0].source == "misc/feature-store.md"
    assert grade.criteria[0].missing == []  # the grader's own Grade is left as it was


@pytest.mark.parametrize(
    ("follow_up", "answer", "said"),
    [
        (
            "What did you propose instead, and who had to agree?",
            "I proposed a staged rollout instead, and the PM and my director had to agree.",
            True,
        ),
        (
            "What did you propose instead, and who had to agree?",
            "The launch slipped by a week and the numbers recovered.",
            False,
        ),
        ("Can you put a number on the outcome?", "Click-through rose 4% on the outcome.", True),
    ],
)
def test_a_follow_up_never_asks_for_what_the_answer_just_said(follow_up, answer, said):
    from mockloop.rounds.behavioral import already_said

    assert already_said(follow_up, answer) is said


def test_with_an_llm_only_the_projects_own_notes_are_sent(misc):
    settings, retriever = misc
    s = _start("deep-dive", settings, retriever, project="misc/heron.md")

    class _Online:  # what `_notes_for` asks of a provider: that it is not the offline one
        is_offline = False

    s.ctx.provider = _Online()
    # a question about mentoring would pull the mentoring story from an unrestricted search
    assert retriever.search("helping a junior engineer grow", k=1)[0].source == "misc/mentor.md"
    sent = s._notes_for("helping a junior engineer grow")
    assert sent and {h.source for h in sent} == {"misc/heron.md"}
