"""Where notes may come from when the app is served, and what forgetting removes from disk.

Two policies the web app applies (ui/handlers.py calls these; the terminal reads any folder):

- A folder named in the page is read from the server's disk only when the page is not served
  to others (no login, loopback address), or the operator set MOCKLOOP_ALLOW_SERVER_FOLDERS=1.
- Forgetting a source also deletes the copy the upload box kept, else the next upload of any
  file would bring it back; only files directly inside the uploads folder are ever deleted.

Leaves out: checking the uploaded files themselves (ui/uploads.py) and ingesting (ingest.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

ALLOW_FOLDERS_ENV = "MOCKLOOP_ALLOW_SERVER_FOLDERS"


def note_folder(
    folder: str, *, exposed: bool, environ: Mapping[str, str] | None = None
) -> tuple[Path | None, str | None]:
    """(the folder to ingest, None) or (None, why it is not read) for a folder typed in the page."""
    env = os.environ if environ is None else environ
    if exposed and env.get(ALLOW_FOLDERS_ENV, "") != "1":
        return None, (
            "this app is served to the network, so it does not read folders on the server; "
            f"upload the files, or start it with {ALLOW_FOLDERS_ENV}=1"
        )
    path = Path(folder).expanduser()
    if not path.exists():
        return None, "folder not found on this machine"
    return path, None


def remove_uploaded_copies(uploads: Path, names: Iterable[str]) -> list[Path]:
    """Delete the uploaded copies of forgotten sources; a name that leads outside `uploads`
    (`../db`, an absolute path, a subfolder) is left alone. Returns what was deleted."""
    root = uploads.resolve()
    removed = []
    for name in names:
        copy = (root / name).resolve()
        if copy.parent == root and copy.is_file():
            copy.unlink()
            removed.append(copy)
    return removed
