"""Fixtures for the interview engine: a retriever over hand-written notes, a tiny bank, a clock.

The scripted chat model and the OpenAI server are shared by every test: tests/fakes.py.
"""

from __future__ import annotations

import pytest


class FakeRetriever:
    """Retriever stand-in over a few hand-written chunks: ranks by shared words, `.get` by id."""

    def __init__(self, hits) -> None:
        self.hits = {h.chunk_id: h for h in hits}
        self.queries: list[str] = []
        self.store = _FakeStore(hits)

    def search(self, query, k=5, *, mode="hybrid", tags=None, source=None, mmr=False):
        self.queries.append(query)
        words = set(query.lower().split())
        ranked = sorted(
            (h for h in self.hits.values() if source is None or h.source.startswith(source)),
            key=lambda h: -len(words & set(h.text.lower().split())),
        )
        return [h.model_copy(update={"score": 1.0 / (i + 1)}) for i, h in enumerate(ranked[:k])]

    def get(self, chunk_id):
        return self.hits.get(chunk_id)


class _FakeStore:
    """Just enough of mockloop.store.Store for the rounds' notes index."""

    def __init__(self, hits) -> None:
        from mockloop.models import Chunk

        self.chunks = [
            Chunk(
                id=h.chunk_id,
                text=h.text,
                source=h.source,
                heading_path=h.heading_path,
                tags=h.tags,
                content_hash="fake",
                title=h.title or h.source,
            )
            for h in hits
        ]

    def all_chunks(self):
        return list(self.chunks)


@pytest.fixture
def fake_retriever() -> FakeRetriever:
    from mockloop.models import Hit

    return FakeRetriever(
        [
            Hit(
                chunk_id="c-adam",
                text="Adam keeps running means of the gradient and its square: momentum plus "
                "per-parameter adaptive learning rates, with bias correction early on.",
                source="ml-breadth/optimizers.md",
                heading_path=["Optimizers", "Adam"],
                tags=["optimization"],
            ),
            Hit(
                chunk_id="c-sgd",
                text="Plain SGD with momentum often generalises better than Adam on image "
                "classification, which is why many vision recipes still use it.",
                source="ml-breadth/optimizers.md",
                heading_path=["Optimizers", "SGD vs Adam"],
                tags=["optimization"],
            ),
            Hit(
                chunk_id="c-pos-bias",
                text="Position bias: clicks over-represent top slots, so labels from clicks need "
                "inverse propensity weighting or a position feature dropped at serving time.",
                source="ranking/position-bias.md",
                heading_path=["Position bias"],
                tags=["ranking"],
            ),
        ]
    )


def _q(**kw):
    from mockloop.models import Question

    return Question.model_validate(kw)


def _rubric(version="1", **criteria):
    return {
        "version": version,
        "criteria": [
            {"id": cid, "description": desc, "weight": w, "key_points": kps, "red_flags": rf}
            for cid, (desc, w, kps, rf) in criteria.items()
        ],
    }


