"""Split loaded documents into Chunks: by Markdown headings first, then by size.

Uses LangChain's MarkdownHeaderTextSplitter (heading path per section) and
RecursiveCharacterTextSplitter (paragraph → line → sentence → word) with overlap. Fenced code
blocks and paragraph breaks survive the header splitter (which strips every line) because they
are swapped for placeholder lines before it runs and restored after.

A chunk's id is a stable hash of source + heading path + index + text, so the same file always
yields the same ids and an edit changes only the ids from the edited section on.
`passage(chunk)` is the text that gets embedded and BM25-indexed: the note title and heading
path in front of the chunk text, so a section called "Why it works" still knows it is about LoRA.
"""

from __future__ import annotations

import hashlib
import json
import re

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from mockloop.models import Chunk
from mockloop.notes.loaders import Document

CHUNK_SIZE = 1000  # characters; all-MiniLM-L6-v2 reads ~256 word pieces (~1000 chars)
CHUNK_OVERLAP = 150
HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]

_CODE = "\u27e6mockloop-code-{}\u27e7"
_CODE_RE = re.compile("\u27e6mockloop-code-(\\d+)\u27e7")
_PARA = "\u27e6mockloop-para\u27e7"
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


def chunk_id(source: str, heading_path: list[str], index: int, text: str) -> str:
    """Stable id: sha256 of source, heading path, index and text (32 hex digits)."""
    key = "\x1f".join([source, json.dumps(heading_path, ensure_ascii=False), str(index), text])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def content_hash(data: bytes) -> str:
    """The manifest's hash of a whole source file."""
    return hashlib.sha256(data).hexdigest()


def passage(title: str, heading_path: list[str], text: str) -> str:
    """What gets embedded and indexed: `title › headings` on one line, then the chunk text."""
    context: list[str] = []
    for part in [title, *heading_path]:
        if part and (not context or context[-1].casefold() != part.casefold()):
            context.append(part)
    return " › ".join(context) + "\n" + text if context else text


def chunk_passage(chunk: Chunk) -> str:
    return passage(chunk.title, chunk.heading_path, chunk.text)


def _splitter() -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_SIZE,
        chunk_overlap=CHUNK_OVERLAP,
        separators=["\n\n", "\n", ". ", " ", ""],
        keep_separator="end",
    )


def _protect(markdown: str) -> tuple[str, list[str]]:
    """Code blocks → one placeholder line each; blank lines → a paragraph marker line."""
    out: list[str] = []
    blocks: list[str] = []
    current: list[str] | None = None
    fence = ""
    for line in markdown.splitlines():
        m = _FENCE.match(line)
        if current is None and m:
            current, fence = [line], m.group(1)
        elif current is not None:
            current.append(line)
            if m and m.group(1) == fence and line.strip() == fence:
                out.append(_CODE.format(len(blocks)))
                blocks.append("\n".join(current))
                current = None
        else:
            out.append(line if line.strip() else _PARA)
    if current is not None:  # an unclosed fence runs to the end of the file, as in CommonMark
        out.append(_CODE.format(len(blocks)))
        blocks.append("\n".join(current))
    return "\n".join(out), blocks


def _restore(content: str, blocks: list[str]) -> str:
    lines = []
    for line in content.replace("  \n", "\n").split("\n"):
        lines.append("" if line.strip() == _PARA else line)
    text = "\n".join(lines)
    text = _CODE_RE.sub(lambda m: "\n" + blocks[int(m.group(1))] + "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def sections(doc: Document) -> list[tuple[list[str], str]]:
    """(heading path, text) for each heading section of a document, in order."""
    if not doc.markdown:
        return [(list(doc.heading_prefix), doc.text.strip())]
    protected, blocks = _protect(doc.text)
    splitter = MarkdownHeaderTextSplitter(HEADERS, strip_headers=True)
    result = []
    for part in splitter.split_text(protected):
        path = [part.metadata[key] for _, key in HEADERS if part.metadata.get(key)]
        text = _restore(part.page_content, blocks)
        if text:
            result.append((list(doc.heading_prefix) + path, text))
    return result


def chunk_documents(source: str, docs: list[Document], file_hash: str) -> list[Chunk]:
    """All chunks of one source file, indexed in reading order."""
    splitter = _splitter()
    chunks: list[Chunk] = []
    for doc in docs:
        for path, text in sections(doc):
            for piece in splitter.split_text(text):
                piece = piece.strip()
                if not piece:
                    continue
                index = len(chunks)
                chunks.append(
                    Chunk(
                        id=chunk_id(source, path, index, piece),
                        text=piece,
                        source=source,
                        heading_path=path,
                        page=doc.page,
                        tags=list(doc.tags),
                        content_hash=file_hash,
                        title=doc.title,
                    )
                )
    return chunks
