"""Text plumbing for the offline grader: answer spans with offsets, tokens, content words.

Covers: cutting an answer into sentence and clause spans whose `quote` is always a verbatim
substring of the answer; word tokens (any script, so non-English text tokenises); stemmed content
words for lexical evidence; negation cues. Leaves out: any scoring (see scoring.py, offline.py).

>>> [s.quote for s in segment("Dropout drops units; it regularises. Done")]
['Dropout drops units; it regularises. Done', 'Dropout drops units; it regularises.', 'Dropout drops units', 'Done']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)
# A sentence ends at . ! ? followed by whitespace (so 0.5 stays whole), or at a line break / bullet.
_SENT_END = re.compile(r"(?<=[.!?])\s+|\n\s*(?:[-*•]|\d+[.)])?\s*|\r")
CLAUSE_CUT = re.compile(
    r"\s*[;:]\s+|,\s+(?=(?:and|but|so|which|because|while|whereas|since|then)\b)"
    r"|\s+(?=(?:because|so that|whereas|but|since|which means|in order to)\b)",
    re.IGNORECASE,
)

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "and",
        "or",
        "but",
        "if",
        "then",
        "so",
        "as",
        "by",
        "with",
        "from",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "we",
        "you",
        "i",
        "me",
        "my",
        "our",
        "us",
        "your",
        "do",
        "does",
        "did",
        "done",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "shall",
        "very",
        "just",
        "than",
        "too",
        "also",
        "which",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "why",
        "how",
        "into",
        "about",
        "out",
        "off",
        "again",
        "some",
        "any",
        "each",
        "other",
        "such",
        "own",
        "both",
        "here",
        "s",
        "t",
        "one",
        "get",
        "got",
        "make",
        "makes",
        "made",
        "use",
        "uses",
        "used",
        "using",
        "like",
        "well",
        "yes",
        "ok",
        "okay",
        "really",
        "actually",
        "basically",
    ]
)
NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nothing",
        "neither",
        "nor",
        "cannot",
        "can't",
        "don't",
        "doesn't",
        "didn't",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "won't",
        "wouldn't",
        "shouldn't",
        "couldn't",
        "hasn't",
        "haven't",
        "hadn't",
        "without",
        "lack",
        "lacks",
    ]
)

_stemmer = Stemmer.Stemmer("english")


@dataclass(frozen=True)
class Span:
    """A piece of the answer: [start, end) offsets and the verbatim text between them."""

    start: int
    end: int
    quote: str
    kind: str  # sentence · clause · whole


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens; `"Don't over-fit!"` → `["don't", "over", "fit"]`."""
    return [t.replace("’", "'") for t in _WORD.findall(text.lower())]


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def content_words(text: str) -> list[str]:
    """Stemmed tokens that carry meaning: `"The models overfit"` → `["model", "overfit"]`."""
    return [_stem(t) for t in tokens(text) if t not in STOPWORDS and t not in NEGATIONS]


def is_negated(text: str) -> bool:
    """True when the text carries a negation cue ("not", "no longer", "n't", "without")."""
    return any(t in NEGATIONS or t.endswith("n't") for t in tokens(text))


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in " \t\r\n-*•,;:":
        start += 1
    while end > start and text[end - 1] in " \t\r\n,;:":
        end -= 1
    return start, end


def cut_spans(text: str, pattern: re.Pattern, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of the trimmed, non-empty pieces of `text[start:end]` between `pattern`'s matches."""
    out, cursor = [], start
    for m in pattern.finditer(text, start, end):
        if m.start() > cursor:
            out.append((cursor, m.start()))
        cursor = m.end()
    if cursor < end:
        out.append((cursor, end))
    return [(a, b) for a, b in (_trimmed(text, a, b) for a, b in out) if b > a]


def sentences(text: str) -> list[Span]:
    """Sentence spans (also cut at line breaks and bullets), offsets into `text`."""
    return [Span(a, b, text[a:b], "sentence") for a, b in cut_spans(text, _SENT_END, 0, len(text))]


def segment(text: str, *, max_spans: int = 800, whole_max_words: int = 80) -> list[Span]:
    """Sentences, their clauses (≥ 3 words) and, for short answers, the whole answer.

    Spans are de-duplicated on their normalised text, so padding by repetition adds nothing.
    Long answers keep the first `max_spans` spans (the caller reports the truncation).
    """
    spans: list[Span] = []
    seen: set[str] = set()

    def add(span: Span) -> None:
        key = " ".join(tokens(span.quote))
        if key and key not in seen:
            seen.add(key)
            spans.append(span)

    sents = sentences(text)
    distinct = {" ".join(tokens(s.quote)) for s in sents}
    if len(distinct) > 1 and len(tokens(text)) <= whole_max_words:
        a, b = _trimmed(text, 0, len(text))
        add(Span(a, b, text[a:b], "whole"))
    for s in sents:
        if len(spans) >= max_spans:
            break
        add(s)
        clauses = cut_spans(text, CLAUSE_CUT, s.start, s.end)
        if len(clauses) > 1:
            for a, b in clauses:
                if len(tokens(text[a:b])) >= 3:
                    add(Span(a, b, text[a:b], "clause"))
    return spans[:max_spans]
