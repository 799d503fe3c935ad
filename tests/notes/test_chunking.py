"""Chunking: heading paths, stable ids, size limits, code blocks (no model, no store)."""

from __future__ import annotations

import textwrap

from mockloop.notes.chunking import CHUNK_SIZE, chunk_documents, chunk_id, passage
from mockloop.notes.loaders import load

NOTE = textwrap.dedent(
    """\
    # Attention

    Scaled dot-product attention: softmax(QK^T / sqrt(d)) V.

    ## Why scale
    Without 1/sqrt(d) the logits grow with d and the softmax saturates.

    ### Numbers
    For d = 64 the scale is 1/8.

    ## Multi-head
    h heads of size d/h attend to different subspaces.
    """
)


def chunks_of(text: str, source: str = "nlp/attention.md"):
    return chunk_documents(source, load(source, text.encode()), "hash")


def test_each_section_carries_its_heading_path_and_citation():
    chunks = chunks_of(NOTE)
    assert [c.heading_path for c in chunks] == [
        ["Attention"],
        ["Attention", "Why scale"],
        ["Attention", "Why scale", "Numbers"],
        ["Attention", "Multi-head"],
    ]
    assert chunks[2].citation == "nlp/attention.md § Attention › Why scale › Numbers"
    assert chunks[2].text == "For d = 64 the scale is 1/8."
    assert all(c.title == "Attention" and c.content_hash == "hash" for c in chunks)


def test_ids_are_stable_and_unique():
    first, second = chunks_of(NOTE), chunks_of(NOTE)
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first)


def test_id_depends_on_source_heading_index_and_text():
    base = chunk_id("a.md", ["H"], 0, "text")
    assert len(base) == 32
    assert base == chunk_id("a.md", ["H"], 0, "text")
    for other in (
        chunk_id("b.md", ["H"], 0, "text"),
        chunk_id("a.md", ["H2"], 0, "text"),
        chunk_id("a.md", ["H"], 1, "text"),
        chunk_id("a.md", ["H"], 0, "text!"),
    ):
        assert other != base


def test_editing_one_section_keeps_the_ids_before_it():
    before = chunks_of(NOTE)
    after = chunks_of(NOTE.replace("For d = 64 the scale is 1/8.", "For d = 64 it is 0.125."))
    assert [c.id for c in after[:2]] == [c.id for c in before[:2]]
    assert after[2].id != before[2].id


def test_long_sections_are_split_under_the_size_with_overlap():
    paragraphs = "\n\n".join(
        f"Paragraph {i}: " + " ".join(f"word{i}_{j}" for j in range(40)) for i in range(12)
    )
    chunks = chunks_of(f"# Long\n\n{paragraphs}\n")
    assert len(chunks) > 3
    assert all(len(c.text) <= CHUNK_SIZE for c in chunks)
    assert all(c.heading_path == ["Long"] for c in chunks)
    text = " ".join(c.text for c in chunks)
    assert all(f"Paragraph {i}:" in text for i in range(12))


def test_fenced_code_keeps_indentation_blank_lines_and_hash_comments():
    code = "```python\ndef f(x):\n    # not a heading\n\n    return x\n```"
    chunks = chunks_of(f"# Code\n\nBefore.\n\n{code}\n\nAfter.\n")
    assert len(chunks) == 1
    assert code in chunks[0].text
    assert chunks[0].heading_path == ["Code"]


def test_paragraph_breaks_survive_the_header_splitter():
    [chunk] = chunks_of("# P\n\nfirst paragraph\n\nsecond paragraph\n")
    assert chunk.text == "first paragraph\n\nsecond paragraph"


def test_csv_rows_are_chunked_under_their_row_title():
    source = "Papers.csv"
    docs = load(source, b"Name,TL;DR\nDCN,Explicit feature crosses.\nDIN,Attention over history.\n")
    chunks = chunk_documents(source, docs, "h")
    assert [c.citation for c in chunks] == ["Papers.csv § DCN", "Papers.csv § DIN"]


def test_pdf_chunks_cite_their_page():
    from .conftest import make_pdf

    docs = load("paper.pdf", make_pdf(["Page one text.", "Page two text."]))
    chunks = chunk_documents("paper.pdf", docs, "h")
    assert [c.citation for c in chunks] == ["paper.pdf (p. 1)", "paper.pdf (p. 2)"]


def test_passage_puts_title_and_headings_before_the_text_without_repeats():
    assert passage("LoRA", ["LoRA", "Init"], "B = 0") == "LoRA › Init\nB = 0"
    assert passage("", [], "bare") == "bare"
