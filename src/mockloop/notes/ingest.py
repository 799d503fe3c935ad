"""Ingest folders, files and .zip exports into the store: incremental, idempotent, crash-safe.

`ingest(paths, settings)` walks each path, hashes every supported file and compares it with
the manifest (SQLite, `manifest` table: source → content hash and chunk ids). Only new or
changed files are loaded, chunked and embedded; chunks of changed or deleted files are
removed. Bad files are skipped with one reason each and counted; the run goes on.

Crash safety (kill -9 at any point, then run again = an uninterrupted run):
  1. before writing a file's new chunks, their ids are recorded as pending (`meta` table);
  2. new chunks are written (upsert: writing twice is harmless);
  3. the file's stale chunks (old manifest ids not in the new set) are deleted;
  4. the manifest row is recorded and the pending record dropped, in one transaction.
A later run deletes any pending ids that no manifest row claims, and the BM25 index is rebuilt
whenever it does not match the store's ids. Sources are paths relative to the ingested root,
so two roots holding the same relative path share one source (the later ingest wins).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from mockloop import db
from mockloop.config import Settings
from mockloop.models import Chunk
from mockloop.notes.chunking import chunk_documents, chunk_passage, content_hash
from mockloop.notes.loaders import SUPPORTED_SUFFIXES, LoadError, clean_path, load
from mockloop.store import Store, open_store

EMBED_BATCH = 256  # chunks embedded and written per step: big enough to keep the encoder busy
ProgressFn = Callable[[str, int, int], None]  # (what: "files" | "chunks", done, total)

# Test-only: "after_upsert:2" makes the process SIGKILL itself at the 2nd time it reaches that
# point, so the interrupted-ingest test exercises a real kill -9 at a known step.
_CRASH_ENV = "_MOCKLOOP_TEST_CRASH_AT"


@dataclass
class IngestSummary:
    """What one ingest run did; `lines()` is the CLI's summary."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    chunks_written: int = 0
    chunks_deleted: int = 0
    files_seen: int = 0
    ignored: int = 0  # files of types mockloop does not read (images, ...)
    store_location: str = ""

    @property
    def ingested(self) -> int:
        """Files whose chunks are now in the store (new, changed or already there)."""
        return self.added + self.changed + self.unchanged

    @property
    def ok(self) -> bool:
        return self.ingested > 0

    def lines(self) -> list[str]:
        out = [f"skipped {path}: {reason}" for path, reason in self.skipped]
        out.append(
            f"files: {self.added} added, {self.changed} changed, {self.unchanged} unchanged, "
            f"{self.removed} removed, {len(self.skipped)} skipped (of {self.files_seen} seen)"
        )
        out.append(f"chunks: {self.chunks_written} written, {self.chunks_deleted} deleted")
        if self.ignored:
            out.append(f"ignored {self.ignored} files of other types")
        if self.store_location:
            out.append(f"store: {self.store_location}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


@dataclass
class SourceFile:
    """A file to ingest, on disk or inside a zip."""

    source: str  # path relative to the ingested root, POSIX, Notion ids stripped
    display: str  # how to name it to the user
    root: str
    size: int
    read: Callable[[], bytes]


@dataclass
class Skip:
    source: str | None  # None when there is no source to keep (e.g. a missing root)
    display: str
    reason: str


@dataclass
class _Work:
    file: SourceFile
    hash: str
    chunks: list[Chunk]
    old_ids: list[str]
    is_new: bool


def ingest(
    paths: list[Path | str],
    settings: Settings | None = None,
    on_progress: ProgressFn | None = None,
) -> IngestSummary:
    """Bring the store up to date with these folders, files or .zip exports."""
    settings = settings or Settings.from_env()
    store = open_store(settings)  # StoreError propagates: nothing can be done without it
    with _exclusive(settings):
        conn = db.connect(settings)
        try:
            return _Run(settings, store, conn, on_progress).run([Path(p) for p in paths])
        finally:
            conn.close()


@contextmanager
def _exclusive(settings: Settings):
    """One ingest or forget at a time per data dir (a second one waits); the kernel drops the
    lock when its holder dies, even by kill -9."""
    import fcntl

    settings.ensure_home()
    with open(settings.home / "ingest.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class _Run:
    def __init__(self, settings: Settings, store: Store, conn, on_progress: ProgressFn | None):
        self.settings = settings
        self.store = store
        self.conn = conn
        self.progress = on_progress or (lambda what, done, total: None)
        self.summary = IngestSummary(store_location=store.location)
        self.run_id = uuid.uuid4().hex
        self.cap = int(settings.max_file_mb * 1024 * 1024)
        self.manifest = {r["source"]: r for r in conn.execute("SELECT * FROM manifest")}
        self.store_ids = store.ids()
        self.pending_before = _pending(conn)
        self.chunks_done = 0
        self.chunks_total = 0
        self.crash = _crash_plan()

    def run(self, paths: list[Path]) -> IngestSummary:
        with ExitStack() as stack:
            files: list[SourceFile] = []
            seen: dict[str, set[str]] = {}
            taken: set[str] = set()
            for path in paths:
                root = _root_key(path)
                if _readable_root(path):  # a missing drive or a corrupt zip removes nothing
                    seen.setdefault(root, set())
                for item in _enumerate(path, self.cap, stack, self.summary):
                    self.summary.files_seen += 1  # a missing path given by the user counts too
                    if item.source is not None:
                        item.source = _unique(item.source, taken)
                        seen.get(root, set()).add(item.source)
                    if isinstance(item, Skip):
                        self.summary.skipped.append((item.display, item.reason))
                    else:
                        files.append(item)
            self._process(files)
        for root, sources in seen.items():
            self._remove_missing(root, sources)
        self._clean_pending()
        changed = self.summary.chunks_written or self.summary.chunks_deleted
        from mockloop.retrieval import refresh_bm25

        refresh_bm25(self.settings, self.store, force=bool(changed))
        self._record_run()
        return self.summary

    # --- the pipeline -----------------------------------------------------------------

    def _process(self, files: list[SourceFile]) -> None:
        batch: list[_Work] = []
        pending = 0
        total = len(files)
        self.progress("files", 0, total)
        for done, f in enumerate(files, start=1):
            work = self._prepare(f)
            if work is not None:
                batch.append(work)
                pending += sum(1 for c in work.chunks if c.id not in self.store_ids)
                self.chunks_total += len({c.id for c in work.chunks} - self.store_ids)
                if pending >= EMBED_BATCH:
                    self._flush(batch)
                    batch, pending = [], 0
            self.progress("files", done, total)
        self._flush(batch)

    def _prepare(self, f: SourceFile) -> _Work | None:
        """Read, hash and (if new or changed) chunk one file; None when nothing is to be written."""
        try:
            data = f.read()
        except OSError as e:
            self.summary.skipped.append((f.display, f"cannot read: {e.strerror or e}"))
            return None
        if len(data) > self.cap:
            self.summary.skipped.append((f.display, _too_big(len(data), self.settings)))
            return None
        digest = content_hash(data)
        row = self.manifest.get(f.source)
        old_ids = json.loads(row["chunk_ids"]) if row else []
        if row and row["content_hash"] == digest and set(old_ids) <= self.store_ids:
            self.summary.unchanged += 1
            if row["root"] != f.root:
                with self.conn:
                    self.conn.execute(
                        "UPDATE manifest SET root = ? WHERE source = ?", (f.root, f.source)
                    )
            return None
        try:
            chunks = chunk_documents(f.source, load(f.source, data), digest)
        except LoadError as e:
            self.summary.skipped.append((f.display, str(e)))
            return None
        except RecursionError:
            self.summary.skipped.append((f.display, "too deeply nested to parse"))
            return None
        if not chunks:
            self.summary.skipped.append((f.display, "no text to index"))
            return None
        return _Work(f, digest, chunks, old_ids, is_new=row is None)

    def _flush(self, batch: list[_Work]) -> None:
        if not batch:
            return
        new: dict[str, Chunk] = {}
        for work in batch:
            for c in work.chunks:
                if c.id not in self.store_ids:
                    new.setdefault(c.id, c)
        with self.conn:
            for work in batch:
                ids = [c.id for c in work.chunks if c.id in new]
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    (f"pending:{self.run_id}:{work.file.source}", json.dumps(ids)),
                )
        # Chunks whose text survived an edit keep their vectors; their tags/title may not have.
        self.store.update_metadata([c for w in batch for c in w.chunks if c.id not in new])
        # Length-sorted, so each encoder batch pads to similar lengths (as encode() does when
        # handed everything at once); the store does not care about order.
        chunks = sorted(new.values(), key=lambda c: len(chunk_passage(c)))
        for start in range(0, len(chunks), EMBED_BATCH):
            part = chunks[start : start + EMBED_BATCH]
            vectors = self._encode([chunk_passage(c) for c in part])
            self.store.upsert(part, vectors)
            self.store_ids.update(c.id for c in part)
            self.summary.chunks_written += len(part)
            self._checkpoint("after_upsert")
        for work in batch:
            self._commit(work)

    def _encode(self, texts: list[str]):
        from mockloop.embeddings import encode

        # Slices of 64 keep the chunk bar moving; the encoder batches 64 at a time anyway.
        parts = []
        for start in range(0, len(texts), 64):
            parts.append(encode(texts[start : start + 64], self.settings.embed_model))
            self.chunks_done += len(parts[-1])
            self.progress("chunks", self.chunks_done, max(self.chunks_total, self.chunks_done))
        import numpy as np

        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    def _commit(self, work: _Work) -> None:
        new_ids = [c.id for c in work.chunks]
        stale = sorted(set(work.old_ids) - set(new_ids))
        if stale:
            self.store.delete(stale)
            self.store_ids.difference_update(stale)
            self.summary.chunks_deleted += len(stale)
            self._checkpoint("after_delete")
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO manifest VALUES (?, ?, ?, ?, ?)",
                (work.file.source, work.file.root, work.hash, json.dumps(new_ids), _now()),
            )
            self.conn.execute(
                "DELETE FROM meta WHERE key = ?", (f"pending:{self.run_id}:{work.file.source}",)
            )
        if work.is_new:
            self.summary.added += 1
        else:
            self.summary.changed += 1
        self._checkpoint("after_manifest")

    def _remove_missing(self, root: str, present: set[str]) -> None:
        """Drop sources that were ingested from this root and are no longer in it."""
        rows = self.conn.execute(
            "SELECT source, chunk_ids FROM manifest WHERE root = ?", (root,)
        ).fetchall()
        for row in rows:
            if row["source"] in present:
                continue
            ids = json.loads(row["chunk_ids"])
            deleted = self.store.delete_source(row["source"])
            self.store_ids.difference_update(ids)
            with self.conn:
                self.conn.execute("DELETE FROM manifest WHERE source = ?", (row["source"],))
            self.summary.removed += 1
            self.summary.chunks_deleted += deleted
            self._checkpoint("after_remove")

    def _clean_pending(self) -> None:
        """Delete chunks an interrupted run wrote that no manifest row claims."""
        if not self.pending_before:
            return
        claimed: set[str] = set()
        for row in self.conn.execute("SELECT chunk_ids FROM manifest"):
            claimed.update(json.loads(row["chunk_ids"]))
        orphans = set().union(*self.pending_before.values()) - claimed
        present = sorted(orphans & self.store_ids)
        self.store.delete(present)
        self.store_ids.difference_update(present)
        self.summary.chunks_deleted += len(present)
        with self.conn:
            for key in self.pending_before:
                self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))

    def _record_run(self) -> None:
        record = {
            "at": _now(),
            "added": self.summary.added,
            "changed": self.summary.changed,
            "unchanged": self.summary.unchanged,
            "removed": self.summary.removed,
            "skipped": len(self.summary.skipped),
            "chunks_written": self.summary.chunks_written,
        }
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('last_ingest', ?)", (json.dumps(record),)
            )

    def _checkpoint(self, point: str) -> None:
        if self.crash and self.crash[0] == point:
            self.crash[1] -= 1
            if self.crash[1] <= 0:
                os.kill(os.getpid(), signal.SIGKILL)


