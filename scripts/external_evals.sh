#!/usr/bin/env bash
# The external grading evals for the shipped grader (SemEval-2013 Beetle and SciEntsBank, unseen
# questions; SAF unseen answers; see evals/README.md), run only where their data is:
# ../shared/evaldata, or MOCKLOOP_EVALDATA.
# The data is never copied into the repo and no test needs it. Prints the figures and fails
# when ROC-AUC falls below the floors recorded in evals/README.md. Needs ./.venv (setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${MOCKLOOP_EVALDATA:-../shared/evaldata}"
if [ ! -f "$data/beetle_5way.csv" ] || [ ! -f "$data/scientsbank_2way.csv" ] || [ ! -f "$data/saf_en_dev.csv" ]; then
  echo "external evals skipped: no SemEval-2013 data at $data"
  exit 0
fi
export HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False
eval_grading() { .venv/bin/mockloop eval grading --ordinal --boot 200 "$@"; }

echo "== Beetle, unseen questions (correct vs everything else)"
eval_grading --dataset "$data/beetle_5way.csv" --where split=test-unseen-questions \
  --map student_answer=answer --map reference_answers=reference --map label_5way=score \
  --label correct=2 --label partially_correct_incomplete=1 --label contradictory=0 \
  --label irrelevant=0 --label non_domain=0 --positive-at 2 --min roc_auc=0.67
echo "== SciEntsBank, unseen questions (2-way)"
eval_grading --dataset "$data/scientsbank_2way.csv" --where split=test-unseen-questions \
  --map student_answer=answer --map reference_answers=reference --map label_2way=score \
  --label correct=1 --label incorrect=0 --min roc_auc=0.78
echo "== SAF English, unseen answers (score >= 0.5)"
eval_grading --dataset "$data/saf_en_dev.csv" --where split=unseen_answers \
  --positive-at 0.5 --min roc_auc=0.91
