"""Why a missed key point matters: the sentence after "why it matters:" in the feedback.

>>> from mockloop.models import CriterionGrade
>>> c = CriterionGrade(criterion_id="pitfalls", weight=1.0, score=0.0, missing=["x"])
>>> why_it_matters(c, "Backfilled tables can leak future labels into training", "breadth")
'leakage makes offline numbers look better than anything production will see'

Leaves out: deciding what was missed (offline.py).
"""

from __future__ import annotations

import re

from mockloop.grading.scoring import STORY_ROUNDS
from mockloop.models import CriterionGrade

# Why a missed point matters, in three tiers tried in order (the first rule that fits wins):
# 1. ("point", pattern over the point's text): what the point itself is about — story points
#    first (ownership, the outcome, a decision's reasons), then ML topics (leakage, serving, …);
# 2. ("criterion", pattern over "round:criterion_id"): the stage a templated rubric's criterion
#    stands for (STAR parts, deep-dive phases, system design stages), matched on the id, never
#    on free description text ("loss", "number" or "situation" there say nothing about a point);
# 3. ("shape", pattern over the point's text; knowledge rounds only): what kind of statement
#    the point is (a limit, a usual choice, a check, a remedy, a mechanism).
# A point none of them fits gets a plain statement of what the rubric checks (see why_it_matters).
REASONS: list[tuple[str, str, str]] = [
    # -- story points (behavioral and deep-dive rubrics) --
    (
        "point",
        r"measurable outcome|with a number|\bquantif|percentage",
        "a number is how an interviewer tells a real result from a claimed one",
    ),
    (
        "point",
        r"root cause|error came from",
        "without the root cause a fix may treat a symptom, and the failure comes back",
    ),
    (
        "point",
        r"rolled back|limit the (damage|impact)",
        "limiting the damage first shows you put users ahead of the investigation",
    ),
    (
        "point",
        r"cannot (recur|happen again)|same (mistake|error)",
        "a safeguard against recurrence is what turns an incident into lasting improvement",
    ),
    (
        "point",
        r"why i chose|instead of another|alternative approach|trade-off behind|justifies",
        "a decision convinces only with the options it beat and why",
    ),
    (
        "point",
        r"\bwhat i (decided|did)\b|\bmy (part|role)\b|\bpersonally\b|steps i took",
        "interviewers hire you, so they need to hear what you did, not the team",
    ),
    (
        "point",
        r"who i worked with|cross-functional",
        "most ML work crosses teams, so how you worked with others is part of what is judged",
    ),
    (
        "point",
        r"how i checked|checked that it",
        "checking the result is how you know your action worked",
    ),
    (
        "point",
        r"deadline|constraint i had",
        "the constraints are what make your choices look reasonable rather than arbitrary",
    ),
    (
        "point",
        r"few sentences",
        "a short setup leaves time for the actions and the result, where you are judged",
    ),
    (
        "point",
        r"how it ended|how the result helped|result back to",
        "a story without an outcome leaves the impact unknown",
    ),
    (
        "point",
        r"when it happened|which team|at stake|business problem",
        "without context the interviewer cannot judge the stakes",
    ),
    (
        "point",
        r"\bi learned\b|\blesson|differently|since then|in hindsight",
        "reflection shows you get better from experience",
    ),
    (
        "point",
        r"\blimitation",
        "naming the limits shows you know where the work stops being reliable",
    ),
    (
        "point",
        r"offline model metrics from online",
        "offline metric gains often do not move the business metric",
    ),
    # -- ML topics --
    (
        "point",
        r"\bleak|out-of-time|time-based split|future (data|information|labels?)",
        "leakage makes offline numbers look better than anything production will see",
    ),
    (
        "point",
        r"training[- ]serving|\bat serving\b|serving time|training only|training-only",
        "a difference between training and serving is where models break silently in production",
    ),
    (
        "point",
        r"propensit|examination|\bposition (as|feature|tower)|\bclicks?\b.*\bpositions?\b",
        "uncorrected position bias teaches the model to replay the old ranking",
    ),
    (
        "point",
        r"\bfalls? ?back\b|times? out\b",
        "a fallback is what keeps the product working when the model cannot answer in time",
    ),
    (
        "point",
        r"\b(a/b|shadow|champion|switchback|interleav|canary|staged rollout)",
        "offline gains often fail to carry to users; only a live test says",
    ),
    (
        "point",
        r"cold[- ]start|exploration",
        "new items get no feedback unless the system deliberately shows them",
    ),
    (
        "point",
        r"\bdrifts?\b|\bin production\b|\balerts?\b",
        "models decay in production; monitoring is how you find out",
    ),
    (
        "point",
        r"\blatency\b|\bp99\b|\d+\s*ms\b|\bqps\b",
        "latency is often the budget that decides whether a model ships at all",
    ),
    (
        "point",
        r"\blabels?\b|ground truth|annotat|censor",
        "the labels decide what the model learns, and their noise caps how good it can get",
    ),
    (
        "point",
        r"^(?!.*reproduc).*\bbaseline",
        "an improvement means little without the baseline it beat",
    ),
    # -- templated stages --
    (
        "criterion",
        r"^(behavioral:situation|deep-dive:background)$",
        "without context the interviewer cannot judge the stakes",
    ),
    ("criterion", r"^behavioral:task$", "your own goal is what your actions are judged against"),
    ("criterion", r"^behavioral:action$", "the actions are where your judgement shows"),
    ("criterion", r"^behavioral:result$", "a story without an outcome leaves the impact unknown"),
    (
        "criterion",
        r"^behavioral:ownership$",
        "interviewers hire you, so they need to hear what you did, not the team",
    ),
    (
        "criterion",
        r"^(behavioral:quantified_result|deep-dive:impact)$",
        "a number is how an interviewer tells a real result from a claimed one",
    ),
    (
        "criterion",
        r"^(behavioral|deep-dive):reflection$",
        "reflection shows you get better from experience",
    ),
    (
        "criterion",
        r"^deep-dive:alternatives$",
        "a decision convinces only with the options it beat and why",
    ),
    (
        "criterion",
        r"^deep-dive:challenges$",
        "how you handled difficulty is the strongest evidence of seniority",
    ),
    ("criterion", r"^mlsd:requirements$", "a design that misses the goal solves the wrong problem"),
    (
        "criterion",
        r"^mlsd:framing$",
        "the framing decides what the model predicts; a wrong target solves the wrong problem",
    ),
    ("criterion", r"^mlsd:data$", "the data and its labels set the ceiling of any model"),
    ("criterion", r"^mlsd:features$", "the features carry most of what the model can know"),
    ("criterion", r"^mlsd:model$", "the model and its loss must fit the framing and the data"),
    (
        "criterion",
        r"^mlsd:metrics$",
        "the metric decides what the system is optimised for, so a wrong one ships the wrong "
        "behaviour",
    ),
    (
        "criterion",
        r"^mlsd:offline_eval$",
        "without a sound offline evaluation nobody can tell if the model is good",
    ),
    (
        "criterion",
        r"^mlsd:online_eval$",
        "offline gains often fail to carry to users; only a live test says",
    ),
    (
        "criterion",
        r"^mlsd:serving$",
        "a model that cannot meet the latency and scale budget never ships",
    ),
    (
        "criterion",
        r"^mlsd:monitoring$",
        "models decay in production; monitoring is how you find out",
    ),
    (
        "criterion",
        r"^(breadth|nlp|ranking):(definition|definitions|formula)$",
        "the exact definition is what the rest of the answer builds on",
    ),
    # -- the kind of statement (knowledge rounds) --
    (
        "shape",
        r"\b(does not|doesn't|cannot be|fails?|falls short|hurts?|underperform|downside|"
        r"drawback|at the cost|not mean|only (for|when|if))\b",
        "knowing where it breaks down is what separates understanding from recall",
    ),
    (
        "shape",
        r"\b(default|typical(ly)?|usually|around \d|common (default|choice|start|way)|"
        r"commonly)\b|\bis a common\b",
        "knowing the usual choice shows you have used it, not only read about it",
    ),
    (
        "shape",
        r"\b(quadratic in|quadratic cost|cost (becomes|grows)|memory|flops|compute cost|"
        r"trainable parameters)\b",
        "its cost in compute or memory decides whether it runs at the scale you need",
    ),
    (
        "shape",
        r"^(log|plot|check|inspect|compare|measure|track|look at|monitor)\b|\bspikes?\b|"
        r"learning curve|gradient norm",
        "evidence is what turns a guess into a diagnosis",
    ),
    (
        "shape",
        r"^(?!.*\b(means|is|are)\b)(lower|reduce|add|use|clip|increase|apply|switch|normalize|retrain|remove|drop|"
        r"freeze|regularize|try|rule out|tune)\b",
        "a concrete step is what turns understanding into something you can act on",
    ),
    (
        "shape",
        r"\b(because|so that|causes?|leads? to|dominat\w*|saturat\w*|vanish\w*|explod\w*)\b",
        "the mechanism is what lets you predict when it happens and which fix will work",
    ),
]