@pytest.fixture
def tiny_bank():
    """A few questions per round, written for these tests (the real bank is tested elsewhere)."""
    from mockloop.bank import Bank

    qs = [
        _q(
            id="br.adam",
            round="breadth",
            topic="optimization",
            difficulty=2,
            prompt="How does Adam differ from SGD with momentum?",
            reference_answer="Adam keeps a running average of past gradients, like momentum. It also "
            "divides each step by a running average of squared gradients, so every parameter gets its "
            "own learning rate. Plain SGD with momentum often generalises better on vision tasks.",
            follow_ups=["Why might you still pick plain SGD for an image model?"],
            rubric=_rubric(
                mechanism=(
                    "Explains the update",
                    2,
                    [
                        "Adam keeps a running average of past gradients like momentum",
                        "Adam divides each step by a running average of squared gradients for per-parameter learning rates",
                    ],
                    [],
                ),
                tradeoffs=(
                    "Knows when SGD wins",
                    1,
                    [
                        "Plain SGD with momentum often generalises better than Adam on vision tasks",
                    ],
                    [],
                ),
            ),
        ),
        _q(
            id="br.l2",
            round="breadth",
            topic="regularization",
            difficulty=1,
            prompt="What does L2 regularization do to the weights, and why does that reduce overfitting?",
            reference_answer="L2 adds the sum of squared weights to the loss, which shrinks the weights "
            "toward zero. Smaller weights make a smoother function with lower variance.",
            rubric=_rubric(
                effect=(
                    "Effect on weights",
                    1,
                    ["L2 adds squared weights to the loss and shrinks weights toward zero"],
                    [],
                ),
                why=(
                    "Why it helps",
                    1,
                    ["Smaller weights give a smoother function with lower variance"],
                    [],
                ),
            ),
        ),
        _q(
            id="nlp.lora",
            round="nlp",
            topic="peft",
            prompt="How does LoRA cut the number of trainable parameters when fine-tuning a large model?",
            reference_answer="LoRA freezes the pretrained weights and learns a low-rank update BA. The "
            "rank is tiny compared with the layer size. After training BA is merged into the weights, "
            "so inference has no extra latency.",
            follow_ups=["What happens to the adapters when you deploy the model for inference?"],
            rubric=_rubric(
                mechanism=(
                    "How it works",
                    2,
                    [
                        "LoRA freezes the pretrained weights and learns a low-rank update BA",
                        "The rank r is much smaller than the layer dimensions",
                    ],
                    [],
                ),
                serving=(
                    "Inference cost",
                    1,
                    [
                        "The low-rank update is merged into the weights so inference has no extra latency",
                    ],
                    [],
                ),
            ),
        ),
        _q(
            id="mlsd.feed",
            round="mlsd",
            topic="feed-ranking",
            prompt="Design the ranking of a social network's home feed.",
            reference_answer="Goal is long-term engagement. Metrics are AUC offline and time spent online. "
            "Labels come from logged impressions.",
            follow_ups=[
                "Clicks were collected under the old ranker. What goes wrong if you train on them as they are?"
            ],
            rubric=_rubric(
                requirements=(
                    "Requirements and business objective",
                    1,
                    [
                        "The business goal is long-term engagement rather than raw clicks",
                        "Sets a latency budget of a few hundred milliseconds per request",
                    ],
                    [],
                ),
                metrics=(
                    "Success metrics",
                    1,
                    [
                        "Offline metrics are AUC and log loss for each engagement head",
                        "The online north star is daily active users or time spent",
                    ],
                    [],
                ),
                data=(
                    "Data and labels",
                    2,
                    [
                        "Training examples are logged impressions joined with engagement labels",
                        "Labels from clicks are biased by position so the position shown is logged",
                    ],
                    ["Trains only on clicked posts with no negatives"],
                ),
            ),
        ),
        _q(
            id="beh.conflict",
            round="behavioral",
            topic="conflict",
            prompt="Tell me about a time you disagreed with a teammate about a technical decision.",
            reference_answer="On the ranking team I disagreed with a senior engineer about launching a "
            "model. I owned the evaluation. I ran a holdout test and shared the data. We launched a fixed "
            "version that lifted engagement by 3 percent. I learned to bring data early.",
            rubric=_rubric(
                situation=("Situation", 1, ["Names the team and what was at stake"], []),
                action=("Action", 3, ["Describes the concrete steps I personally took"], []),
                quantified_result=(
                    "Quantified result",
                    2,
                    ["States the measurable outcome with a number"],
                    [],
                ),
                reflection=("Reflection", 1, ["Names one specific thing I learned"], []),
            ),
        ),
        _q(
            id="dd.project",
            round="deep-dive",
            topic="project",
            prompt="Walk me through a project you led end to end.",
            reference_answer="",
            rubric=_rubric(
                background=(
                    "Background and business problem — why it existed",
                    1,
                    [
                        "States the business problem the project solved and who had it",
                    ],
                    [],
                ),
                alternatives=(
                    "Solution and alternatives with trade-offs",
                    3,
                    [
                        "Names at least two alternative approaches that were considered",
                        "Explains the trade-off behind the final choice",
                    ],
                    # as in the real rubric: grader 5 raises it by its detector, not its wording
                    [
                        {
                            "flag": "States a decision without a justification",
                            "detector": "unjustified-decision",
                        }
                    ],
                ),
                impact=(
                    "Impact with metrics",
                    2,
                    [
                        "States the impact with a business metric and a number",
                    ],
                    [],
                ),
                reflection=("Reflection", 1, ["Names what I would do differently next time"], []),
            ),
        ),
    ]
    return Bank(qs)


@pytest.fixture
def notes_retriever():
    """A FakeRetriever over notes of every kind the rounds look for."""
    from mockloop.models import Hit

    def hit(cid, source, heading, text, tags, title=""):
        return Hit(
            chunk_id=cid,
            text=text,
            source=source,
            heading_path=heading,
            tags=tags,
            title=title or heading[0],
        )

    return FakeRetriever(
        [
            hit(
                "n-adam",
                "ml-breadth/optimizers.md",
                ["Optimizers", "Adam"],
                "Adam keeps running means of the gradient and of its square: momentum plus per-parameter "
                "adaptive learning rates, with bias correction early on.",
                ["ml-breadth", "optimization"],
            ),
            hit(
                "n-sgd",
                "ml-breadth/optimizers.md",
                ["Optimizers", "SGD vs Adam"],
                "Plain SGD with momentum often generalises better than Adam on image classification.",
                ["ml-breadth", "optimization"],
            ),
            hit(
                "n-posbias",
                "ranking/position-bias.md",
                ["Position bias"],
                "Position bias: clicks over-represent top slots, so labels from clicks need the position "
                "logged and inverse propensity weighting.",
                ["ranking", "position-bias"],
            ),
            hit(
                "n-lora",
                "nlp/lora.md",
                ["LoRA", "Merging at inference"],
                "After training, the low-rank product BA is merged into the frozen weight, so serving "
                "costs nothing extra.",
                ["nlp", "peft"],
            ),
            hit(
                "n-story",
                "behavioral/launch-disagreement.md",
                ["STAR: a launch I pushed back on", "Situation"],
                "I disagreed with a senior engineer about launching a ranking model; I ran a holdout test "
                "and shared the data with the team before the launch review.",
                ["behavioral", "star", "conflict"],
                title="STAR: a launch I pushed back on",
            ),
            hit(
                "n-project",
                "projects/feed-migration.md",
                ["Project: feed multitask migration", "Background"],
                "We migrated the feed ranker to a multi-task model to fix engagement drops.",
                ["deep-dive", "project"],
                title="Project: feed multitask migration",
            ),
        ]
    )


class FakeClock:
    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
