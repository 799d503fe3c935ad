"""NLP depth round: transformer, attention, pretraining, PEFT, alignment, RAG — and the papers
on the candidate's reading list. Behaviour shared with ranking depth lives in depth.py."""

from __future__ import annotations

from typing import ClassVar

from mockloop.rounds.depth import DepthRound


class NlpRound(DepthRound):
    name: ClassVar[str] = "nlp"
    title: ClassVar[str] = "NLP depth"
