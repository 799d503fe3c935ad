"""The worked examples in the grading modules' docstrings are true of the code."""

from __future__ import annotations

import doctest

import pytest

from mockloop.grading import calibrate, explain, match, reference, scoring, spans, why


@pytest.mark.parametrize("module", [calibrate, explain, match, reference, scoring, spans, why])
def test_docstring_examples_hold(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
