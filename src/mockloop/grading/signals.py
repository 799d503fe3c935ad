"""Surface signals the offline grader reads from an answer, beyond matching key points.

Covers: text addressed to the grader (prompt injection), quantities, first-person ownership,
STAR cues, decisions and their justifications, bare keyword lists. Each detector is a pure
function of the text, with the spans it found, so feedback can quote them.
Leaves out: how signals change a score (offline.py and scoring.py decide that).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mockloop.grading.spans import STOPWORDS, Span, content_words, sentences, tokens

# Sentences that talk to the grader rather than answer the question. They are content only:
# stripped before matching, so they can never cover a key point or raise a score.
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(rubric|instructions?|criteria|"
    r"grading|grader|rules|prompt|above|previous)\b"
    r"|\b(give|grade|score|rate|award|assign|mark)\b.{0,30}\b(5|five|full marks?|maximum|max|"
    r"perfect|top|highest|strong hire|10/10|100%)\b"
    r"|\b(you are|act as|pretend to be|as the)\b.{0,20}\b(grader|evaluator|examiner|judge|"
    r"assistant|ai|language model|system)\b"
    r"|^\s*(system|assistant|grader|instruction)s?\s*:"
    r"|\b(this|my) answer (is|deserves|should (get|receive|be graded))\b.{0,30}"
    r"\b(perfect|excellent|5|five|full|hire|correct)\b"
    r"|\b(overall|score|hire_signal|grade)\"?\s*[:=]\s*\"?(5|strong hire)",
    re.IGNORECASE | re.MULTILINE,
)

_QUANTITY = re.compile(
    r"(?<![\w.])[$€£]?\d[\d,]*(?:\.\d+)?\s*(?:%|percent|pp\b|x\b|×|ms\b|milliseconds?|s\b|"
    r"sec(?:ond)?s?\b|minutes?|hours?|days?|weeks?|months?|k\b|m\b|million|billion|thousand|"
    r"users|customers|qps|rps|requests|engineers|people|points?|bps|basis points|gb|tb|"
    r"dollars|usd)"
    r"|(?<![\w.])(?:from|to|by)\s+[$€£]?\d[\d,]*(?:\.\d+)?\b"
    r"|\b(?:doubled|tripled|halved|quadrupled)\b"
    r"|\b\d+(?:\.\d+)?\s*(?:auc|ndcg|precision|recall|f1|ctr|accuracy)\b"
    r"|\b(?:auc|ndcg|precision|recall|f1|ctr|accuracy|latency|revenue|conversion)\b[^.]{0,25}?"
    r"\b\d+(?:\.\d+)?\b",
    re.IGNORECASE,
)

_FIRST_SING = frozenset({"i", "i'm", "i've", "i'd", "i'll", "me", "my", "mine", "myself"})
_FIRST_PLUR = frozenset({"we", "we're", "we've", "we'd", "we'll", "us", "our", "ours"})

_DECISION = re.compile(
    r"\b(chose|choose|decided|decide|picked|went with|opted|selected|switched to|settled on|"
    r"moved to|replaced|instead of|rather than|preferred|prioriti[sz]ed|traded)\b",
    re.IGNORECASE,
)
_JUSTIFY = re.compile(
    r"\b(because|since|so that|so we|so i|trade-?offs?|at the cost of|in exchange|which (meant|"
    r"let|allowed|gave|cut|saved)|given that|due to|the reason|as it|as they|this (let|allowed|"
    r"meant|cut|saved)|in order to|to avoid|to reduce|to keep|outweighed|cheaper|faster|"
    r"simpler|latency|accuracy|cost)\b"
    r"|(^|[,;:]\s*)to (hit|meet|fit|stay within|save)\b",  # "To hit the deadline, we …"
    re.IGNORECASE,
)

STAR_CUES: dict[str, re.Pattern] = {
    "situation": re.compile(
        r"\b(at my (previous|last|former|current)|when i was|last (year|quarter)|in 20\d\d|"
        r"our team|my team|the team|we had|we were|there was|i was working|i joined|"
        r"at (a|an|the) \w+ (company|startup|team))\b",
        re.IGNORECASE,
    ),
    "task": re.compile(
        r"\b(my (goal|task|job|role|responsibility|mandate)|i was (asked|responsible|tasked|"
        r"assigned|in charge)|i owned|i needed to|i had to|we needed to|the goal was|"
        r"needed to|had to|the deadline|the challenge was)\b",
        re.IGNORECASE,
    ),
    "action": re.compile(
        r"\bi (\w+ed|built|led|wrote|set up|ran|met|made|took|drove|broke|chose|sat|spoke|"
        r"found|began|put|sought|brought|taught|did)\b",
        re.IGNORECASE,
    ),
    "result": re.compile(
        r"\b(as a result|in the end|eventually|ultimately|resulted|led to|the outcome|we shipped|"
        r"we launched|shipped|launched|reduced|increased|improved|cut|saved|grew|dropped|"
        r"raised|lowered|won|delivered|finished|fell|rose|went (up|down) by|"
        r"became the (\w+'s |\w+ )?(standard|default)|has (since )?blocked)\b"
        r"|\b(went from [$€£]?\d|handled \d|lift of \d|\d[\d.]*\s?[x×] (lift|improvement|speed-?up))"
        r"|\b(up|down) (by )?\d[\d.,]*\s*(%|percent\b|points?\b|pp\b|x\b|×)",
        re.IGNORECASE,
    ),
}
# Decisions the answer does not owe a reason for: someone else's ("She chose to exclude
# billing", "My manager decided to cut the scope") and hindsight ("Looking back, we should have
# scoped it rather than…"). A counterfactual reason ("…because we would have missed it") stays.
_THEIRS = re.compile(
    r"\b(she|he|they|the (pm|vendor|client|customer|director|manager|ceo|cto|business)|"
    r"my (manager|director|lead|boss|pm)|stakeholders)\s+(\w+\s+)?(chose|decided|picked|opted|"
    r"selected|went with|preferred|prioriti[sz]ed|settled on|switched to)\b",
    re.IGNORECASE,
)
_HINDSIGHT = re.compile(r"\b(i|we) should have\b|^\W*(looking back|in hindsight)\b", re.IGNORECASE)
_REFLECTION = re.compile(
    r"\b(i learned|i learnt|lesson|next time|in hindsight|looking back|i would (now|do|have)|"
    r"differently|since then|taught me|i now)\b",
    re.IGNORECASE,
)


@dataclass
class Signals:
    """What the detectors found in one answer."""

    injections: list[str] = field(default_factory=list)
    quantities: list[str] = field(default_factory=list)
    first_singular: int = 0
    first_plural: int = 0
    star: dict[str, bool] = field(default_factory=dict)
    reflection: bool = False
    decisions: list[str] = field(default_factory=list)
    unjustified: list[str] = field(default_factory=list)
    justified_later: list[str] = field(default_factory=list)  # only in a follow-up's answer
    keyword_list: bool = False

    @property
    def ownership(self) -> float:
        """Share of first-person pronouns that are singular; 0.5 when there are none."""
        total = self.first_singular + self.first_plural
        return 0.5 if total == 0 else self.first_singular / total


def injection_spans(text: str) -> list[Span]:
    """Sentences of the answer that address the grader instead of the question."""
    return [s for s in sentences(text) if _INJECTION.search(s.quote)]


def quantities(text: str) -> list[str]:
    """Measured quantities: `"cut p99 latency by 30% to 80 ms"` → `["by 30", "80 ms"]`-like spans."""
    return [m.group(0).strip() for m in _QUANTITY.finditer(text)]


def decisions(text: str) -> tuple[list[str], list[str], list[str]]:
    """(decision sentences, those left unjustified, those justified only in a later answer).

    A decision is one the candidate or their team made (not someone else's, not hindsight); it
    is justified by a reason in its own or the next sentence. In an interview the
    answer is the candidate's answers joined by blank lines, each follow-up's answer after the
    one it followed up; a decision still open counts as justified by a later answer that gives
    a reason naming what was decided (a content word of the decision besides the verb), or, for
    the first open decision, a later answer that opens with a reason (the reply to "why that
    choice?", which the round asks about the first unjustified decision). Each later answer
    justifies one decision at most.
    """
    sents = [s.quote for s in sentences(text)]
    found, open_ = [], []
    for i, s in enumerate(sents):
        if not _DECISION.search(s) or _THEIRS.search(s) or _HINDSIGHT.search(s):
            continue
        found.append(s)
        nxt = sents[i + 1] if i + 1 < len(sents) else ""
        if not (_JUSTIFY.search(s) or _JUSTIFY.search(nxt)):
            open_.append(s)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    later: list[str] = []
    used: set[int] = set()
    for n, d in enumerate(open_):
        start = next((i for i, p in enumerate(paragraphs) if d in p), None)
        if start is None:
            continue
        subject = set(content_words(_DECISION.sub(" ", d)))
        for j in range(start + 1, len(paragraphs)):
            if j in used:
                continue
            sents_j = [x.quote for x in sentences(paragraphs[j])]
            names_it = any(_JUSTIFY.search(x) and subject & set(content_words(x)) for x in sents_j)
            replies = n == 0 and bool(sents_j) and bool(_JUSTIFY.search(sents_j[0]))
            if names_it or replies:
                later.append(d)
                used.add(j)
                break
    return found, [d for d in open_ if d not in later], later


def is_keyword_list(text: str) -> bool:
    """A bare list of terms: ≥ 3 short items and almost no function words between them.

    `"bias, variance, L2, dropout, early stopping"` → True; a sentence explaining them → False.
    """
    items = [i for i in re.split(r"[,;\n/|]+", text) if i.strip()]
    toks = tokens(text)
    if len(items) < 3 or not toks:
        return False
    short = sum(len(tokens(i)) <= 3 for i in items) / len(items)
    function_share = sum(t in STOPWORDS for t in toks) / len(toks)
    return short >= 0.7 and function_share < 0.2


def read_signals(text: str) -> Signals:
    """Run every detector over the answer (already stripped of injection sentences)."""
    toks = tokens(text)
    found, unjustified, later = decisions(text)
    return Signals(
        quantities=quantities(text),
        first_singular=sum(t in _FIRST_SING for t in toks),
        first_plural=sum(t in _FIRST_PLUR for t in toks),
        star={name: bool(p.search(text)) for name, p in STAR_CUES.items()},
        reflection=bool(_REFLECTION.search(text)),
        decisions=found,
        unjustified=unjustified,
        justified_later=later,
        keyword_list=is_keyword_list(text),
    )


# What a rubric's `signal:` names: a 0–1 reading of the answer blended into a criterion's score.
SIGNALS: dict[str, Callable[[Signals], float]] = {
    "star.situation": lambda s: float(s.star.get("situation", False)),
    "star.task": lambda s: float(s.star.get("task", False)),
    "star.action": lambda s: float(s.star.get("action", False)),
    "star.result": lambda s: float(s.star.get("result", False)),
    "quantities": lambda s: min(1.0, len(s.quantities) / 2),
    "ownership": lambda s: s.ownership,
    "reflection": lambda s: float(s.reflection),
    "decisions": lambda s: 1 - len(s.unjustified) / len(s.decisions) if s.decisions else 0.0,
}

# What a red flag's `detector:` names: whether the answer shows that flaw (signals, word count).
DETECTORS: dict[str, Callable[[Signals, int], bool]] = {
    "we-only": lambda s, n: s.first_plural >= 2 and s.first_singular == 0,
    "unjustified-decision": lambda s, n: bool(s.unjustified),
    "no-number": lambda s, n: n >= 15 and not s.quantities,
    "no-result": lambda s, n: n >= 15 and not s.star.get("result"),
    "no-action": lambda s, n: n >= 15 and not s.star.get("action"),
}
