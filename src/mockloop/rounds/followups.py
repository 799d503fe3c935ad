"""Follow-ups that target what an answer missed without revealing the rubric, and the leak check.

Covers:
- `missed_points(grade)`: the missed key points, most costly criterion first;
- `leaks(text, question)`: rubric key points, red flags or reference-answer sentences that a text
  shown to the candidate repeats (any 4-word run with at least two content words that the
  question's own prompt does not already contain; a short point leaks when repeated whole);
- `choose_follow_up(...)`: the bank's own follow-up nearest a missed point, else an interviewer
  question built around what the point is about (its subject phrase, `subject_phrase`) or at
  the level of its criterion, grounded in the candidate's notes; never twice in a round;
- `subject_phrase(point)` / `phrasings(point, criterion)` / `hint_for(point, criterion)`: what a
  point is about as a short noun phrase ("the sampling probability"), and the interviewer
  questions and hints built around it, worded for the round's voice (knowledge, design, story);
- `nearest_point(text, question)`: which key point a follow-up is about (the eval's check);
- `covered_so_far(points, said, ...)`: the points the round's answers so far already cover, by
  the grader or by their own words (`said_already`), which a follow-up must not ask about;
- `worth_probing(grade, answer)`: whether an answer said enough to follow up on at all.
Leaves out: phrasing with an LLM (rounds/base.py does that, then re-checks for leaks).

    >>> leaks("Why would clicks from the old ranker mislead training?", q)   # no 4-word run
    []
    >>> leaks("Labels from clicks are biased by position. Discuss.", q)
    ['Labels from clicks are biased by position, so log the position shown']
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mockloop.grading.signals import quantities
from mockloop.grading.spans import STOPWORDS, content_words, tokens
from mockloop.models import Criterion, Grade, Question, Rubric

NGRAM = 4
MIN_TARGET_COSINE = 0.3  # a bank follow-up must be at least this close to the point it targets
MIN_PHRASE_SCORE = (
    0.45  # below this a point has no phrase worth asking about (criterion-level then)
)
META_WORDS = frozenset(
    [
        "asks",
        "mentions",
        "mention",
        "explains",
        "explain",
        "describes",
        "describe",
        "states",
        "state",
        "names",
        "name",
        "says",
        "discusses",
        "notes",
        "gives",
        "covers",
        "shows",
        "includes",
        "include",
        "considers",
        "consider",
        "candidate",
        "answer",
        "measures",
        "measure",
        "e",
        "g",
        "eg",
        "etc",
        "like",
        "behind",
        "against",
        "within",
        "without",
        "across",
        "between",
        "through",
        "during",
        "before",
        "after",
        "per",
        "via",
        "instead",
        "rather",
        "least",
        "every",
        "whether",
        "while",
        "whose",
        "based",
        "using",
        "used",
        "including",
        "versus",
        "another",
        "other",
        "others",
        "something",
        "someone",
    ]
)


def _norm_tokens(text: str) -> list[str]:
    return [t.lower().replace("’", "'") for t in tokens(text)]


def _ngrams(toks: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text or "") if len(s.strip()) > 3]


def secrets(question: Question) -> list[str]:
    """Everything a question shown to the candidate must not repeat."""
    out: list[str] = []
    if question.rubric is not None:
        for c in question.rubric.criteria:
            out += c.key_points + c.red_flags
    out += _sentences(question.reference_answer)
    return [s for s in out if s.strip()]


def leaks(text: str, question: Question, allowed: str = "") -> list[str]:
    """The secrets of `question` that `text` repeats (see the module docstring)."""
    toks = _norm_tokens(text)
    shown = _ngrams(toks, NGRAM)
    free = _ngrams(_norm_tokens(question.prompt + "\n" + allowed), NGRAM)
    joined = " " + " ".join(toks) + " "
    free_joined = " " + " ".join(_norm_tokens(question.prompt + " " + allowed)) + " "
    found = []
    for secret in secrets(question):
        stoks = _norm_tokens(secret)
        content = [t for t in stoks if t not in STOPWORDS]
        if len(stoks) < NGRAM:
            phrase = " " + " ".join(stoks) + " "
            if len(content) >= 2 and phrase in joined and phrase not in free_joined:
                found.append(secret)
            continue
        for gram in _ngrams(stoks, NGRAM) & shown:
            if gram not in free and sum(t not in STOPWORDS for t in gram) >= 2:
                found.append(secret)
                break
    return found


def missed_points(grade: Grade) -> list[str]:
    """Missed key points, the criterion that cost most (weight × shortfall) first."""
    ranked = sorted(grade.criteria, key=lambda c: -c.weight * (1.0 - c.score))
    return [p for c in ranked for p in c.missing]


def all_points(question: Question) -> list[str]:
    """The key points an answer is graded on (derived from the reference when there's no rubric,
    exactly as the offline grader derives them)."""
    if question.rubric is None:
        from mockloop.grading.reference import derive_key_points, split_references

        refs = split_references(question.reference_answer or "")
        return [p for ref in refs for p in derive_key_points(ref)]
    return [p for c in question.rubric.criteria for p in c.key_points]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# -- what a missed point is about: a subject phrase -------------------------------------------
# No tagger model ships offline, so a small rule-based chunker cuts a point into runs of content
# words (cut at function words, punctuation and verbs); the bundled encoder then picks, among the
# runs' short spans, the one closest in meaning to the whole point (KeyBERT-style), preferring
# two- and three-word spans that end on the run's head word and that neither the question nor the
# other key points share. Interviewer questions are built around that phrase.
_PTOKEN = re.compile(r"\w[\w'’\-–/+]*[\w+]|\w|[^\w\s]", re.UNICODE)
DETERMINERS = _words(
    "a an the each every its their this that these those my our your his her some any no all "
    "both either neither another such which whose what"
)
_THE = _words("the each every this these those its their")
_PREPOSITIONS = _words("on in at to into with by for from across over through toward towards")
_OBJECT = DETERMINERS | _words("what which how where when why whether")
_YOUR = _words("my our your")
FUNCTION_WORDS = DETERMINERS | _words(
    # prepositions and conjunctions
    "of in on at by for with from to into onto over under between across through per via "
    "against without within toward towards about after before during than as like upon "
    "behind beyond among around along near off out up down since until unlike despite "
    "except plus versus vs and or but nor so yet because while whereas although though if "
    "unless whether then that who whom when where why how "
    # pronouns and auxiliaries
    "i me we us you he she it they them mine ours yours hers theirs one ones itself "
    "themselves myself ourselves yourself is are was were be been being am has have had "
    "do does did can could must should will would may might shall cannot "
    # adverbs, quantifiers and vague words that never head a phrase worth asking about
    "not never only just also even still already always often usually sometimes rather "
    "quite very too much more most less least far well there here again instead actually "
    "really typically roughly nearly almost otherwise else once twice many few several "
    "other others same own enough e g eg ie etc something someone anything everything "
    "nothing way ways thing things kind kinds lot lots part parts case cases set "
    "first second third last next new old good bad better best worse worst right wrong "
    "greater higher lower larger smaller closer faster slower cheaper bigger longer shorter "
    "wider deeper stronger weaker earlier later close back highest lowest largest smallest "
    "fastest latest biggest given toward whatever half double stake sake two three four five "
    "six seven eight nine ten dozen hundred hundreds thousand thousands million millions "
    "billion billions front"
)
_SUBJECTS = _words("i we you he she it they who that which")
_MODALS = _words(
    "to can could must should will would may might shall cannot can't won't don't doesn't "
    "didn't wouldn't shouldn't couldn't"
)
_AUX_TO = _words(
    "to is are was were be been being am can could must should will would may might shall "
    "do does did not never"
)
# Verbs that cut a run (with their -s/-ed/-ing forms). Words that are nouns as often as verbs
# in ML writing (test, update, change, sample, rank, drop, ...) cut only in verb position:
# first in the point (an imperative), or after an auxiliary or "to".
VERB_LEMMAS = _words(
    "accept add adapt adjust affect aggregate align allow apply argue assign assume avoid "
    "become begin believe bring build calibrate capture catch cause check choose collect "
    "combine come compare compute consider contain continue convert correct create decay "
    "decide decrease define degrade delete depend derive describe detect differ discuss "
    "distinguish divide drive enable encourage ensure estimate evaluate exceed exist expect "
    "explain expose extend fail favor favour fine-tune fit follow force forget freeze "
    "generalize generalise get give go grow guarantee handle happen help hide hold hurt "
    "identify ignore improve include increase infer inject introduce involve keep know lead "
    "learn leave let limit look lose lower maintain make mean measure merge mislead miss "
    "monitor move multiply normalize normalise observe obtain offer own pass pay penalize "
    "penalise pick predict prefer prevent produce propose prove provide push raise reach "
    "reduce refer reflect regularize regularise relate relay rely remain remove replace "
    "replay represent require rescale resolve retrain reuse saturate say scale see select "
    "send separate shift ship show shrink skip solve speed stabilize stabilise stay store "
    "subtract suffer suggest survive swap take tell tend tie track train transfer treat "
    "trigger try tune turn understand use validate vanish vary violate want warm weigh "
    "write yield zero enforce read rotate dominate suit beat halve replicate deduplicate embed "
    "hash tokenize "
    "downsample upsample recalibrate rerank re-rank retrieve attend decode multiply "
    "re-index reindex"
)
NOUN_VERBS = _words(
    "test update change sample rank drop cut split report point plan state list name return "
    "support end flag block slice cap match need work fix trade run set start stop cost "
    "step release balance answer control feed gain shift track transfer yield scale look "
    "store train limit query call load drift spike decay lead log cache filter mask index "
    "shard score"
)
_GERUNDS = _words(  # -ing forms that name the technique itself
    "training sampling weighting hashing scaling ranking serving logging learning tuning "
    "fine-tuning downsampling upsampling batching caching pooling masking padding clipping "
    "pruning smoothing labeling labelling encoding embedding indexing routing testing "
    "monitoring retraining filtering matching boosting bagging stopping dropping warming "
    "shuffling reranking re-ranking chunking prompting decoding planning spending "
    "onboarding building modelling modeling engineering thinking"
)
META_LEADS = _words(  # a point that says what the candidate does: "Names the baseline ..."
    "asks mentions explains describes states names says discusses notes gives covers shows "
    "includes considers measures knows proposes identifies compares checks uses recognizes "
    "recognises distinguishes defines lists separates matches connects relates justifies "
    "quantifies ties backs draws owns offers suggests points keeps sets takes adds avoids "
    "picks chooses reports admits argues acknowledges prefers"
)
GENERIC = _words(
    "model models data system approach method methods result results answer problem "
    "problems users user team teams project number numbers time metric metrics value values "
    "feature features training example examples question issue issues change changes step "
    "steps goal goals impact work decision decisions performance quality information signal "
    "signals candidate candidates item items use amount level levels process output outputs "
    "input inputs situation task action lesson story person people company product day days "
    "week weeks hour hours minute minutes month months year years seconds millisecond "
    "milliseconds ms error errors mistake mistakes"
)
_PAST = _words(
    "chose took went gave got kept ran saw told found led brought thought wrote drove grew drew "
    "fell began became left lost sent spent paid held meant sold bought caught taught fed rose "
    "shrank did made built"
)
_NOT_PLURAL = ("ss", "us", "is", "as", "sis", "ness", "'s", "ics")
_MASS = ("ing", "ity", "ness", "ism", "ance", "ence", "ion", "ics", "age", "ment", "ure")
_ADJ_SUFFIXES = ("ible", "able", "ous", "ive", "ful", "less")
_ADJ_NOUNS = _words(
    "objective alternative incentive initiative negative positive executive directive primitive "
    "variable table cable label"
)
_ADJECTIVES = _words(
    "random small large high low full single different separate similar whole entire main "
    "certain common simple hard easy fast slow cheap expensive important possible available real "
    "true false zero early daily weekly monthly hourly yearly top total average overall final "
    "initial global local online offline linear deep wide shallow multiple several various fair "
    "cross"
)
_KEEP_LY = _words("early daily weekly monthly hourly yearly family anomaly supply reply")
_PARTICIPLES = _words(
    "given chosen known taken shown seen held built kept put run done made found left lost sent "
    "spent paid told brought caught taught thought meant led fed written driven broken frozen "
    "stuck "
    "grown drawn"
)


def _verb_forms(lemmas: frozenset[str]) -> frozenset[str]:
    forms: set[str] = set()
    for v in lemmas:
        forms.add(v)
        if v.endswith("e"):
            forms |= {v + "s", v + "d", v[:-1] + "ing"}
        elif v.endswith("y") and v[-2:-1] not in ("a", "e", "i", "o", "u"):
            forms |= {v[:-1] + "ies", v[:-1] + "ied", v + "ing"}
        elif v.endswith(("s", "sh", "ch", "x", "z", "o")):
            forms |= {v + "es", v + "ed", v + "ing"}
        else:
            forms |= {v + "s", v + "ed", v + "ing"}
            if len(v) >= 3 and v[-1] in "bdgmnprt" and v[-2] in "aeiou" and v[-3] not in "aeiou":
                forms |= {v + v[-1] + "ed", v + v[-1] + "ing"}
    return frozenset(forms)


VERB_FORMS = _verb_forms(VERB_LEMMAS)
NOUN_VERB_FORMS = _verb_forms(NOUN_VERBS)


@dataclass(frozen=True)
class Phrase:
    """A short noun phrase of a key point, as an interviewer would say it."""

    words: tuple[str, ...]
    article: str = ""  # "", "the" or "your" (the point said "my"/"our")
    plural: bool = False
    stated: bool = False  # the candidate's answer already uses it

    @property
    def text(self) -> str:
        article, first = self.article, self.words[0]
        spelled = first.isupper() and len(first) > 1  # MLP, AUC: read letter by letter
        if article == "a" and (first[:1].lower() in "aeiou" or spelled and first[0] in "FHLMNRSX"):
            article = "an"
        return " ".join(((article,) if article else ()) + self.words)


def _low(tok: str) -> str:
    return tok.lower().replace("’", "'")


def _is_word(tok: str) -> bool:
    return tok[:1].isalnum() or tok[:1] == "_"


def _is_verb(toks: list[str], i: int, run: list[str]) -> bool:
    """Whether toks[i] acts as a verb here (a cut between phrases), by position and word lists."""
    low = _low(toks[i])
    prev = _low(toks[i - 1]) if i else ""
    nxt = _low(toks[i + 1]) if i + 1 < len(toks) else ""
    if low in _GERUNDS:
        return False
    after_det = prev in DETERMINERS
    if low in _PAST:
        return not after_det  # "I chose", but "the chosen model" never reaches here
    known = low in VERB_FORMS or low in NOUN_VERB_FORMS
    if i == 0 and (known or low in META_LEADS):
        return True  # "Trades fraud losses ...", "Monitor validation loss ...", "Names ..."
    if i == 0 and _plural(low) and _is_word(nxt) and nxt not in VERB_FORMS:
        # a rubric point opening on a verb: "Refreshes product embeddings ...", "Retrains daily"
        # (a plural subject is followed by its verb or a preposition instead)
        return nxt in DETERMINERS or (nxt not in FUNCTION_WORDS and nxt not in STOPWORDS)
    if prev in _MODALS:
        return True  # "to estimate", "can memorize", "cannot recur"
    if prev in _SUBJECTS and (known or low.endswith("ed")):
        return True  # "as they gain views", "we shipped"
    if prev in _AUX_TO and (known or low.endswith("ed") or low in _PARTICIPLES or _adjective(low)):
        return True  # "is handled", "must be relayed", "is active"
    if low in VERB_FORMS and low not in NOUN_VERB_FORMS:
        return not after_det  # "The fix subtracts", "deleting stale versions"; not "the estimated"
    object_next = (
        bool(nxt)
        and _is_word(nxt)
        and (nxt not in FUNCTION_WORDS or nxt in _OBJECT)
        and (nxt not in VERB_FORMS or nxt.endswith("ed"))  # "feature updates let ...": verb next
    )
    singular_s = bool(run) and low.endswith("s") and not _plural(run[-1])
    if low in NOUN_VERB_FORMS and low.endswith("s") and not run and not after_det and _plural(nxt):
        return True  # "M controls links per node": two plurals in a row start with a verb
    if low in NOUN_VERB_FORMS and run and object_next:
        # A noun-verb between a subject and its object: "the buffer stores position",
        # "auctions change what the user sees" (the number agrees), never "feature updates are".
        return _plural(run[-1]) != low.endswith("s")
    if singular_s and (nxt in DETERMINERS or (low in NOUN_VERB_FORMS and nxt in _PREPOSITIONS)):
        return True  # "a single feature dominates the ...", "each fold trains on ..."
    ends_run = not nxt or not _is_word(nxt) or nxt in FUNCTION_WORDS
    return bool(run) and ends_run and (low.endswith("ed") or low in _PARTICIPLES)


def _runs(point: str) -> list[tuple[int, list[str], str, str]]:
    """(start index, tokens, the token just before, the token just after) for each run of
    content words."""
    toks = _PTOKEN.findall(point)
    runs: list[tuple[int, list[str], str, str]] = []
    cur: list[str] = []
    start, before = 0, ""
    for i, tok in enumerate(toks):
        low = _low(tok)
        cut = (
            not _is_word(tok)
            or low in FUNCTION_WORDS
            or low in META_WORDS
            or low in STOPWORDS
            or "_" in low
            or len(low) == 1
            or (len(low) == 2 and tok == low)  # a variable ("ef"), not an acronym ("ML", "KV")
            or ("/" in low and low != "a/b" and min(map(len, low.split("/"))) < 2)  # "α/r"
            or re.fullmatch(r"[\d.,]+", low) is not None
            or (low.endswith("ly") and len(low) > 4 and low not in _KEEP_LY)
            or _is_verb(toks, i, cur)
        )
        if cut:
            if cur:
                runs.append((start, cur, before, low))
            cur, before = [], low
            continue
        if not cur:
            start = i
        cur.append(tok)
    if cur:
        runs.append((start, cur, before, ""))
    return runs


def _display(tok: str, at_start: bool) -> str:
    """A word as it reads mid-sentence: acronyms and names keep their case."""
    if any(c.isupper() for c in tok[1:]) or any(c.isdigit() for c in tok):
        return tok
    parts = re.split(r"[-–/]", tok)
    if tok[:1].isupper() and (not at_start or (len(parts) > 1 and len(parts[0]) <= 2)):
        return tok  # a name mid-point (Bradley–Terry, Adam), or F-beta, A/B, K-means
    return tok.lower()


def _plural(word: str) -> bool:
    w = _low(word)
    return len(w) > 3 and w.endswith("s") and not w.endswith(_NOT_PLURAL)


def _adjective(word: str) -> bool:
    w = _low(word)
    return (w.endswith(_ADJ_SUFFIXES) and w not in _ADJ_NOUNS) or w in _ADJECTIVES


def phrase_candidates(point: str, max_tokens: int = 3) -> list[tuple[Phrase, bool, float]]:
    """Every short noun-phrase span of a point, with whether it ends on its run's head word and
    a penalty for a span that reads incomplete on its own ("the size" of the team; "torso" in
    "head, torso and tail queries").

    At most `max_tokens` leak-check tokens: a longer span copied from the point would be a
    4-word run of it, which is exactly what the leak check refuses.
    """
    out: list[tuple[Phrase, bool, float]] = []
    seen: set[tuple[str, ...]] = set()
    for start, run, before, after in _runs(point):
        # a possessive inside a run starts a new phrase: "each item's sampling probability"
        cut = max((j + 1 for j, t in enumerate(run[:-1]) if _low(t).endswith("'s")), default=0)
        for a in range(cut, len(run)):
            for b in range(a + 1, len(run) + 1):
                words = run[a:b]
                if len(tokens(" ".join(words))) > max_tokens:
                    break
                last = _low(words[-1])
                ends_run = b == len(run)
                of_next = ends_run and after == "of"
                listed = a == 0 and ends_run and before == "," and after in (",", "and", "or")
                if (
                    (len(words) == 1 and (of_next or listed))
                    or last.endswith(("ed", "'s"))
                    or last in _PARTICIPLES
                    or _adjective(last)
                    or (len(words) == 1 and (last in GENERIC or len(last) < 3))
                    or all(_low(w) in GENERIC for w in words)
                ):
                    continue
                at_start = start + a == 0
                shown = tuple(_display(w, at_start and k == 0) for k, w in enumerate(words))
                if shown in seen:
                    continue
                seen.add(shown)
                article = _article(
                    before, shown, at_start=start == 0, after_possessive=a == cut > 0
                )
                penalty = 0.15 if of_next else 0.0
                out.append((Phrase(shown, article, _plural(words[-1])), ends_run, penalty))
    return out


def _article(before: str, shown: tuple[str, ...], *, at_start: bool, after_possessive: bool) -> str:
    """How the phrase is introduced: as the point did ("the", "a", "my" → "your"), else "the"
    for a singular common noun the point used bare mid-sentence ("slices by market")."""
    if before in _YOUR:
        return "your"
    if before in ("a", "an"):
        return "a"
    if before in _THE or after_possessive:
        return "the"
    head = shown[-1]
    if (at_start and len(shown) == 1) or _plural(head) or head != head.lower():
        return ""  # "Dropout is ...", "fresh uploads", "ReLU", "per-head AUC"
    return "" if head.endswith(_MASS) else "the"  # "inverse propensity weighting"


def ranked_phrases(
    point: str, *, prompt: str = "", others: list[str] = (), answer: str = "", settings=None
) -> list[tuple[float, Phrase]]:
    """Candidate phrases of a point with their scores, best first (see `subject_phrase`)."""
    cands = phrase_candidates(point)
    if not cands:
        return []
    prompt_words = set(content_words(prompt))
    shared = {w for o in others if o != point for w in content_words(o)}
    said = set(content_words(answer))
    texts = [" ".join(p.words) for p, _, _ in cands]
    if settings is not None:
        vecs = _encode(texts + [point], settings)
        sims = vecs[:-1] @ vecs[-1]
    else:
        sims = np.zeros(len(cands))
    scored = []
    for (phrase, head, penalty), text, sim in zip(cands, texts, sims, strict=True):
        words = content_words(text)
        if not words:
            continue
        score = float(sim) + 0.06 * min(len(phrase.words), 3) + (0.2 if head else 0.0) - penalty
        score -= 0.25 * sum(w in prompt_words for w in words) / len(words)
        score -= 0.12 * sum(w in shared for w in words) / len(words)
        score -= 0.15 * sum(_low(w) in GENERIC for w in phrase.words) / len(phrase.words)
        stated = all(w in said for w in words)
        scored.append(
            (round(score, 6), Phrase(phrase.words, phrase.article, phrase.plural, stated))
        )
    scored.sort(key=lambda x: -x[0])
    return scored


def subject_phrase(
    point: str, *, prompt: str = "", others: list[str] = (), answer: str = "", settings=None
) -> Phrase | None:
    """The noun phrase a missed point is about, or None when the point has no clean one.

    `subject_phrase("The fix subtracts log of each item's sampling probability from its logit")`
    -> Phrase('the sampling probability'); the encoder decides between spans, so settings is
    needed (without it the longest head-final span wins).
    """
    ranked = ranked_phrases(point, prompt=prompt, others=others, answer=answer, settings=settings)
    if not ranked or (settings is not None and ranked[0][0] < MIN_PHRASE_SCORE):
        return None
    return ranked[0][1]


def _agree(template: str, phrase: Phrase) -> str:
    """Fill a template so its verbs and pronouns agree with the phrase."""
    many = phrase.plural
    text = template.format(
        P=phrase.text,
        does="do" if many else "does",
        is_="are" if many else "is",
        it="they" if many else "it",
        them="them" if many else "it",
        plays="play" if many else "plays",
        matters="matter" if many else "matters",
    )
    return text[0].upper() + text[1:]


# Question shapes by round voice ("knowledge": breadth, nlp, ranking; "design": mlsd; "story":
# deep dive, behavioral) and by what the missed point is: a reason, a comparison, a number, or
# (default) how something works. Within a shape the phrasing is picked by a stable hash of the
# point, so a round reads varied and the same answer always gets the same follow-up.
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "knowledge": {
        "how": [
            "How {does} {P} work, and what {does} {it} change here?",
            "What exactly {does} {P} do here, step by step?",
            "Walk me through {P}: what {does} {it} do, and why here?",
        ],
        "why": [
            "Why {does} {P} matter here?",
            "What goes wrong if {P} {is_} ignored?",
        ],
        "compare": [
            "How {does} {P} compare with the alternatives, and when would you pick {them}?",
            "Where {does} {P} sit in the trade-off here?",
        ],
        "number": [
            "Roughly what numbers go with {P}?",
            "Can you put rough numbers on {P}?",
        ],
        "stated": [
            "You mentioned {P}. Can you go one level deeper: how exactly {does} {it} work here?",
            "You brought up {P}. Why {does} {it} matter here?",
        ],
    },
    "design": {
        "how": [
            "Which part of your design takes care of {P}, and how?",
            "How would you handle {P} in this design?",
            "What would you do about {P} here?",
        ],
        "why": [
            "Why would {P} matter for this design, and what would you do about {them}?",
            "What goes wrong in this design if {P} {is_} ignored?",
        ],
        "compare": [
            "What would you weigh {P} against, and how would you decide?",
        ],
        "number": [
            "What scale would you design for? Put rough numbers on {P}.",
        ],
        "measure": [
            "How would you measure {P} here, and what result would change your decision?",
            "What would {P} tell you that your other metrics don't?",
        ],
        "stated": [
            "You mentioned {P}. How exactly would {it} work in your design?",
            "You brought up {P}. What would you watch out for there?",
        ],
    },
    # rapid-fire breadth: one short question, answered in a sentence
    "rapid": {
        "how": [
            "Briefly: what {does} {P} do here?",
            "In one line: how {does} {P} work?",
        ],
        "why": [
            "Briefly: why {does} {P} matter here?",
        ],
        "compare": [
            "Briefly: how {does} {P} compare with the alternatives?",
        ],
        "number": [
            "Roughly what number goes with {P}?",
        ],
        "stated": [
            "You said {P}. In one line, how {does} {it} work?",
        ],
    },
    "story": {
        "how": [
            "How did {P} shape what you did?",
            "Tell me more about {P}. What happened there?",
            "What did you do about {P}, concretely?",
        ],
        "why": [
            "Why did {P} matter in this case?",
        ],
        "compare": [
            "What did you weigh {P} against, and how did you decide?",
        ],
        "number": [
            "Can you put a number on {P}?",
        ],
        "stated": [
            "You mentioned {P}. What exactly did you do there?",
            "You brought up {P}. How did that play out?",
        ],
    },
}
HINTS = {
    "knowledge": "Think about {P}, and why {it} {matters} here.",
    "design": "Think about {P}, and how {it} would shape your design.",
    "story": "Think back to {P}, and what you did about {them}.",
}
# When a point has no clean phrase: a question at the level of its criterion (or stage).
# They differ from the stage and phase questions (mlsd.STAGE_QUESTIONS,
# deep_dive.PHASE_QUESTIONS), which the candidate has just been asked.
CRITERION_QUESTIONS: dict[str, list[str]] = {
    "requirements": ["Which constraint would shape this design the most, and why?"],
    "metrics": [
        "Which metric would you refuse to let get worse while you chase the main one?",
        "How would you measure success here?",
    ],
    "framing": ["How does the model's output turn into the decision the product makes?"],
    "data": ["How could the way the labels are collected bias what the model learns?"],
    "features": ["Which signal is still missing from your features?"],
    "model": ["Why that model and loss, rather than the alternatives?"],
    "offline_eval": ["What could make an offline win fail to show up online?"],
    "online_eval": ["What could make an online experiment here give a misleading answer?"],
    "serving": ["Which part of the system would break first at ten times the traffic?"],
    "monitoring": ["How would you notice the model getting worse before users complain?"],
    "background": ["Who was asking for this, and what would have happened without it?"],
    "alternatives": ["What was the strongest option you turned down, and why?"],
    "challenges": ["What made that hard, and what did you try that didn't work?"],
    "impact": ["How do you know the change came from your work and not something else?"],
    "reflection": ["Which part of it are you least happy with today?"],
    "situation": ["What was at stake when this happened?"],
    "task": ["What exactly was yours to deliver?"],
    "action": ["What did you do first, and why that?"],
    "result": ["How did it turn out in the end?"],
    "ownership": ["Which of those calls were yours?"],
    "quantified_result": ["How big was the effect, against what baseline?"],
    "mechanism": ["Walk me through the mechanism step by step: what actually happens?"],
    "problem": ["What problem does it solve in the first place?"],
    "why": ["Why does that work? What is the intuition?"],
    "diagnosis": ["How would you diagnose it from what you can observe?"],
    "fix": ["How would you fix it in practice?"],
    "fixes": ["How would you fix it in practice?"],
    "remedies": ["How would you fix it in practice?"],
    "definition": ["Can you define it precisely first?"],
    "definitions": ["Can you define the terms precisely first?"],
    "bias": ["Where could bias creep in here?"],
    "limits": ["Where does it stop working, and why?"],
    "measurement": ["How would you measure that?"],
    "eval": ["How would you evaluate it?"],
    "tradeoffs": ["What does it trade off, and when would you choose otherwise?"],
    "pitfalls": ["What can go wrong in practice, and how would you notice?"],
    "when": ["When would you reach for it, and when not?"],
    "use": ["When would you reach for it, and when not?"],
    "choice": ["How would you choose between the options here?"],
    "practice": ["What matters when you do this in practice?"],
}
_WHY = re.compile(
    r"\b(because|so that|so|since|which means|otherwise|to avoid|to prevent|causes?|caused|"
    r"leads? to|creates?|hurts?|biases|biased|misleads?|misleading|breaks?|fails?|prevents?|"
    r"mismatch|without)\b",
    re.IGNORECASE,
)
_COMPARE = re.compile(
    r"\b(than|versus|vs|instead of|rather than|trade-?offs?|trades?|compared|cheaper)\b",
    re.IGNORECASE,
)
_NUMBER_POINT = re.compile(r"\d|\b(percent|percentage|ms|milliseconds?|seconds?|million|billion)\b")
_ASKS_NUMBER = re.compile(
    r"\b(numbers?|numeric|percent(age)?s?|quantif\w*|magnitude|how much|by how)\b", re.IGNORECASE
)


def asks_for_a_number(point: str, criterion_id: str = "") -> bool:
    """Whether a point is about putting a number on something (moot once the answer has one)."""
    return criterion_id == "quantified_result" or bool(_ASKS_NUMBER.search(point))


def _shape(point: str, phrase: Phrase, has_numbers: bool) -> str:
    if phrase.stated:
        return "stated"
    if _NUMBER_POINT.search(point) and not has_numbers:
        return "number"
    if _COMPARE.search(point):
        return "compare"
    if _WHY.search(point):
        return "why"
    return "how"


def _rotate(options: list[str], key: str) -> list[str]:
    k = zlib.crc32(key.encode()) % len(options) if options else 0
    return options[k:] + options[:k]


MEASURE_IDS = frozenset(["metrics", "offline_eval", "online_eval", "measurement", "eval"])
STORY_SHAPES = ("stated", "number", "how")  # a story's "why" and trade-offs are the round's own
STAR_IDS = frozenset(
    ["situation", "task", "action", "result", "ownership", "quantified_result", "reflection"]
)


def phrasings(
    point: str,
    criterion_id: str = "",
    *,
    prompt: str = "",
    others: list[str] = (),
    answer: str = "",
    voice: str = "knowledge",
    settings=None,
    alternatives: int = 2,
) -> list[str]:
    """Interviewer questions about a missed point, best first: about its subject phrase (then its
    runner-up phrase), and at the level of its criterion (a STAR part is asked about as such
    first). Deterministic; never the point's own wording (callers still run the leak check: a
    phrase beside words of the point could make a 4-word run of it)."""
    voice = voice if voice in TEMPLATES else "knowledge"
    ranked = ranked_phrases(point, prompt=prompt, others=others, answer=answer, settings=settings)
    phrases = [ph for score, ph in ranked if settings is None or score >= MIN_PHRASE_SCORE]
    about: list[str] = []
    for phrase in phrases[:alternatives]:
        shape = _shape(point, phrase, has_numbers=bool(quantities(answer)))
        if voice == "design" and shape == "how" and criterion_id in MEASURE_IDS:
            shape = "measure"
        if voice == "story" and shape not in STORY_SHAPES:
            shape = "how"
        for sh in dict.fromkeys([shape, "how"]):
            about += [_agree(t, phrase) for t in _rotate(TEMPLATES[voice][sh], point)]
    level = CRITERION_QUESTIONS.get(criterion_id, [])
    out = level + about if criterion_id in STAR_IDS else about + level
    return list(dict.fromkeys(out))


def hint_for(
    point: str,
    criterion_id: str = "",
    *,
    prompt: str = "",
    others: list[str] = (),
    voice: str = "knowledge",
    settings=None,
) -> str | None:
    """A nudge toward what a point is about, never its wording: 'Think about the sampling
    probability: what does it do here, and why?', or the criterion's question; None if neither."""
    level = CRITERION_QUESTIONS.get(criterion_id, [])
    if level and criterion_id in STAR_IDS:
        return "Ask yourself: " + level[0][0].lower() + level[0][1:]
    phrase = subject_phrase(point, prompt=prompt, others=others, settings=settings)
    if phrase is not None:
        plain = Phrase(phrase.words, phrase.article, phrase.plural)
        return _agree(HINTS.get(voice, HINTS["knowledge"]), plain)
    if level:
        return "Ask yourself: " + level[0][0].lower() + level[0][1:]
    return None


def _encode(texts: list[str], settings) -> np.ndarray:
    """Encode through the one cache (embeddings.encode_cached): points and follow-ups recur."""
    from mockloop.embeddings import encode_cached

    return encode_cached(texts, settings.embed_model)


def nearest_point(text: str, question: Question, settings) -> tuple[str, float] | None:
    """The key point of `question` closest to `text` by the bundled encoder, with its cosine."""
    points = all_points(question)
    if not points:
        return None
    vecs = _encode([text] + points, settings)
    sims = vecs[1:] @ vecs[0]
    best = int(np.argmax(sims))
    return points[best], float(sims[best])


# -- listening: what the round's answers already cover --------------------------------------
COVERED_SHARE = 0.5  # this share of a point's own words, once said, counts the point as said
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*")


def _stems(text: str) -> set[str]:
    """Content words cut to five letters, so "imbalanced"/"imbalance" and "weights"/"weight" meet."""
    words = _WORD.findall(text.lower().replace("’", "'"))
    return {w[:5] for w in words if w not in FUNCTION_WORDS and w not in META_WORDS and len(w) > 2}


def said_already(point: str, said: str, *, prompt: str = "") -> bool:
    """Whether `said` states `point` in its own words: at least half (and two or more) of the
    point's content words that the prompt does not give away.

    `said_already("Class imbalance is handled with class weights or downsampling",
    "I'd train with class weights and downsampling")` -> True (class, weights, downsampling).
    """
    own = _stems(point) - _stems(prompt)
    hit = own & _stems(said)
    return len(hit) >= 2 and len(hit) >= COVERED_SHARE * len(own)


def covered_so_far(
    points: list[str],
    said: str,
    *,
    question: Question,
    answer: str = "",
    prompt: str = "",
    settings=None,
) -> set[str]:
    """The points the round's answers already cover: by their words in `said` (the earlier
    answers) or `answer` (this question's, which its own grade has already judged), or by the
    grader on `said` against a question made of just those points."""
    if not points or not (said.strip() or answer.strip()):
        return set()
    prompt = prompt or question.prompt
    heard = f"{said}\n\n{answer}"
    out = {p for p in points if said_already(p, heard, prompt=prompt)}
    rest = [p for p in dict.fromkeys(points) if p not in out]
    if rest and said.strip():
        from mockloop.grading import grade_answer

        probe = Question(
            id=f"{question.id}#said",
            round=question.round,
            topic=question.topic,
            prompt=prompt,
            rubric=Rubric(
                version="said",
                criteria=[
                    Criterion(id="said", description="said so far", weight=1.0, key_points=rest)
                ],
            ),
        )
        grade = grade_answer(probe, said, settings=settings)
        out |= {e.point for c in grade.criteria for e in c.covered if e.point in rest}
    return out


def listened(grade: Grade, covered: set[str]) -> Grade:
    """The grade as the follow-up chooser sees it: covered points are no longer missed, and a
    point a criterion covered is not missed under another."""
    covered = covered | {e.point for c in grade.criteria for e in c.covered}
    if not any(p in covered for c in grade.criteria for p in c.missing):
        return grade
    criteria = [
        c.model_copy(update={"missing": [p for p in c.missing if p not in covered]})
        for c in grade.criteria
    ]
    return grade.model_copy(update={"criteria": criteria})


RELEVANT_OVERALL = 1.5  # below it, an answer that states no key point gave nothing to build on


def worth_probing(grade: Grade, answer: str) -> bool:
    """Whether an answer is worth a follow-up at all: it said something relevant (a key point
    stated, or an overall above 'strong no hire'). How strong it is does not decide: a point
    still missed is probed and an answer with none missed gets none (`choose_follow_up`); the
    overall cannot tell them apart (grader 5 gives 4.5 to an answer stating one of three)."""
    if not answer.strip():
        return False
    return any(c.covered for c in grade.criteria) or grade.overall >= RELEVANT_OVERALL


@dataclass
class FollowUp:
    text: str
    target: str  # the missed key point it probes (kept in the log, never shown)
    source: str  # "bank" · "template" · "press" · "star"
    note: str | None = None  # the candidate's note that holds the point, shown beside the question


def missed_with_criteria(grade: Grade) -> list[tuple[str, str]]:
    """(missed point, its criterion id), the criterion that cost most first."""
    ranked = sorted(grade.criteria, key=lambda c: -c.weight * (1.0 - c.score))
    return [(p, c.criterion_id) for c in ranked for p in c.missing]


def choose_follow_up(
    question: Question,
    grade: Grade,
    *,
    settings,
    asked: list[str] = (),
    scope: Question | None = None,
    candidates: list[str] | None = None,
    answer: str = "",
    voice: str = "knowledge",
    note_for: Callable[[str], Any] | None = None,
    probed: list[str] = (),
    max_points: int = 4,
) -> FollowUp | None:
    """A follow-up on the costliest missed point, or None when there is nothing left to ask.

    Tried in order: the bank's own follow-ups (or `candidates`); then, for each of the
    `max_points` costliest missed points, questions about its subject phrase and at the level of
    its criterion (`phrasings`). A question qualifies only when the key point nearest to it (by
    the bundled encoder) is one the answer missed, so it reads as a question about what was
    missed; None when nothing qualifies. Nothing in `asked` (the follow-ups already asked in
    this round) is asked again, nothing leaks the rubric of the
    question or of its `scope` (the whole design prompt for a stage), and a point that asks for
    a number is left alone when the answer already gives numbers; points in `probed` (already
    followed up on this question) are not targeted again. `note_for(point)` finds the
    candidate's note that holds the targeted point (shown beside the question).
    """
    pairs = [(p, c) for p, c in missed_with_criteria(grade) if p not in probed]
    if not pairs:
        return None
    if quantities(answer):  # "rose 3.2% in a two-week A/B test": don't ask for a number again
        pairs = [(p, c) for p, c in pairs if not asks_for_a_number(p, c)]
    if not pairs:
        return None
    targets = [p for p, _ in pairs]
    said = set(asked)
    checked = [question] + ([scope] if scope is not None and scope is not question else [])

    def usable(text: str) -> bool:
        return text not in said and not any(leaks(text, q, allowed=answer) for q in checked)

    def made(text: str, target: str, source: str) -> FollowUp:
        note = note_for(target) if note_for is not None else None
        return FollowUp(text, target, source, _pointer(note))

    # A follow-up qualifies when, among all the prompt's key points (`scope`: the whole design
    # prompt for a stage), the one it is closest to is a point this answer missed: bank ones
    # first, then questions built for the costliest missed points, in that order.
    points = all_points(scope or question)
    pool = question.follow_ups if candidates is None else candidates
    bank = [f for f in dict.fromkeys(pool) if usable(f)]
    picked = _nearest_missed(bank, points, targets, settings)
    if picked:
        text, target = min(picked, key=lambda x: (targets.index(x[1]), -x[2]))[:2]
        return made(text, target, "bank")
    prompt = question.prompt + ("\n" + scope.prompt if scope is not None else "")
    built: list[tuple[str, str]] = []
    for point, criterion in pairs[:max_points]:
        texts = phrasings(
            point,
            criterion,
            prompt=prompt,
            others=points,
            answer=answer,
            voice=voice,
            settings=settings,
        )
        built += [(t, point) for t in texts if usable(t)]
    built = list({t: (t, p) for t, p in reversed(built)}.values())[::-1]  # first of each text
    ok = {t for t, _, _ in _nearest_missed([t for t, _ in built], points, targets, settings)}
    for text, point in built:
        if text in ok:
            return made(text, point, "template")
    return None  # nothing that would read as a question about what was missed


def _nearest_missed(
    texts: list[str], points: list[str], targets: list[str], settings
) -> list[tuple[str, str, float]]:
    """(text, point, cosine) for each text whose nearest key point is a missed one, near enough."""
    if not texts or not points:
        return []
    vecs = _encode(list(texts) + list(points), settings)
    sims = vecs[: len(texts)] @ vecs[len(texts) :].T  # text × point
    out = []
    for i, text in enumerate(texts):
        j = int(np.argmax(sims[i]))
        if points[j] in targets and sims[i, j] >= MIN_TARGET_COSINE:
            out.append((text, points[j], float(sims[i, j])))
    return out


def _pointer(note) -> str | None:
    """How a follow-up points at the candidate's own note (kept apart from the question, whose
    words should be about the missed point alone)."""
    return f"Your notes touch on this: {note.citation}" if note is not None else None
