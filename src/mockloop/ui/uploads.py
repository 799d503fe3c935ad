"""Uploaded files: checked (type, size), renamed safely, and kept under the user's data dir.

Browsers send a file name the user (or an attacker) chose; it is never used as a path. Only its
last component survives, reduced to letters, digits, spaces and `._-()` (so `../../etc/passwd`
becomes `passwd`, which is then refused for its type).

    >>> safe_name("../../notes/My LoRA notes!.md")
    'My LoRA notes.md'
    >>> safe_name("..\\\\..\\\\evil.zip")
    'evil.zip'

Leaves out: reading the files (notes.ingest, batch) and the transport cap (gradio's
`max_file_size`, which stops an oversized upload before it is written).
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

NOTE_TYPES = (".md", ".markdown", ".txt", ".pdf", ".csv", ".zip")
BATCH_TYPES = (".csv", ".jsonl")
_UNSAFE = re.compile(r"[^\w .()\-]+", re.UNICODE)


def safe_name(name: str, max_len: int = 120) -> str:
    """A file name that is safe to create inside a folder: no directories, no dot-files."""
    base = PureWindowsPath(PurePosixPath(str(name)).name).name  # drops / and \ directories
    base = unicodedata.normalize("NFC", base).replace("\x00", "")
    base = _UNSAFE.sub("", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if dot and len(base) > max_len:
        base = stem[: max_len - len(suffix) - 1] + "." + suffix
    base = base[:max_len]
    return base or "upload"


@dataclass
class Staged:
    """Files accepted into the folder, and the ones refused with the reason."""

    paths: list[Path] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name shown, reason)


def _original_name(upload) -> str:
    # Gradio passes a path (str/NamedString) whose last component is the browser's file name.
    return str(getattr(upload, "orig_name", None) or Path(str(upload)).name)


def stage(uploads, dest: Path, allowed: tuple[str, ...], max_bytes: int) -> Staged:
    """Copy uploaded temp files into `dest` under safe names, refusing bad types and sizes."""
    out = Staged()
    dest.mkdir(parents=True, exist_ok=True)
    for upload in uploads or []:
        shown = _original_name(upload)
        name = safe_name(shown)
        suffix = Path(name).suffix.lower()
        if suffix not in allowed:
            out.refused.append(
                (name, f"unsupported type {suffix or '(none)'}; accepted: {', '.join(allowed)}")
            )
            continue
        src = Path(str(upload))
        try:
            size = src.stat().st_size
        except OSError as e:
            out.refused.append((name, f"upload could not be read: {e.strerror or e}"))
            continue
        if size > max_bytes:
            out.refused.append(
                (
                    name,
                    f"larger than the {max_bytes / 1024 / 1024:g} MB upload cap "
                    f"({size / 1024 / 1024:.1f} MB)",
                )
            )
            continue
        target = dest / name
        if target.resolve().parent != dest.resolve():  # belt and braces: never leave dest
            out.refused.append((name, "unsafe file name"))
            continue
        shutil.copyfile(src, target)
        out.paths.append(target)
    return out
