"""The coding round's parts: a problem bank (bank.py, data/*.yaml), a runner that executes a
candidate's code against a problem's tests in a limited subprocess (runner.py, harness.py), and the
round itself (mockloop.rounds.coding). The CLI (`mockloop coding ...`) and the app's Coding tab
call these.
"""

from mockloop.coding.bank import Problem, ProblemBank, clarify, coding_questions, load_problem_bank
from mockloop.coding.runner import Limits, RunReport, TestResult, run_tests

__all__ = [
    "Limits",
    "Problem",
    "ProblemBank",
    "RunReport",
    "TestResult",
    "clarify",
    "coding_questions",
    "load_problem_bank",
    "run_tests",
]
