"""Rounds grounded in the user's own notes, however they are tagged.

A store of the sample corpus plus three notes a user wrote (a tagged breadth note on hidden
Markov models, an nlp-tagged note on mixture of experts, an untagged note on watermarking LLM
output that only its folder places): the bank has no question on any of the three, so each becomes a
derived question that leads its round; bank topics count as covered by what the notes say, not
by how they are tagged.
"""

from __future__ import annotations

import shutil

import pytest

from mockloop.bank import load_bank
from mockloop.config import Settings
from mockloop.models import Chunk, Question
from mockloop.rounds import open_retriever, start_round
from mockloop.rounds.notes import COVER_THRESHOLD, NotesIndex, derived_prompt
from mockloop.sessions import SessionLog

USER_NOTES = {
    "breadth/hmm.md": """---
tags: [ml-breadth, breadth, hidden-markov-models]
---
# Hidden Markov model

## How a hidden Markov model works
A hidden Markov model has a chain of hidden states, each emitting an observation: transition
probabilities link consecutive states and emission probabilities link a state to what it emits.
The forward algorithm sums over state paths to score a sequence, Viterbi finds the most likely
path by dynamic programming, and Baum-Welch fits the probabilities by expectation maximization.
""",
    "nlp/moe.md": """---
tags: [nlp]
---
# Mixture of experts

## Routing
A mixture-of-experts layer replaces the dense feed-forward block with many expert MLPs and a
learned router that sends each token to its top-k experts. A load-balancing auxiliary loss keeps
experts evenly used; without it the router collapses onto a few experts. Capacity factor caps
tokens per expert, and overflow tokens are dropped or passed through the residual. Switch
Transformer uses k=1 to cut communication cost.
""",
    "nlp/watermark.md": """# Watermarking LLM output

## How it works
At each generation step a hash of the previous token seeds a split of the vocabulary into a
green list and a red list, and the sampler adds a small bias to the logits of the green tokens. A
detector that knows the hash counts the green tokens in a text and computes a z-score against the
expected green fraction: human text has about that fraction, watermarked text far more, so a few
hundred tokens are enough to detect it. Paraphrasing and low-entropy text weaken the signal.
""",
}


@pytest.fixture(scope="module")
def user_settings(corpus_settings, tmp_path_factory) -> Settings:
    """A copy of the ingested sample corpus with the user's three notes ingested beside it."""
    from mockloop.notes.ingest import ingest

    base = tmp_path_factory.mktemp("grounding")
    home = base / "home"
    shutil.copytree(corpus_settings.home, home)
    notes = base / "usernotes"
    for rel, text in USER_NOTES.items():
        (notes / rel).parent.mkdir(parents=True, exist_ok=True)
        (notes / rel).write_text(text, encoding="utf-8")
    settings = Settings(home=home)
    summary = ingest([notes], settings)
    assert summary.added == 3 and not summary.skipped, summary.lines()
    return settings


@pytest.fixture(scope="module")
def user_retriever(user_settings):
    r, why = open_retriever(user_settings)
    assert r is not None, why
    return r


def plan(round_name, settings, retriever, seed, n=5, log=None):
    # Sessions go to this test's own MOCKLOOP_HOME database, never the shared store's home.
    log = log or SessionLog(Settings.from_env())
    s = start_round(round_name, settings, n=n, seed=seed, retriever=retriever, log=log)
    return s, [i.question for i in s.state.items]


def source_of(q: Question, retriever) -> str | None:
    if not q.source_chunk_id:
        return None
    return retriever.get(q.source_chunk_id).source


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_users_notes_lead_their_rounds(user_settings, user_retriever, seed):
    _, nlp = plan("nlp", user_settings, user_retriever, seed)
    first = [source_of(q, user_retriever) for q in nlp[:3]]
    assert "nlp/watermark.md" in first, [q.prompt for q in nlp]  # untagged: its folder says nlp
    assert "nlp/moe.md" in first, [q.prompt for q in nlp]
    _, breadth = plan("breadth", user_settings, user_retriever, seed)
    assert "breadth/hmm.md" in [source_of(q, user_retriever) for q in breadth[:3]]
    # The rest of the round is still the bank, not only notes.
    assert sum(q.source_chunk_id is None for q in breadth) >= 2
    assert sum(q.source_chunk_id is None for q in nlp) >= 2


def test_derived_questions_read_like_an_interviewer_and_keep_the_note(
    user_settings, user_retriever
):
    _, nlp = plan("nlp", user_settings, user_retriever, seed=0)
    _, breadth = plan("breadth", user_settings, user_retriever, seed=0)
    derived = {source_of(q, user_retriever): q for q in nlp + breadth if q.id.startswith("note:")}
    assert set(derived) == set(USER_NOTES)
    for source, q in derived.items():
        chunk = user_retriever.get(q.source_chunk_id)
        assert q.reference_answer == chunk.text  # graded against the note itself
        assert chunk.citation.startswith(source + " § ")
        assert q.prompt.endswith("?") and not q.prompt.startswith("Explain ")
        assert "How it works" not in q.prompt and "How a hidden Markov model works" not in q.prompt
    assert "watermarking LLM output" in derived["nlp/watermark.md"].prompt
    assert "hidden Markov model" in derived["breadth/hmm.md"].prompt
    assert "mixture of experts" in derived["nlp/moe.md"].prompt
    assert "routing" in derived["nlp/moe.md"].prompt


