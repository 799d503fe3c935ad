"""A user's own notes, written for these tests (not corpus/): an ML note the bank has no question
for, a project write-up and two STAR stories, to lay out in folders unlike corpus/'s."""

from __future__ import annotations

PCA = """\
# Principal component analysis

PCA finds the orthogonal directions along which the centred data varies most: the eigenvectors
of the covariance matrix, ordered by their eigenvalues. Projecting onto the first k components
keeps the most variance any k-dimensional linear projection can keep.

## How to compute it
Centre each feature, then take the singular value decomposition X = U S V^T; the rows of V^T are
the components and S^2 / (n - 1) the explained variances. Standardise features first when their
units differ, or the feature with the largest scale dominates the first component.

## Choosing k
Plot the cumulative explained variance and keep enough components for about 95%, or pick k by
the downstream model's validation score. PCA is linear: curved structure needs kernel PCA or UMAP.
"""

HERON = """\
# Heron: card-fraud scoring at checkout

## Goal
Cut card-fraud losses at checkout without blocking our good buyers. Users: the payments risk team,
who review flagged orders, and about 2 million buyers a month.

## Data
We trained on 14 months of transactions (38 million rows, 0.4% fraud). Chargeback labels arrive
up to 60 days late, so the last two months were held out as the test window.

## Model
We chose XGBoost over the GRU sequence model from the experiment log: the GRU gained only 0.4
points of PR-AUC and took 45 ms per call on CPU, too much of the 0.3 s checkout budget.

## Metrics
PR-AUC 0.62 against 0.48 for the rules baseline; recall 71% at a 1% false-positive rate.

## Constraints
The whole checkout call has a 0.3 s latency budget, and every decline needs a reason code for
the risk team.

## Results
Fraud losses fell 23% in the first quarter, about $1.2M saved, and manual review volume dropped
35%.

## Failures
The first offline evaluation used a random split, which leaked future chargebacks and inflated
PR-AUC to 0.81. We moved to a time-based split. PSI drift monitoring on the top 20 features now
alerts at PSI 0.2.
"""

DISAGREE = """\
# The feature-store argument

## Situation
My teammate wanted to build our own feature store before the ranking launch; I thought it would
delay the launch by a quarter.

## Task
I owned the launch plan and had to settle the disagreement without losing his trust.

## Action
I wrote a one-page comparison of building versus adopting the managed store, ran a two-day
spike with him on the managed store, and proposed we revisit building once we passed 50 features.

## Result
We adopted the managed store, launched on time, and the ranking model lifted click-through by
4%. The lesson I took: disagree with data and a time-boxed experiment, not opinions.
"""

MENTOR = """\
# Coaching a new graduate

## Situation
A new graduate joined the team and struggled to scope his first model-evaluation task.

## Task
As his mentor I had to help him grow without doing the work for him.

## Action
We met twice a week; I asked him to write the evaluation plan first, reviewed it with questions
instead of answers, and paired with him on the first offline metric.

## Result
He shipped the evaluation pipeline in six weeks and now mentors the next hire.
"""

FILES = {"pca.md": PCA, "heron.md": HERON, "feature-store.md": DISAGREE, "mentor.md": MENTOR}
