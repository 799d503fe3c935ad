"""mockloop: a mock interviewer for ML engineers, grounded in their own notes."""

import os

# torch's OpenMP threads spin while waiting; on a shared two-core machine that turned a 20 ms
# query encode into 0.5–1 s. Passive waiting costs batch ingest nothing measurable.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