def test_a_note_question_already_answered_does_not_lead_again(user_settings, user_retriever):
    log = SessionLog(Settings.from_env())
    s, first = plan("breadth", user_settings, user_retriever, seed=3, n=1, log=log)
    assert source_of(first[0], user_retriever) == "breadth/hmm.md"
    s.begin()
    s.answer("Hidden states emit observations.")
    while not s.finished:  # breadth may ask one short follow-up before the grade is stored
        s.answer("I'm not sure.")
    _, again = plan("breadth", user_settings, user_retriever, seed=3, n=1, log=log)
    assert again[0].id != first[0].id  # graded today: it comes back when it is due


def test_the_plan_is_the_same_for_the_same_seed(user_settings, user_retriever):
    a = [q.id for q in plan("nlp", user_settings, user_retriever, seed=4)[1]]
    b = [q.id for q in plan("nlp", user_settings, user_retriever, seed=4)[1]]
    assert a == b


def test_notes_the_bank_covers_derive_nothing(corpus_settings):
    """Every note in the sample corpus has bank questions on it: none is turned into a question
    (the old tag rule made "Explain Features: …" out of system-design/feed-ranking.md)."""
    r, _ = open_retriever(corpus_settings)
    notes = NotesIndex(r, corpus_settings)
    bank = load_bank().questions
    for round_name in ("breadth", "nlp", "ranking"):
        assert notes.note_questions(round_name, bank) == [], round_name


# -- coverage and routing by content, on hand-made stores ---------------------------------------
class _Store:
    def __init__(self, chunks):
        self.chunks = chunks
        self.location = f"test-store-{id(self)}"

    def all_chunks(self):
        return list(self.chunks)


class _Retriever:
    def __init__(self, chunks):
        self.store = _Store(chunks)


def _chunk(cid, source, heading_path, text, tags=()):
    return Chunk(
        id=cid,
        text=text,
        source=source,
        heading_path=list(heading_path),
        tags=list(tags),
        content_hash=cid,
        title=heading_path[0] if heading_path else "",
    )


ADAM = (
    "Adam keeps exponential moving averages of the gradient and of its square. The first moment "
    "acts like momentum; dividing by the square root of the second gives each parameter its own "
    "step size. Bias correction fixes the zero initialisation of both averages in early steps. "
    "AdamW decouples weight decay from the adaptive update."
)
SOURDOUGH = (
    "Feed the starter flour and water the day before, mix the dough, fold it every half hour, "
    "shape it, proof it overnight in the fridge and bake it in a very hot covered pot."
)


def test_a_topic_counts_as_covered_by_what_the_notes_say_not_their_tags():
    breadth = load_bank().for_round("breadth")
    untagged = NotesIndex(
        _Retriever([_chunk("a", "inbox/adam.md", ["Adam"], ADAM)]), Settings.from_env()
    )
    assert "optimization" in untagged.covered_topics(breadth)
    adam_question = next(q for q in breadth if q.topic == "optimization" and "Adam" in q.prompt)
    assert untagged.covering_hit(adam_question).chunk_id == "a"  # what a hint can point at
    unrelated = NotesIndex(
        _Retriever([_chunk("b", "inbox/bread.md", ["Bread"], SOURDOUGH, tags=["baking"])]),
        Settings.from_env(),
    )
    assert unrelated.covered_topics(breadth) == set()


def test_a_note_with_no_folder_or_tag_goes_to_the_round_it_reads_like():
    text = USER_NOTES["nlp/watermark.md"].split("## How it works\n", 1)[1]
    chunk = _chunk("s", "inbox/watermark.md", ["Watermarking LLM output", "How it works"], text)
    notes = NotesIndex(_Retriever([chunk]), Settings.from_env())
    bank = load_bank().questions
    assert notes.routes(bank) == {"inbox/watermark.md": "nlp"}
    assert notes.note_scores(bank)["inbox/watermark.md"] < COVER_THRESHOLD
    (q,) = notes.note_questions("nlp", bank)
    assert q.source_chunk_id == "s" and q.reference_answer == text
    assert notes.note_questions("breadth", bank) == []


@pytest.mark.parametrize("heading", ["5. Features", "Overview", "Notes", "Summary", "TL;DR"])
def test_generic_headings_are_never_what_is_asked(heading):
    chunk = _chunk(
        "f",
        "ranking/feeds.md",
        ["News-feed ranking", heading],
        "Viewer–author affinity, post freshness and the author's recent engagement rates.",
    )
    prompt = derived_prompt(chunk)
    bare = heading.split(". ")[-1]
    assert bare not in prompt and "news-feed ranking" in prompt and prompt.endswith("?")


def test_a_definition_sentence_becomes_the_question_when_the_heading_says_nothing():
    chunk = _chunk(
        "d",
        "breadth/focal.md",
        ["Losses for imbalance", "Notes"],
        "Focal loss is a cross-entropy variant that down-weights easy examples by (1 − p)^γ.",
    )
    assert derived_prompt(chunk).startswith("What is focal loss, ")


def test_question_vectors_are_cached_under_the_home_for_the_next_process(monkeypatch):
    from mockloop.rounds import notes

    settings = Settings.from_env()
    qs = load_bank().for_round("breadth")[:2]
    assert notes.warm_question_vectors(settings, qs) == 2
    assert notes._qcache_path(settings).is_file()
    # A new process: nothing in memory, and the encoder must not be needed.
    monkeypatch.setattr("mockloop.embeddings._cache", {})
    monkeypatch.setattr(notes, "_QONDISK", {})
    monkeypatch.setattr("mockloop.embeddings.encode", _no_encoder)
    assert notes.question_vectors(qs, settings).shape[0] == 2


def _no_encoder(*args, **kwargs):
    raise AssertionError("encoded again although the vectors were cached")
