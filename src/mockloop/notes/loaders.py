"""Turn one file's bytes into documents: Markdown/Obsidian, Notion exports, PDF, plain text.

Covers: YAML front matter (title, tags, topic), Obsidian `[[wikilinks]]`, `[[target|alias]]`,
`![[embeds]]` and inline `#tags`; Notion's 32-hex-digit id suffixes in file and folder names;
Notion CSV databases (one document per row, columns as fields); PDFs page by page via pypdf;
plain text. Leaves out: walking folders and zips (ingest.py), splitting (chunking.py).

Every loader raises `LoadError(reason)` for input it cannot use; the caller skips the file with
that reason and goes on. Text from notes is data: nothing here interprets it beyond markup.

    >>> clean_title("Paper tracker 0123456789abcdef0123456789abcdef.csv")
    'Paper tracker'
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import yaml

TEXT_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text"}
SUPPORTED_SUFFIXES = {*TEXT_SUFFIXES, ".pdf", ".csv"}

_NOTION_ID = re.compile(r"\s+[0-9a-f]{32}(?=$|\.|_all\.)", re.IGNORECASE)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_EMBED = re.compile(r"!\[\[([^\]\n]+)\]\]")
_WIKILINK = re.compile(r"\[\[([^\]\n]+)\]\]")
_MD_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_MD_LINK = re.compile(r"(?<!!)\[([^\]\n]+)\]\([^)\n]*\)")
_INLINE_TAG = re.compile(r"(?<![\w/#&])#([A-Za-z][\w/-]*)")
_H1 = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp"}


class LoadError(Exception):
    """A file that cannot be ingested; the message is the reason shown to the user."""


@dataclass
class Document:
    """One loadable unit: a note, a PDF page, or a row of a Notion database."""

    text: str  # Markdown (headings drive chunking) or plain text
    title: str
    tags: list[str] = field(default_factory=list)
    page: int | None = None  # 1-based, PDFs only
    heading_prefix: list[str] = field(default_factory=list)  # e.g. the row title of a CSV row
    markdown: bool = True


def clean_title(name: str) -> str:
    """A file or folder name without its extension and Notion's 32-hex-digit id suffix."""
    stem = PurePosixPath(name).name
    stem = _NOTION_ID.sub("", stem)
    suffix = PurePosixPath(stem).suffix
    if suffix.lower() in SUPPORTED_SUFFIXES | {".zip"}:
        stem = stem[: -len(suffix)]
    if suffix.lower() == ".csv" and stem.endswith("_all"):  # Notion's all-columns twin
        stem = stem[: -len("_all")]
    return stem.strip() or name


def clean_path(path: str) -> str:
    """A POSIX path with Notion id suffixes stripped from every component."""
    return "/".join(_NOTION_ID.sub("", part) for part in path.split("/"))