def bare(point: str) -> str:
    """A key point as feedback lines quote it: no trailing full stop, colon or semicolon."""
    return point.strip().rstrip(".;:")


def why_it_matters(criterion: CriterionGrade, point: str, round_name: str = "") -> str:
    """Why missing `point` (of `criterion`) matters: the first REASONS rule that fits it.

    The point's own text is read first, then (for templated rounds) the criterion's stage,
    then the kind of statement the point is. When none fits, the reason says plainly what the
    rubric checks and how much of it the answer covered, rather than a reason that may not fit.
    """
    text = bare(point).lower()
    stage = f"{round_name}:{criterion.criterion_id}"
    tiers = [("point", text), ("criterion", stage)]
    if round_name not in STORY_ROUNDS:
        tiers.append(("shape", text))
    for tier, subject in tiers:
        for kind, pattern, why in REASONS:
            if kind == tier and re.search(pattern, subject):
                return why
    if criterion.criterion_id == "reference":
        return "the reference answer makes this point, and a complete answer needs it"
    desc = criterion.description or criterion.criterion_id
    total, covered = len(criterion.covered) + len(criterion.missing), len(criterion.covered)
    if total <= 1:
        return f"it is what the rubric checks for “{desc}”"
    return (
        f"it is one of {total} points the rubric checks for “{desc}”, "
        f"and the answer covered {covered}"
    )
