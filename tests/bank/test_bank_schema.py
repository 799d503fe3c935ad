"""The whole packaged question bank, as a user meets it: enough questions per round, stable ids,
gradable rubrics, topics that line up with notes and progress, the rubric shape each round's
grading relies on, and prompts that do not give the answer away.

Also: a malformed bank file fails loudly, naming the file and the question.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from mockloop.bank import load_bank, load_questions
from mockloop.models import SPOKEN_ROUNDS, Question

MIN_QUESTIONS = {
    "breadth": 60,
    "nlp": 20,
    "ranking": 20,
    "mlsd": 12,
    "behavioral": 30,
    "deep-dive": 1,
}

# The topic slugs of notes/topics.md: practice history, mastery and note front matter use these.
TOPICS = {
    "breadth": {
        "loss-functions", "optimization", "learning-rate-schedules", "convergence-diagnostics",
        "bias-variance", "regularization", "dropout", "early-stopping",
        "vanishing-exploding-gradients", "initialization", "normalization",
        "classification-metrics", "calibration", "ranking-metrics", "class-imbalance",
        "data-leakage", "cross-validation", "feature-selection", "model-selection",
        "pca", "clustering", "knn", "naive-bayes", "trees-ensembles", "svm", "linear-models",
        "statistics", "ab-testing", "cnn", "generative-models", "feature-engineering",
        "embeddings",
    },
    "nlp": {
        "transformer", "attention", "positional-encoding", "pretrained-lms", "tokenization",
        "peft", "efficient-attention", "rlhf", "rag", "nlp-evaluation", "decoding",
        "efficient-inference", "long-context",
    },
    "ranking": {
        "multi-stage-ranking", "two-tower", "wide-and-deep", "dcn", "user-interest-modeling",
        "dhen", "multi-objective", "cold-start", "position-bias", "diversity",
        "learning-to-rank", "ranking-metrics", "candidate-generation", "exploration",
        "calibration",
    },
    "behavioral": {
        "conflict", "failure", "leadership", "ambiguity", "impact", "influence",
        "prioritization", "feedback", "ownership", "collaboration", "learning",
    },
    "deep-dive": {"project"},
}  # fmt: skip

# MLSD topics are one slug per prompt; these systems must be practisable.
MLSD_SYSTEMS = {
    "feed-ranking", "search-ranking", "ads-ctr", "fraud-detection", "video-recommendation",
    "people-you-may-know", "harmful-content", "rag-assistant", "query-autocomplete",
    "eta-prediction", "notification-ranking", "marketplace-search", "visual-search",
    "demand-forecasting", "credit-risk", "code-completion", "music-radio", "invoice-extraction",
    "smart-reply",
}  # fmt: skip

MLSD_STAGES = [
    "requirements", "metrics", "framing", "data", "features", "model",
    "offline_eval", "online_eval", "serving", "monitoring",
]  # fmt: skip
STAR = ["situation", "task", "action", "result", "ownership", "quantified_result", "reflection"]
DEEP_DIVE = ["background", "alternatives", "challenges", "impact", "reflection"]
NO_JUSTIFICATION = "States a decision without a justification"

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@pytest.fixture(scope="module")
def questions() -> list[Question]:
    return load_bank().questions


def _round(questions: list[Question], name: str) -> list[Question]:
    return [q for q in questions if q.round == name]


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.mark.parametrize("round_name", SPOKEN_ROUNDS)
def test_every_round_has_enough_questions(questions, round_name):
    found = len(_round(questions, round_name))
    assert found >= MIN_QUESTIONS[round_name], (
        f"round {round_name!r} has {found} questions; an interview needs at least "
        f"{MIN_QUESTIONS[round_name]}"
    )


def test_ids_are_unique_and_prefixed_with_their_round():
    raw = load_questions()  # not the Bank, which would refuse duplicates before we could name them
    ids = [q.id for q in raw]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate ids (progress is keyed on them): {dupes}"
    bad = [
        q.id
        for q in raw
        if not q.id.startswith(q.round + ".") or not SLUG.fullmatch(q.id[len(q.round) + 1 :])
    ]
    assert not bad, f"ids must be '<round>.<kebab-slug>': {bad}"


def test_every_question_is_gradable(questions):
    problems = []
    for q in questions:
        if not q.prompt.strip():
            problems.append(f"{q.id}: empty prompt")
        if not q.reference_answer.strip():
            problems.append(f"{q.id}: no reference answer")
        if q.rubric is None:
            problems.append(f"{q.id}: no rubric")
            continue
        if not q.rubric.version.strip():
            problems.append(f"{q.id}: rubric without a version")
        for c in q.rubric.criteria:
            if not [p for p in c.key_points if p.strip()]:
                problems.append(f"{q.id}/{c.id}: no key points")
            if c.weight <= 0:
                problems.append(f"{q.id}/{c.id}: weight {c.weight}")
            if not c.description.strip():
                problems.append(f"{q.id}/{c.id}: no description")
        if q.difficulty not in (1, 2, 3):
            problems.append(f"{q.id}: difficulty {q.difficulty}")
    assert not problems, "\n".join(problems)


def test_topics_come_from_the_slug_list(questions):
    bad = [
        f"{q.id}: {q.topic!r}"
        for q in questions
        if q.round in TOPICS and q.topic not in TOPICS[q.round]
    ]
    assert not bad, "topics outside notes/topics.md:\n" + "\n".join(bad)


def test_each_mlsd_prompt_has_its_own_system_slug(questions):
    mlsd = _round(questions, "mlsd")
    topics = [q.topic for q in mlsd]
    assert len(topics) == len(set(topics)), f"two MLSD prompts share a topic: {sorted(topics)}"
    assert all(SLUG.fullmatch(t) for t in topics), topics
    assert all(q.id == f"mlsd.{q.topic}" for q in mlsd), [q.id for q in mlsd]
    missing = MLSD_SYSTEMS - set(topics)
    assert not missing, f"no design prompt for: {sorted(missing)}"


def test_mlsd_rubrics_grade_the_ten_design_review_stages(questions):
    problems = []
    for q in _round(questions, "mlsd"):
        ids = [c.id for c in q.rubric.criteria]
        if ids != MLSD_STAGES:
            problems.append(f"{q.id}: stages {ids}")
        for c in q.rubric.criteria:
            if not 2 <= len(c.key_points) <= 4:
                problems.append(f"{q.id}/{c.id}: {len(c.key_points)} key points, want 2-4")
            if not c.red_flags:
                problems.append(f"{q.id}/{c.id}: no red flag")
        words = len(q.reference_answer.split())
        if not 250 <= words <= 450:
            problems.append(f"{q.id}: reference outline has {words} words, want 250-450")
        if not 3 <= len(q.follow_ups) <= 5:
            problems.append(f"{q.id}: {len(q.follow_ups)} follow-ups, want 3-5")
    assert not problems, "\n".join(problems)


def test_behavioral_rubrics_are_star_plus_at_most_one_extra(questions):
    problems = []
    for q in _round(questions, "behavioral"):
        ids = [c.id for c in q.rubric.criteria]
        if ids[: len(STAR)] != STAR or len(ids) > len(STAR) + 1:
            problems.append(f"{q.id}: criteria {ids}")
        # the reference is an exemplary first-person story whose result carries a number
        if not re.search(r"\bI\b", q.reference_answer) or not re.search(r"\d", q.reference_answer):
            problems.append(f"{q.id}: reference is not a first-person story with a number")
        if not q.follow_ups:
            problems.append(f"{q.id}: no follow-ups")
    assert not problems, "\n".join(problems)


def test_deep_dive_rubrics_have_five_parts_and_demand_justified_decisions(questions):
    problems = []
    for q in _round(questions, "deep-dive"):
        ids = [c.id for c in q.rubric.criteria]
        if ids[: len(DEEP_DIVE)] != DEEP_DIVE:
            problems.append(f"{q.id}: criteria {ids}")
        flags = [f for c in q.rubric.criteria for f in c.red_flags]
        if NO_JUSTIFICATION not in flags:
            problems.append(f"{q.id}: lacks the red flag {NO_JUSTIFICATION!r}")
    assert not problems, "\n".join(problems)


def test_no_prompt_gives_away_its_answer(questions):
    leaks = []
    for q in questions:
        prompt = _norm(q.prompt)
        asked = _norm(" ".join([q.prompt, *q.follow_ups]))
        if _norm(q.reference_answer) in prompt:
            leaks.append(f"{q.id}: the prompt contains the whole reference answer")
        first = _norm(re.split(r"(?<=[.!?])\s", q.reference_answer.strip(), maxsplit=1)[0])
        if len(first.split()) >= 6 and first in asked:
            leaks.append(
                f"{q.id}: the prompt or a follow-up contains the reference's first sentence"
            )
        for c in q.rubric.criteria if q.rubric else []:
            for point in c.key_points:
                p = _norm(point)
                if len(p.split()) >= 4 and p in asked:
                    leaks.append(f"{q.id}/{c.id}: key point asked verbatim: {point!r}")
    assert not leaks, "\n".join(leaks)


# --- malformed bank files -------------------------------------------------------------------

TEMPLATES = """\
star:
  version: "1"
  criteria:
    - id: action
      description: What I did
      key_points: [Describes the concrete steps I took myself]
