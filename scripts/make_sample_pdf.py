"""Generate the sample PDF of the embedded corpus: a three-page ranking-evaluation cheat sheet.

Writes corpus/pdf/ranking-evaluation-cheat-sheet.pdf with fpdf2. Each page holds different text
(calibration, offline ranking metrics, online experiments) so PDF loaders can be checked for
per-page extraction and citations with page numbers. The output is deterministic: the creation
date is fixed, so rerunning the script does not produce a spurious diff.

Usage: python scripts/make_sample_pdf.py [--out PATH]
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "corpus" / "pdf" / "ranking-evaluation-cheat-sheet.pdf"
TITLE = "Ranking evaluation cheat sheet: calibration, offline metrics, online experiments"

# One list per page: ("h", heading) | ("p", paragraph) | ("b", bullet) | ("m", monospace line).
# Core PDF fonts are Latin-1 only, so the text sticks to ASCII.
PAGES: list[list[tuple[str, str]]] = [
    [
        ("h", "1. Calibration of click and engagement models"),
        (
            "p",
            "A model is calibrated when, among impressions it scores at about 0.03, about 3% are "
            "clicked. Ranking by a single score only needs the order to be right, but a value "
            "model that adds w1*pLike + w2*pShare, or an ad auction that ranks by bid * pCTR, "
            "needs every head to be calibrated: an over-confident head silently dominates.",
        ),
        ("h", "Measuring it"),
        (
            "b",
            "Reliability diagram: bucket predictions (by quantile, 10-20 bins), plot mean predicted "
            "vs observed rate per bucket; the diagonal is perfect calibration.",
        ),
        (
            "b",
            "Expected calibration error: ECE = sum over bins b of (n_b / N) * |observed_b - "
            "predicted_b|. Quantile bins avoid empty buckets at the high end.",
        ),
        (
            "b",
            "Calibration ratio per slice: sum(predicted) / sum(observed). Track it daily by "
            "country, surface, new vs tenured users; 1.00 +/- 0.05 is a common launch bar.",
        ),
        (
            "b",
            "Log loss and normalised entropy punish miscalibration; AUC does not see it at all "
            "(any monotone transform leaves AUC unchanged).",
        ),
        ("h", "Fixing it"),
        (
            "b",
            "Platt scaling: fit sigmoid(a * logit + b) on a held-out day. Two parameters, cannot "
            "fix non-monotone or oddly shaped errors.",
        ),
        (
            "b",
            "Isotonic regression: monotone piecewise-constant map, flexible, needs more data, can "
            "overfit thin tails; interpolate between steps at serving.",
        ),
        (
            "b",
            "Temperature scaling (neural nets): divide logits by a single T fitted on validation "
            "data; keeps the ranking, fixes over-confidence.",
        ),
        ("h", "Negative downsampling correction"),
        (
            "p",
            "If only a fraction r of negatives is kept for training, the model's odds are inflated "
            "by 1/r. Correct each prediction q with:",
        ),
        ("m", "p = q / (q + (1 - q) / r)"),
        (
            "p",
            "Example: r = 0.1 (keep 10% of negatives) and the model outputs q = 0.2; then "
            "p = 0.2 / (0.2 + 0.8 / 0.1) = 0.2 / 8.2 = 0.024. Forgetting this after a change in "
            "the sampling rate is a classic cause of a head that suddenly dominates the value model.",
        ),
    ],
    [
        ("h", "2. Offline ranking metrics: worked examples"),
        (
            "p",
            "Use the same worked numbers every time so the formulas come out right under pressure.",
        ),
        ("h", "nDCG@3 with linear gain"),
        (
            "p",
            "Relevance in ranked order [2, 0, 1]. DCG = 2/log2(2) + 0/log2(3) + 1/log2(4) = 2 + 0 + "
            "0.5 = 2.5. Ideal order [2, 1, 0]: IDCG = 2 + 1/1.585 + 0 = 2.631. nDCG@3 = 0.950. "
            "With exponential gain (2^rel - 1) the same list gives DCG = 3 + 0 + 0.5 = 3.5, "
            "IDCG = 3 + 0.631 = 3.631, nDCG@3 = 0.964. Always state which gain you use.",
        ),
        ("h", "Recall@k for a retriever"),
        (
            "p",
            "A user later engages with 4 items; 3 of them are among the 500 retrieved candidates: "
            "recall@500 = 0.75. Average over users, and report separately for head, torso and "
            "tail items, because popular items inflate the average.",
        ),
        ("h", "AUC vs GAUC (group AUC)"),
        (
            "p",
            "User A: scores/labels (0.9, 1), (0.7, 0), (0.4, 1), (0.2, 0). Positive-negative pairs "
            "ordered correctly: 3 of 4, so AUC_A = 0.75. User B: (0.3, 1), (0.1, 0), AUC_B = 1.0. "
            "GAUC weighted by impressions = (4 * 0.75 + 2 * 1.0) / 6 = 0.833. Global AUC over all "
            "six rows = 7 of 9 pairs = 0.778. GAUC ignores comparisons across users, which the "
            "product never makes; global AUC rewards separating heavy from light users.",
        ),
        ("h", "Which metric, which stage"),
        ("b", "Retrieval: recall@k, hit rate@k (k = 100-1000)."),
        ("b", "Heavy ranker heads: log loss / normalised entropy, AUC or GAUC, calibration ratio."),
        ("b", "Search with graded labels: nDCG@10; single right answer: MRR."),
        ("b", "Whole page: only online metrics decide; offline replay is a sanity check."),
        ("h", "Pitfalls"),
        (
            "b",
            "Logged data comes from the production ranker: items it never showed have no labels "
            "(exposure bias). Use a randomised slice or inverse propensity weights.",
        ),
        (
            "b",
            "Split by time, never randomly: counters and sequences leak future behaviour.",
        ),
    ],
    [
        ("h", "3. Online experiments for ranking changes"),
        ("h", "Before the test"),
        (
            "b",
            "Randomise by user (or account), not by request, so one person sees one ranking. For "
            "marketplaces and social graphs consider cluster or switchback designs (network "
            "effects leak between arms).",
        ),
        (
            "b",
            "Write down the primary metric, guardrails (hides, reports, latency, revenue) and the "
            "decision rule before launch.",
        ),
        (
            "b",
            "Sample size per arm for a difference delta at alpha = 0.05 and 80% power: "
            "n = 16 * sigma^2 / delta^2. CTR of 5% (sigma^2 = 0.0475) and a 1% relative lift "
            "(delta = 0.0005) needs about 3.0 million users per arm.",
        ),
        ("h", "During the test"),
        (
            "b",
            "Sample ratio mismatch: a chi-square test on arm sizes. A 50/50 split that comes out "
            "50.6/49.4 on millions of users means broken assignment or logging; do not read the "
            "metrics until it is explained.",
        ),
        (
            "b",
            "CUPED variance reduction: Y_adj = Y - theta * (X - mean(X)), with X the same metric "
            "in the pre-period and theta = cov(X, Y) / var(X). Often cuts variance by 30-50% for "
            "engagement metrics.",
        ),
        (
            "b",
            "Novelty and primacy effects: feed changes often spike and fade; run at least two "
            "weeks and look at the daily treatment effect, not only the total.",
        ),
        ("h", "Interleaving"),
        (
            "p",
            "For comparing two rankers, team-draft interleaving merges both result lists into one "
            "page and credits clicks to the ranker that contributed the item. Search engines "
            "report it needs one to two orders of magnitude less traffic than an A/B test to find "
            "the preferred ranker; it says which is better, not by how much on business metrics.",
        ),
        ("h", "After the test"),
        (
            "b",
            "Keep a long-term holdout (e.g. 1% of users on last quarter's stack) to measure the "
            "cumulative effect of many small launches.",
        ),
        (
            "b",
            "Log the offline vs online delta of every launch; over time it tells you how much "
            "offline gain is needed before an online win is likely.",
        ),
    ],
]


class CheatSheet(FPDF):
    def header(self) -> None:
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 6, TITLE, align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 6, f"page {self.page_no()}", align="C")


def render(out: Path) -> int:
    """Write the PDF to `out` and return its page count."""
    pdf = CheatSheet(format="A4")
    pdf.set_title(TITLE)
    pdf.set_author("mockloop sample corpus")
    pdf.set_creation_date(datetime(2024, 3, 1, tzinfo=UTC))
    pdf.set_auto_page_break(auto=True, margin=15)
    width = 0  # full width between margins
    for blocks in PAGES:
        pdf.add_page()
        for kind, text in blocks:
            if kind == "h":
                pdf.ln(1)
                pdf.set_font("Helvetica", "B", 12)
                pdf.multi_cell(width, 6, text, new_x="LMARGIN", new_y="NEXT")
            elif kind == "p":
                pdf.set_font("Helvetica", "", 10)
                pdf.multi_cell(width, 5, text, new_x="LMARGIN", new_y="NEXT")
            elif kind == "b":
                pdf.set_font("Helvetica", "", 10)
                pdf.multi_cell(width, 5, "- " + text, new_x="LMARGIN", new_y="NEXT")
            elif kind == "m":
                pdf.set_font("Courier", "", 10)
                pdf.multi_cell(width, 6, text, new_x="LMARGIN", new_y="NEXT")
            else:
                raise ValueError(f"unknown block kind {kind!r}")
    if pdf.page_no() != len(PAGES):
        raise SystemExit(f"content overflowed: {pdf.page_no()} pages for {len(PAGES)} sections")
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(out))
    return pdf.page_no()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    pages = render(args.out)
    print(f"wrote {args.out} ({pages} pages)")


if __name__ == "__main__":
    main()
