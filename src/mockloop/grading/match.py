"""The grader's matcher: "does this text state that one?" as a cosine in a fine-tuned space.

The bundled all-MiniLM-L6-v2 with its top two layers refitted on labelled pairs (SemEval
student answers, SAF answers, the bank's own rubrics; evaluation/matcher_fit.py) so that a
paraphrase of a point lands near it and a claim of its opposite does not. The refitted layers and
every number fitted on top of them (the cosine → probability logistic, the score map) ship in one
file, `matcher.safetensors`, written by the fit and never pasted into source.

>>> m = shipped()
>>> a, b, c = m.encode(["Dropout turns off random units while training.",
...                     "During training some neurons are randomly switched off.",
...                     "Dropout is applied at test time and every unit is kept in training."])
>>> bool(a @ b > a @ c)
True

Leaves out: cutting answers into spans (spans.py) and scoring (offline.py, scoring.py).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from mockloop.grading.scoring import score_from

WEIGHTS = Path(__file__).with_name("matcher.safetensors")
CACHE_CAP = 50_000

# Numbers written the short way read like words to the encoder: "~500M" and "hundreds of
# millions" share nothing. Spell out the scale so both sides meet.
_SCALE = {"k": "thousand", "m": "million", "b": "billion", "bn": "billion"}
_SHORT_NUMBER = re.compile(r"(?<![\w.])~?(\d+(?:\.\d+)?)\s?(k|m|b|bn)\b", re.IGNORECASE)


def normalise(text: str) -> str:
    """`"~500M posts/day"` → `"500 million posts per day"`: what the encoder reads."""
    text = _SHORT_NUMBER.sub(lambda m: f"{m.group(1)} {_SCALE[m.group(2).lower()]}", text)
    return text.replace("/day", " per day").replace("/s", " per second").replace("~", "about ")


@dataclass(frozen=True)
class Fitted:
    """Numbers fitted on training data only, stored beside the weights (see evaluation/).

    The score map is a small model per mode, on three readings of an answer — the cosine of
    the whole answer with the reference answer, the mean over key points of their best cosine
    with a span, and the rubric coverage — predicting the human grade on 0–1 (weights kept
    non-negative, so more agreement never lowers a score): (bias, whole, points, coverage).
    The rubric modes are logistic; reference mode, fitted on other people's datasets whose
    answers sit at different places on the cosine scale, is linear (a steep logistic saturates
    on a set whose answers sit off its centre).
    """

    slope: float = 10.0  # match probability = sigmoid(slope · cosine + bias)
    bias: float = -6.0
    rubric: tuple[float, ...] = (-4.0, 0.0, 0.0, 8.0)  # bank-style rubric with a reference answer
    rubric_noref: tuple[float, ...] = (-4.0, 0.0, 0.0, 8.0)  # a rubric with no reference answer
    reference: tuple[float, ...] = (-4.0, 0.0, 0.0, 8.0)  # reference-answer mode (derived points)
    linear: tuple[str, ...] = ()  # modes whose map is the weighted sum itself, not its logistic

    def probability(self, cosine: np.ndarray | float) -> np.ndarray | float:
        return 1.0 / (1.0 + np.exp(-(self.slope * np.asarray(cosine) + self.bias)))

    def coefficients(self, mode: str) -> tuple[float, ...]:
        return {"rubric": self.rubric, "rubric_noref": self.rubric_noref}.get(mode, self.reference)

    def score(self, mode: str, readings: Sequence[float]) -> float:
        """0–5 from an answer's (whole, points, coverage) with the mode's map."""
        return score_from(readings, self.coefficients(mode), linear=mode in self.linear)


class Matcher:
    """Encodes texts in the fine-tuned space, with a per-text cache (points repeat a lot)."""

    def __init__(self, weights: Path | None = WEIGHTS):
        self.weights = weights
        self.fitted = Fitted()
        self._model = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def _load(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load_model(self.weights)
                    self.fitted = read_fitted(self.weights)
        return self._model

    @property
    def model(self):
        """The SentenceTransformer behind the matcher (loaded on first use)."""
        return self._load()

    def clear(self) -> None:
        """Forget every cached vector (benchmarks measure cold runs)."""
        self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, shape (len(texts), 384); cached per text."""
        model = self._load()
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            vecs = model.encode(
                [normalise(t) for t in todo],
                batch_size=64,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ).astype(np.float32)
            for t, v in zip(todo, vecs, strict=True):
                self._cache[t] = v
            while len(self._cache) > CACHE_CAP:
                self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, 384), np.float32)
        return np.stack([self._cache[t] for t in texts])


def _load_model(weights: Path | None):
    from mockloop.embeddings import get_encoder

    base = get_encoder()
    if weights is None or not Path(weights).exists():
        return base  # the plain encoder: the fit's baseline, and what a fit starts from
    import copy

    from safetensors.torch import load_file

    model = copy.deepcopy(base)
    state = {k: v.float() for k, v in load_file(str(weights)).items()}
    missing = model[0].auto_model.load_state_dict(state, strict=False)
    if missing.unexpected_keys:
        raise ValueError(f"{weights}: unexpected weights {missing.unexpected_keys[:3]}")
    model.eval()
    return model


def read_fitted(weights: Path | None) -> Fitted:
    """The fitted numbers stored in the weights file's metadata (defaults when absent)."""
    if weights is None or not Path(weights).exists():
        return Fitted()
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as fh:
        meta = fh.metadata() or {}
    raw = json.loads(meta.get("fitted", "{}"))
    known = Fitted.__dataclass_fields__
    return Fitted(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in known}
    )


@lru_cache(maxsize=1)
def shipped() -> Matcher:
    """The matcher the grader uses: the package's fitted weights, loaded on first use."""
    return Matcher(WEIGHTS)