def forget(targets: list[str | Path], settings: Settings | None = None) -> list[str]:
    """Remove sources from the store and manifest: a source, a folder prefix or a path on disk."""
    settings = settings or Settings.from_env()
    store = open_store(settings)
    with _exclusive(settings):
        return _forget(targets, settings, store)


def _forget(targets: list[str | Path], settings: Settings, store: Store) -> list[str]:
    conn = db.connect(settings)
    try:
        rows = {r["source"]: r["root"] for r in conn.execute("SELECT source, root FROM manifest")}
        known = set(rows) | set(store.sources())
        chosen: list[str] = []
        for target in targets:
            chosen += [s for s in sorted(known) if _matches(str(target), s, rows.get(s))]
        chosen = list(dict.fromkeys(chosen))
        for source in chosen:
            store.delete_source(source)
            with conn:
                conn.execute("DELETE FROM manifest WHERE source = ?", (source,))
        if chosen:
            from mockloop.retrieval import refresh_bm25

            refresh_bm25(settings, store, force=True)
        return chosen
    finally:
        conn.close()


def last_ingest(settings: Settings) -> dict | None:
    """The record of the latest ingest run (time and counts), if any."""
    conn = db.connect(settings)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'last_ingest'").fetchone()
        return json.loads(row["value"]) if row else None
    finally:
        conn.close()


