"""mockloop: a mock interviewer for ML engineers, grounded in their own notes."""

__version__ = "0.1.0"
