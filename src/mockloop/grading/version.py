"""Which grader made a grade: its public version and a fingerprint of its code and weights.

The batch cache and a user's calibration key on `grader_fingerprint()`: any change to how grades
are computed (source or fitted weights) changes it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

GRADER = "offline"
GRADER_VERSION = "5"
FINGERPRINTED = (
    "offline.py",
    "scoring.py",
    "signals.py",
    "spans.py",
    "reference.py",
    "match.py",
    "matcher.safetensors",
)


@lru_cache(maxsize=1)
def grader_fingerprint() -> str:
    """Hash of the grader's own source and weights."""
    folder = Path(__file__).parent
    digest = hashlib.sha256(GRADER_VERSION.encode())
    for name in FINGERPRINTED:
        path = folder / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