def _matches(target: str, source: str, root: str | None) -> bool:
    t = target.strip().replace(os.sep, "/")
    if source == t or source.startswith(t.rstrip("/") + "/"):
        return True
    path = Path(target).expanduser()
    if root is None or not path.exists():
        return False
    full = Path(root) / source if Path(root).is_dir() else Path(root)
    resolved = path.resolve()
    return full == resolved or resolved in full.parents


# --- enumeration --------------------------------------------------------------------------


def _root_key(path: Path) -> str:
    return str(path.expanduser().resolve())


def _readable_root(path: Path) -> bool:
    path = path.expanduser()
    if not path.exists():
        return False
    return zipfile.is_zipfile(path) if path.suffix.lower() == ".zip" else True


def _enumerate(path: Path, cap: int, stack: ExitStack, summary: IngestSummary) -> Iterator:
    path = path.expanduser()
    root = _root_key(path)
    if not path.exists():
        kind = "broken symlink" if path.is_symlink() else "path not found"
        yield Skip(None, str(path), kind)
        return
    if path.is_dir():
        yield from _walk(path, root, cap, stack, summary)
    elif path.suffix.lower() == ".zip":
        yield from _zip_entries(path, "", root, cap, stack, summary, str(path))
    elif path.suffix.lower() in SUPPORTED_SUFFIXES:
        yield from _disk_file(path, clean_path(path.name), root, cap)
    else:
        summary.ignored += 1


