"""Loaders: what a note, a Notion export, a PDF or a text file turns into (no model, no store)."""

from __future__ import annotations

import textwrap

import pytest

from mockloop.notes.loaders import LoadError, clean_path, clean_title, decode_text, load

from .conftest import encrypt_pdf, make_pdf


def md(text: str) -> bytes:
    return textwrap.dedent(text).encode()


def test_front_matter_gives_title_tags_and_topic_and_is_not_text():
    [doc] = load(
        "nlp/lora.md",
        md("""\
            ---
            title: LoRA notes
            tags: [NLP, "#fine-tuning"]
            topic: peft
            ---
            # Something else
            Body text with an inline #Adapters tag.
            """),
    )
    assert doc.title == "LoRA notes"
    assert doc.tags == ["nlp", "fine-tuning", "adapters", "peft"]
    assert "title:" not in doc.text and "Body text" in doc.text


def test_title_falls_back_to_first_h1_then_file_name():
    assert load("a.md", b"intro\n# The Heading\ntext")[0].title == "The Heading"
    assert load("dir/my note.md", b"just text")[0].title == "my note"


def test_tags_as_comma_string():
    [doc] = load("a.md", md("---\ntags: ranking, ltr\n---\ntext"))
    assert doc.tags == ["ranking", "ltr"]


@pytest.mark.parametrize(
    ("markup", "readable"),
    [
        ("see [[two-tower]] first", "see two-tower first"),
        ("see [[two-tower|the dual encoder]]", "see the dual encoder"),
        ("see [[ranking/two-tower#Serving]]", "see two-tower › Serving"),
        ("see [[Page 0123456789abcdef0123456789abcdef]]", "see Page"),
        ("![[diagram.png]]", "(embedded file: diagram.png)"),
        ("![[attention#Scaled dot product]]", "(embedded note: attention › Scaled dot product)"),
        ("a [link](https://example.com/x) here", "a link here"),
    ],
)
def test_obsidian_links_and_embeds_become_readable_text(markup, readable):
    [doc] = load("n.md", f"# N\n{markup}\n".encode())
    assert readable in doc.text
    assert "[[" not in doc.text and "](" not in doc.text


def test_code_blocks_are_kept_verbatim_and_not_rewritten():
    code = (
        "```python\ndef f(x):\n    # a comment, not a heading or #tag\n    return x['[[k]]']\n```"
    )
    [doc] = load("n.md", f"# N\n\n{code}\n".encode())
    assert code in doc.text
    assert doc.tags == []


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("Transformers 0123456789abcdef0123456789abcdef.md", "Transformers"),
        ("Paper tracker 0123456789ABCDEF0123456789abcdef.csv", "Paper tracker"),
        ("Reading 0123456789abcdef0123456789abcdef_all.csv", "Reading"),
        ("plain.md", "plain"),
        ("v2 notes.txt", "v2 notes"),
    ],
)
def test_notion_id_suffixes_are_stripped_from_titles(name, title):
    assert clean_title(name) == title


def test_notion_ids_are_stripped_from_every_path_component():
    path = "Export/Ranking 0123456789abcdef0123456789abcdef/DCN 0123456789abcdef0123456789abcde0.md"
    assert clean_path(path) == "Export/Ranking/DCN.md"


def test_each_csv_row_becomes_a_document_with_its_columns_as_fields():
    csv_text = (
        "Name,Year,Tags,TL;DR\n"
        'Attention Is All You Need,2017,"nlp, transformer",Self-attention replaces recurrence.\n'
        "Wide & Deep,2016,ranking,Memorisation plus generalisation.\n"
        ",,,\n"
    )
    docs = load("Papers 0123456789abcdef0123456789abcdef.csv", csv_text.encode())
    assert [d.heading_prefix for d in docs] == [["Attention Is All You Need"], ["Wide & Deep"]]
    assert docs[0].title == "Papers › Attention Is All You Need"
    assert docs[0].text.splitlines() == [
        "Name: Attention Is All You Need",
        "Year: 2017",
        "Tags: nlp, transformer",
        "TL;DR: Self-attention replaces recurrence.",
    ]
    assert docs[0].tags == ["nlp", "transformer"]
    assert docs[1].tags == ["ranking"]


def test_csv_without_rows_is_refused():
    with pytest.raises(LoadError, match="no rows"):
        load("db.csv", b"Name,Year\n")


def test_pdf_pages_are_numbered_from_one():
    data = make_pdf(
        ["Gradient clipping bounds the norm.", "Warmup stabilises Adam early."], title="Tricks"
    )
    docs = load("papers/tricks.pdf", data)
    assert [d.page for d in docs] == [1, 2]
    assert "Warmup stabilises Adam" in docs[1].text
    assert docs[0].title == "Tricks"


def test_pdf_opened_with_an_empty_user_password_is_read():
    docs = load("p.pdf", encrypt_pdf(make_pdf(["Readable anyway."]), password=""))
    assert "Readable anyway." in docs[0].text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("e.md", b"", "empty file"),
        ("e.md", b" \n\t\n", "empty file"),
        ("b.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
        ("l.md", "caf\u00e9 cr\u00e8me".encode("latin-1"), "invalid UTF-8 at byte 3"),
        ("c.pdf", b"%PDF-1.4\n garbage \x00\x01 not a pdf body", "corrupt PDF"),
        ("c.pdf", b"hello", "not a PDF"),
        ("x.docx", b"PK\x03\x04", "unsupported file type .docx"),
        ("f.md", b"---\ntags: [a]\n---\n", "no text after the front matter"),
    ],
)
def test_bad_input_is_refused_with_a_reason(name, data, reason):
    with pytest.raises(LoadError, match=reason):
        load(name, data)


def test_encrypted_pdf_is_refused_with_a_reason():
    with pytest.raises(LoadError, match="encrypted PDF: needs a password"):
        load("locked.pdf", encrypt_pdf(make_pdf(["Secret page"])))


def test_utf16_with_bom_and_utf8_bom_are_read():
    assert decode_text("hello".encode("utf-16"), "a.txt") == "hello"
    assert decode_text("\ufeffhello".encode("utf-8"), "a.txt") == "hello"


def test_plain_text_is_not_parsed_as_markdown():
    [doc] = load("todo.txt", b"# not a heading in a .txt\nline two")
    assert doc.markdown is False and doc.title == "todo"
