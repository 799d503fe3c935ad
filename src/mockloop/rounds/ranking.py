"""Ranking depth round: the funnel, retrieval, feature interactions, multi-task value models,
biases, learning to rank — and the ranking papers on the candidate's reading list. Behaviour
shared with NLP depth lives in depth.py."""

from __future__ import annotations

from typing import ClassVar

from mockloop.rounds.depth import DepthRound


class RankingRound(DepthRound):
    name: ClassVar[str] = "ranking"
    title: ClassVar[str] = "ranking and recommendation depth"