def _walk(top: Path, root: str, cap: int, stack: ExitStack, summary: IngestSummary) -> Iterator:
    """Every supported file under `top`, sorted, following symlinks but never in a loop."""
    visiting: list[tuple[int, int]] = []

    def visit(folder: Path, rel: PurePosixPath) -> Iterator:
        st = folder.stat()
        key = (st.st_dev, st.st_ino)
        if key in visiting:
            yield Skip(str(rel), str(folder), "symlink loop (points back to a parent folder)")
            return
        visiting.append(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as e:
            yield Skip(str(rel), str(folder), f"cannot list folder: {e.strerror or e}")
            visiting.pop()
            return
        for entry in entries:
            if entry.name.startswith(".") or entry.name in ("__MACOSX", "node_modules"):
                continue
            p = Path(entry.path)
            r = rel / entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                yield from visit(p, r)
                continue
            suffix = p.suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES and suffix != ".zip":
                summary.ignored += 1
                continue
            source = clean_path(str(r))
            twin = _notion_all_csv(source, {clean_path(str(rel / e.name)) for e in entries})
            if twin:
                yield Skip(
                    source, str(p), f"same rows as {PurePosixPath(twin).name} (Notion exports both)"
                )
            elif entry.is_symlink() and not p.exists():
                yield Skip(source, str(p), "broken symlink")
            elif suffix == ".zip":
                yield from _zip_entries(p, source + "/", root, cap, stack, summary, str(p))
            else:
                yield from _disk_file(p, source, root, cap)
        visiting.pop()

    yield from visit(top, PurePosixPath(""))


def _notion_all_csv(source: str, siblings: set[str]) -> str | None:
    """Notion exports a database as `DB.csv` (visible columns) and `DB_all.csv` (all columns):
    the `_all` twin of a CSV, if there is one, so the rows are ingested once."""
    path = PurePosixPath(source)
    if path.suffix.lower() != ".csv" or path.stem.endswith("_all"):
        return None
    twin = str(path.with_name(f"{path.stem}_all{path.suffix}"))
    return twin if twin in siblings else None


def _disk_file(p: Path, source: str, root: str, cap: int) -> Iterator:
    try:
        st = p.stat()
    except OSError as e:
        yield Skip(source, str(p), f"cannot read: {e.strerror or e}")
        return
    if not stat.S_ISREG(st.st_mode):
        yield Skip(source, str(p), "not a regular file")
    elif st.st_size > cap:
        yield Skip(source, str(p), _too_big(st.st_size, None, cap))
    elif st.st_size == 0:
        yield Skip(source, str(p), "empty file")
    else:
        yield SourceFile(source, str(p), root, st.st_size, p.read_bytes)


def _zip_entries(
    zpath: Path | None,
    prefix: str,
    root: str,
    cap: int,
    stack: ExitStack,
    summary: IngestSummary,
    display: str,
    data: bytes | None = None,
    depth: int = 0,
) -> Iterator:
    """Files inside a zip (and zips inside it, as Notion splits big exports), as SourceFiles."""
    import io

    try:
        zf = zipfile.ZipFile(io.BytesIO(data) if data is not None else zpath)
        stack.enter_context(zf)
        infos = sorted(zf.infolist(), key=lambda i: i.filename)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        yield Skip(prefix.rstrip("/") or None, display, f"corrupt zip: {e}")
        return
    names = {prefix + clean_path(i.filename) for i in infos}
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name).parts
        if info.is_dir() or any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        suffix = PurePosixPath(name).suffix.lower()
        source = prefix + clean_path(name)
        shown = f"{display}/{name}"
        if suffix == ".zip" and depth < 3:
            if info.file_size > cap:
                yield Skip(source, shown, _too_big(info.file_size, None, cap))
                continue
            try:
                inner = zf.read(info)
            except Exception as e:
                yield Skip(source, shown, f"cannot read zip entry: {e}")
                continue
            yield from _zip_entries(
                None, source + "/", root, cap, stack, summary, shown, inner, depth + 1
            )
            continue
        if suffix not in SUPPORTED_SUFFIXES:
            summary.ignored += 1
            continue
        twin = _notion_all_csv(source, names)
        if twin:
            yield Skip(
                source, shown, f"same rows as {PurePosixPath(twin).name} (Notion exports both)"
            )
        elif info.flag_bits & 0x1:
            yield Skip(source, shown, "encrypted zip entry")
        elif info.file_size > cap:
            yield Skip(source, shown, _too_big(info.file_size, None, cap))
        elif info.file_size == 0:
            yield Skip(source, shown, "empty file")
        else:
            yield SourceFile(source, shown, root, info.file_size, _zip_reader(zf, info))


