"""Answer spans: verbatim quotes, clauses, any script."""

from __future__ import annotations

import pytest

from mockloop.grading import spans
from mockloop.grading.reference import derive_key_points, split_references

TEXTS = [
    "We chose XGBoost because it was fast, and the loss went from 0.5 to 0.3.\n- bias\n- variance",
    "Attention(Q, K, V) = softmax(QK^T / sqrt(d_k)) V; the scaling keeps logits small.  ",
    "Dropout zeroes units at train time. At inference, nothing is dropped!",
    "Переобучение — это когда модель запоминает шум. 过拟合是指模型记住了噪声。",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_every_span_quote_is_a_verbatim_substring_at_its_offsets(text):
    for s in spans.segment(text):
        assert s.quote == text[s.start : s.end]
        assert s.quote.strip() == s.quote and s.quote


def test_sentences_clauses_and_bullets_are_separate_spans():
    quotes = [s.quote for s in spans.segment(TEXTS[0])]
    assert "We chose XGBoost" in quotes and "because it was fast" in quotes
    assert "bias" in quotes and "variance" in quotes
    assert not any(q.startswith("-") for q in quotes)


def test_decimal_points_do_not_end_sentences():
    assert [s.quote for s in spans.sentences("Loss fell from 0.5 to 0.3. Good.")] == [
        "Loss fell from 0.5 to 0.3.",
        "Good.",
    ]


def test_repeated_sentences_are_one_span():
    text = "L2 shrinks weights. " * 20
    assert len(spans.segment(text)) == 1


def test_content_words_stem_and_drop_stopwords_and_negation_is_seen():
    assert spans.content_words("The models are overfitting the data") == [
        "model",
        "overfit",
        "data",
    ]
    assert spans.is_negated("it does not converge") and spans.is_negated("it doesn't converge")
    assert not spans.is_negated("it converges")


def test_quantity_and_comparison_words_are_content():
    # "more data", "the same update", "all layers" say something an answer can get wrong
    assert spans.content_words("more data gives the same update in all layers") == [
        "more",
        "data",
        "give",
        "same",
        "updat",
        "all",
        "layer",
    ]


def test_non_english_text_tokenises():
    assert spans.tokens("过拟合 модель") == ["过拟合", "модель"]


def test_reference_key_points_from_short_and_long_references():
    assert derive_key_points("a gap") == ["a gap"]
    long_ref = (
        "Precision is the share of predicted positives that are correct. Recall is the share of "
        "actual positives that are found. Precision is the share of predicted positives that are right."
    )
    points = derive_key_points(long_ref)
    assert points[:2] == [
        "Precision is the share of predicted positives that are correct.",
        "Recall is the share of actual positives that are found.",
    ]
    assert len(points) == 2  # the near-duplicate third sentence is dropped
    assert derive_key_points("   ") == []


def test_multiple_references_split_on_the_separator():
    assert split_references("a gap ||| an open switch") == ["a gap", "an open switch"]
    assert split_references("a gap") == ["a gap"]
