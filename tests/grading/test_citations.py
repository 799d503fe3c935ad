"""Citations are about the question: a STAR story that happens to state a missed point is not
cited for a knowledge question (a threshold question), while a note on the subject is."""

from __future__ import annotations

import pytest

from mockloop.bank import load_bank
from mockloop.grading.citations import cite_missing, is_story
from mockloop.models import Hit

POINT = "Maximize recall subject to a minimum precision or review capacity"
STORY = Hit(
    chunk_id="story",
    source="misc/fraud-threshold.md",
    heading_path=["Arguing for a lower threshold", "Action"],
    title="Arguing for a lower threshold",
    text=(
        "I argued that we should maximize recall subject to a minimum precision that the review "
        "team's capacity allowed, and I picked the threshold on the validation set with the PM."
    ),
)
NOTE = Hit(
    chunk_id="note",
    source="misc/thresholds.md",
    heading_path=["Decision thresholds", "Choosing one"],
    title="Decision thresholds",
    text=(
        "When reviewers can only check so many cases, maximize recall subject to a minimum "
        "precision (or a review capacity), choosing the threshold on a validation set."
    ),
)


class _Retriever:
    def __init__(self, hits):
        self.hits = hits

    def search(self, query, k):
        return list(self.hits)[:k]


def test_a_story_is_not_cited_for_a_threshold_question():
    question = next(q for q in load_bank().questions if q.id == "breadth.threshold-selection")
    cited, notices = cite_missing([(POINT, 1.0)], _Retriever([STORY, NOTE]), question=question)
    assert not notices
    assert [c.chunk_id for c in cited] == ["note"]


@pytest.mark.parametrize(
    ("hit", "story"),
    [
        (STORY, True),  # a STAR section heading
        (NOTE, False),
        (NOTE.model_copy(update={"tags": ["story"]}), True),
        (NOTE.model_copy(update={"source": "Journal/behavioral/x.md"}), True),
        (NOTE.model_copy(update={"heading_path": ["STAR: the outage"], "title": ""}), True),
        (NOTE.model_copy(update={"source": "ml/results-analysis.md"}), False),
    ],
)
def test_what_counts_as_a_story(hit, story):
    assert is_story(hit) is story