def _zip_reader(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            return zf.read(info)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, EOFError) as e:
            raise OSError(f"corrupt zip entry: {e}") from None

    return read


def _too_big(size: int, settings: Settings | None, cap: int | None = None) -> str:
    cap_mb = settings.max_file_mb if settings else (cap or 0) / 1024 / 1024
    return (
        f"larger than the {cap_mb:g} MB cap ({size / 1024 / 1024:.1f} MB); "
        "raise it with --max-file-mb or MOCKLOOP_MAX_FILE_MB"
    )


def _unique(source: str, taken: set[str]) -> str:
    """Two Notion pages with one title clean to one path: number the later ones `name (2).md`."""
    candidate, n = source, 1
    path = PurePosixPath(source)
    while candidate in taken:
        n += 1
        candidate = str(path.with_name(f"{path.stem} ({n}){path.suffix}"))
    taken.add(candidate)
    return candidate


def _pending(conn) -> dict[str, set[str]]:
    return {
        row["key"]: set(json.loads(row["value"]))
        for row in conn.execute("SELECT key, value FROM meta WHERE key LIKE 'pending:%'")
    }


def _crash_plan() -> list | None:
    spec = os.environ.get(_CRASH_ENV)
    if not spec:
        return None
    point, _, n = spec.partition(":")
    return [point, int(n or 1)]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
