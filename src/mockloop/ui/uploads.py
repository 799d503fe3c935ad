"""Uploaded files: checked (type, size), renamed safely, and kept under the user's data dir.

Browsers send a file name the user (or an attacker) chose; it is never used as a path. Only its
last component survives, reduced to letters, digits, spaces and `._-()` (so `../../etc/passwd`
becomes `passwd`, which is then refused for its type).

    >>> safe_name("../../notes/My LoRA notes!.md")
    'My LoRA notes.md'
    >>> safe_name("..\\\\..\\\\evil.zip")
    'evil.zip'

Only files Gradio itself received through its `/upload` route are read. A page user (or a
script with gradio_client) can name any path in the FileData it sends; Gradio refuses paths
outside its upload folder, but that folder (`GRADIO_TEMP_DIR`, default `$TMPDIR/gradio`) also
holds every file the app handed out for download and other apps' uploads. `received_by(app)`
accepts a path only when Gradio's upload route recorded it (`Blocks.upload_file_set`), it lies
inside that folder once links are resolved, and it is not itself a link; `stage` refuses the
rest with `NOT_UPLOADED`, whether or not such a file exists.

Leaves out: reading the files (notes.ingest, batch) and the transport cap (gradio's
`max_file_size`, which stops an oversized upload before it is written).
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

NOTE_TYPES = (".md", ".markdown", ".txt", ".pdf", ".csv", ".zip")
BATCH_TYPES = (".csv", ".jsonl")
_UNSAFE = re.compile(r"[^\w .()\-]+", re.UNICODE)
NOT_UPLOADED = (
    "not a file uploaded through this page: only files sent with the upload button are read "
    "(a path on the server is refused)"
)


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


def upload_folder(app=None) -> str:
    """Gradio's upload and cache folder for this app, links resolved."""
    from gradio.utils import get_upload_folder

    return os.path.realpath(getattr(app, "GRADIO_CACHE", None) or get_upload_folder())


def received_by(app=None) -> Callable[[str], bool]:
    """Whether a path is a file Gradio received as an upload: inside its upload folder, not a
    link, and (given the launched Blocks) recorded by its upload route."""
    folder = upload_folder(app)

    def received(path: str) -> bool:
        absolute = os.path.abspath(str(path))
        if os.path.islink(absolute):
            return False
        real = os.path.realpath(absolute)
        if os.path.commonpath([real, folder]) != folder or real == folder:
            return False
        if app is None:
            return True
        recorded = getattr(app, "upload_file_set", None)
        return recorded is not None and (absolute in recorded or str(path) in recorded)

    return received


def stage(
    uploads,
    dest: Path,
    allowed: tuple[str, ...],
    max_bytes: int,
    received: Callable[[str], bool] | None = None,
) -> Staged:
    """Copy uploaded temp files into `dest` under safe names, refusing bad types and sizes, and
    (given `received`) any path that is not a file the page uploaded."""
    out = Staged()
    dest.mkdir(parents=True, exist_ok=True)
    for upload in uploads or []:
        shown = _original_name(upload)
        name = safe_name(shown)
        if received is not None and not received(str(upload)):
            out.refused.append((name, NOT_UPLOADED))
            continue
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
