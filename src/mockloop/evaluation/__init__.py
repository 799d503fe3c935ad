"""Offline evals: metrics and runners that say how well mockloop agrees with human judgement.

retrieval.py: recall@k, MRR, nDCG@10 and the `mockloop eval retrieval` runner.
"""
