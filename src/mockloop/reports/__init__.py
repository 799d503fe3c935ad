"""Reports: Markdown and HTML summaries with matplotlib plots.

batch.py (a batch grading run: distributions per round, topic and criterion) · session.py (one
interview session) · progress.py (progress over time).
"""