"""

GOOD_QUESTION = """\
  - id: behavioral.fine
    topic: conflict
    prompt: Tell me about a disagreement.
    reference_answer: I listened first, then we ran a test that settled it in 2 days.
    rubric: {template: star}
"""

MALFORMED = {
    "no prompt": """\
  - id: behavioral.broken
    topic: conflict
    reference_answer: An answer.
    rubric: {template: star}
""",
    "unknown template": """\
  - id: behavioral.broken
    topic: conflict
    prompt: Tell me about a time.
    rubric: {template: stra}
""",
    "zero weight": """\
  - id: behavioral.broken
    topic: conflict
    prompt: Tell me about a time.
    rubric:
      version: "1"
      criteria:
        - id: action
          description: What I did
          weight: 0
          key_points: [Describes the concrete steps I took myself]
""",
    "rubric without version": """\
  - id: behavioral.broken
    topic: conflict
    prompt: Tell me about a time.
    rubric:
      criteria:
        - id: action
          description: What I did
          key_points: [Describes the concrete steps I took myself]
""",
}


def _write_bank(root: Path, question_yaml: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "rubrics.yaml").write_text(TEMPLATES, encoding="utf-8")
    (root / "a_good.yaml").write_text(
        "round: behavioral\nquestions:\n" + GOOD_QUESTION, encoding="utf-8"
    )
    (root / "broken.yaml").write_text(
        "round: behavioral\nquestions:\n"
        + GOOD_QUESTION.replace("fine", "also-fine")
        + question_yaml,
        encoding="utf-8",
    )
    return root


def test_a_well_formed_bank_directory_loads(tmp_path):
    bank = _write_bank(tmp_path / "bank", "")
    loaded = load_questions(bank)
    assert [q.id for q in loaded] == ["behavioral.fine", "behavioral.also-fine"]
    assert [c.id for c in loaded[0].rubric.criteria] == ["action"]


@pytest.mark.parametrize(
    "case",
    [
        "no prompt",
        "unknown template",
        "zero weight",
        "rubric without version",
    ],
)
def test_a_malformed_question_names_its_file_and_question(tmp_path, case):
    bank = _write_bank(tmp_path / "bank", MALFORMED[case])
    with pytest.raises(ValueError) as err:
        load_questions(bank)
    message = str(err.value)
    assert "broken.yaml" in message, message
    assert "behavioral.broken" in message, message


def test_a_bank_file_that_is_not_yaml_names_the_file(tmp_path):
    bank = _write_bank(tmp_path / "bank", "")
    (bank / "broken.yaml").write_text(
        textwrap.dedent("""\
            round: behavioral
            questions:
              - id: behavioral.broken
                prompt: [unclosed
        """),
        encoding="utf-8",
    )
    with pytest.raises(Exception) as err:
        load_questions(bank)
    assert "broken.yaml" in str(err.value)