def decode_text(data: bytes, name: str) -> str:
    """Bytes → str, refusing binary content and invalid UTF-8 with a reason naming the problem."""
    if not data.strip():
        raise LoadError("empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise LoadError(f"invalid UTF-16 at byte {e.start}") from None
    if b"\x00" in data[:8192]:
        raise LoadError("binary content, not text (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LoadError(f"invalid UTF-8 at byte {e.start}; save the file as UTF-8") from None
    if not text.strip():
        raise LoadError("empty file")
    return text


def load(name: str, data: bytes) -> list[Document]:
    """Documents from one file; `name` is its (cleaned) path, used for the type and title."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".pdf":
        return load_pdf(data, name)
    if suffix == ".csv":
        return load_csv(decode_text(data, name), name)
    kind = TEXT_SUFFIXES.get(suffix)
    if kind is None:
        raise LoadError(f"unsupported file type {suffix or '(none)'}")
    text = decode_text(data, name)
    if kind == "markdown":
        return [load_markdown(text, name)]
    return [Document(text=text.strip(), title=clean_title(name), markdown=False)]


# --- Markdown / Obsidian -----------------------------------------------------------------


def split_front_matter(text: str) -> tuple[dict, str]:
    """(front matter mapping, body); a malformed block is kept as text, not fatal."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    try:
        meta = yaml.safe_load(m.group(1))
    except yaml.YAMLError:
        return {}, text
    if not isinstance(meta, dict):
        return {}, text
    return meta, text[m.end() :]


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [p for p in re.split(r"[,\s]+", value) if p]
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value if v is not None and str(v).strip()]
    return [str(value)]


def normalise_tags(values) -> list[str]:
    """`['#NLP', 'nlp', 'ml/lora']` → `['nlp', 'ml/lora']`: lower case, no '#', order kept."""
    seen: dict[str, None] = {}
    for v in values:
        tag = str(v).strip().lstrip("#").strip().lower()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def _link_text(target: str) -> str:
    """`note#Heading|alias` → `alias`; `folder/note#Heading` → `note › Heading`."""
    target, _, alias = target.partition("|")
    if alias.strip():
        return alias.strip()
    page, _, anchor = target.partition("#")
    page = clean_title(PurePosixPath(page.strip()).name) if page.strip() else ""
    anchor = anchor.lstrip("^").strip()
    if page and anchor:
        return f"{page} › {anchor}"
    return page or anchor


def _embed_text(target: str) -> str:
    name = target.partition("|")[0].strip()
    if PurePosixPath(name.partition("#")[0]).suffix.lower() in _IMAGE_SUFFIXES | {".pdf"}:
        return f"(embedded file: {PurePosixPath(name).name})"
    return f"(embedded note: {_link_text(target)})"


def _rewrite_prose(line: str) -> str:
    line = _EMBED.sub(lambda m: _embed_text(m.group(1)), line)
    line = _WIKILINK.sub(lambda m: _link_text(m.group(1)), line)
    line = _MD_IMAGE.sub(lambda m: f"(image: {m.group(1)})" if m.group(1) else "", line)
    return _MD_LINK.sub(lambda m: m.group(1), line)


def rewrite_links(body: str) -> tuple[str, list[str]]:
    """Links and embeds → readable text, outside code blocks; also returns inline #tags."""
    out, tags, fence = [], [], None
    for line in body.splitlines():
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and m and m.group(1) == fence:
            fence = None
        elif fence is None:
            # Indented lines may be code (`#include`), headings are not tags.
            if not line.startswith("    ") and not re.match(r"^\s{0,3}#{1,6}\s", line):
                tags.extend(_INLINE_TAG.findall(_strip_inline_code(line)))
            line = _rewrite_prose(line)
        out.append(line)
    return "\n".join(out), tags


def _strip_inline_code(line: str) -> str:
    return re.sub(r"`[^`]*`", "", line)


def load_markdown(text: str, name: str) -> Document:
    """One note: front matter → title/tags/topic, links made readable, code blocks untouched."""
    meta, body = split_front_matter(text)
    body, inline_tags = rewrite_links(body)
    tags = _as_list(meta.get("tags")) + _as_list(meta.get("tag")) + inline_tags
    tags += _as_list(meta.get("topic"))
    tags += _as_list(meta.get("round"))  # a hint for mockloop.notes.routing; the override:
    tags += [f"mockloop-round:{r}" for r in _as_list(meta.get("mockloop-round"))]
    title = str(meta.get("title") or "").strip()
    if not title:
        h1 = _H1.search(_without_code(body))
        title = h1.group(1).strip() if h1 else clean_title(name)
    if not body.strip():
        raise LoadError("no text after the front matter")
    return Document(text=body.strip("\n"), title=title, tags=normalise_tags(tags))


def _without_code(body: str) -> str:
    return re.sub(r"^[ \t]*(```|~~~).*?^[ \t]*\1", "", body, flags=re.S | re.M)


# --- Notion CSV databases ---------------------------------------------------------------

_TAG_COLUMNS = {"tags", "tag", "topic", "topics", "area", "category", "categories"}


def load_csv(text: str, name: str) -> list[Document]:
    """A Notion database: one document per row, `Column: value` lines, titled by its first column."""
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as e:
        raise LoadError(f"malformed CSV: {e}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise LoadError("CSV has a header but no rows")
    header = [h.strip().lstrip("\ufeff") or f"Column {i + 1}" for i, h in enumerate(rows[0])]
    database = clean_title(name)
    docs = []
    for n, row in enumerate(rows[1:], start=1):
        fields = [(h, v.strip()) for h, v in zip(header, row, strict=False) if v.strip()]
        if not fields:
            continue
        title = _clean_cell(row[0]) if row and row[0].strip() else f"Row {n}"
        tags = [
            t for h, v in fields if h.lower() in _TAG_COLUMNS for t in re.split(r"\s*,\s*", v) if t
        ]
        lines = [f"{h}: {_clean_cell(v)}" for h, v in fields]
        docs.append(
            Document(
                text="\n".join(lines),
                title=f"{database} › {title}",
                tags=normalise_tags(tags),
                heading_prefix=[title],
                markdown=False,
            )
        )
    if not docs:
        raise LoadError("CSV rows are all empty")
    return docs


def _clean_cell(value: str) -> str:
    """Notion relation cells read `Page (Page%20abc….md)`; keep the readable part."""
    value = re.sub(r"\s*\([^)]*%20[^)]*\.md\)", "", value)
    return clean_path(_WIKILINK.sub(lambda m: _link_text(m.group(1)), value)).strip()


# --- PDF ----------------------------------------------------------------------------------


def load_pdf(data: bytes, name: str) -> list[Document]:
    """One document per page with text, numbered from 1; encrypted or corrupt PDFs are refused."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not data.startswith(b"%PDF"):
        raise LoadError("not a PDF (no %PDF header)" if data.strip() else "empty file")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _try_empty_password(reader):
            raise LoadError("encrypted PDF: needs a password; save an unencrypted copy")
        title = _pdf_title(reader) or clean_title(name)
        docs = []
        for number, page in enumerate(reader.pages, start=1):
            text = _tidy_pdf_text(page.extract_text() or "")
            if text:
                docs.append(Document(text=text, title=title, page=number, markdown=False))
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as e:
        raise LoadError(f"corrupt PDF: {type(e).__name__}: {str(e)[:120]}") from None
    except Exception as e:  # pypdf raises a wide variety of errors on damaged files
        raise LoadError(f"corrupt PDF: {type(e).__name__}: {str(e)[:120]}") from None
    if not docs:
        raise LoadError("PDF has no extractable text (scanned images?)")
    return docs


def _try_empty_password(reader) -> bool:
    try:
        return bool(reader.decrypt(""))
    except Exception:
        return False


def _pdf_title(reader) -> str:
    try:
        title = (reader.metadata or {}).get("/Title")
    except Exception:
        return ""
    return str(title).strip() if title else ""


def _tidy_pdf_text(text: str) -> str:
    text = re.sub(r"-\n(?=[a-z])", "", text)  # re-join words hyphenated across lines
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
