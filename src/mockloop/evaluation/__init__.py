"""Offline evals: metrics and runners that say how well mockloop agrees with human judgement.

retrieval.py: recall@k, MRR, nDCG@10 and the `mockloop eval retrieval` runner.
grading.py: the `mockloop eval grading` runner over any CSV/JSONL of human-scored answers.
stats.py: Pearson, Spearman, quadratic weighted kappa, RMSE, within-1, ROC-AUC, bootstrap CIs.
interviewer.py: simulated candidates through every round (`mockloop eval interviewer`).
"""
