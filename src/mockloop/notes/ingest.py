"""Ingest folders, files and .zip exports into the store: incremental, idempotent, crash-safe.

`ingest(paths, settings)` walks each path, hashes every supported file and compares it with
the manifest (SQLite, `manifest` table: one row per file with its source name, location,
content hash and chunk ids). Only new or changed files are loaded, chunked and embedded;
chunks of changed or deleted files are removed. Bad files are skipped with one reason each and
counted; the run goes on.

A file's identity is its location: its resolved path on disk, or `zip path!/entry` inside a
zip. So one file reached through two roots (`notes/`, then `notes/nlp`, or a symlink) is
stored once. Its `source` (what citations and `stats` show) is its path relative to the root
it was first ingested from; a name another root already uses gets that root's folder name in
front (`rootB/index.md`), and a name keeps its first form on later runs. Ingesting one root
never removes or overwrites another root's notes: a run removes a file only when it was last
ingested through this root and is no longer reached from it, or it lies inside this root and
is gone from disk.

Crash safety (kill -9 at any point, then run again = an uninterrupted run):
  1. before writing a file's new chunks, their ids are recorded as pending (`meta` table);
  2. new chunks are written (upsert: writing twice is harmless);
  3. the file's stale chunks (old manifest ids not in the new set) are deleted;
  4. the manifest row is recorded and the pending record dropped, in one transaction.
A later run deletes any pending ids that no manifest row claims, and the BM25 index is rebuilt
whenever it does not match the store's ids. Names are given deterministically from the
manifest and the tree, so a rerun names every file as the killed run did.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import stat
import time
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

RENAMED_SHOWN = 10  # files named after their folder listed one per line; the rest are counted
EMBED_BATCH = 256  # chunks embedded and written per step: big enough to keep the encoder busy
ProgressFn = Callable[[str, int, int], None]  # (what: "files" | "chunks", done, total)
NoticeFn = Callable[[str], None]  # a line worth saying before the run ends (a long embedding)
ZIP_MAX_DEPTH = 3  # zips inside zips (Notion splits big exports once; deeper is suspicious)
ZIP_MEMBERS_ENV, ZIP_MEMBERS_DEFAULT = "MOCKLOOP_ZIP_MAX_MEMBERS", 20_000
ZIP_MB_ENV, ZIP_MB_DEFAULT = "MOCKLOOP_ZIP_MAX_MB", 512  # uncompressed size of what is read
CHUNK_BUDGET_ENV, CHUNK_BUDGET_DEFAULT = "MOCKLOOP_MAX_CHUNKS", 50_000  # new chunks per run
LARGE_FILE_CHUNKS = 2_000  # a file this big gets a time estimate before it is embedded
SPILL_BLOCK = 1 << 20  # inner zips are copied to a temp file this many bytes at a time


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
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (path, source): name taken
    safe_named: list[str] = field(default_factory=list)  # sources whose names were not UTF-8
    notes: list[str] = field(default_factory=list)  # said during the run (time estimates)
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
        for path, source in self.renamed[:RENAMED_SHOWN]:
            out.append(f"stored {path} as {source}: another folder already has a note at that path")
        if len(self.renamed) > RENAMED_SHOWN:
            out.append(f"... and {len(self.renamed) - RENAMED_SHOWN} more named after their folder")
        for source in self.safe_named[:RENAMED_SHOWN]:
            out.append(
                f"stored as {source}: its file name is not valid UTF-8 (bytes shown as \\xNN)"
            )
        if len(self.safe_named) > RENAMED_SHOWN:
            out.append(f"... and {len(self.safe_named) - RENAMED_SHOWN} more such names")
        out += self.notes
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

    rel: str  # path relative to the ingested root, POSIX, Notion ids stripped
    location: str  # where it really is: resolved path, or `zip location!/entry name`
    display: str  # how to name it to the user
    root: str
    size: int
    read: Callable[[], bytes]
    source: str = ""  # the name it is stored under: `rel` unless another file has it (_Namer)
    _digest: str | None = None

    def digest(self) -> str | None:
        """Content hash, read once; None when the file cannot be read."""
        if self._digest is None:
            try:
                self._digest = content_hash(self.read())
            except OSError:
                return None
        return self._digest


@dataclass
class Skip:
    location: str | None  # None when there is nothing on disk to keep (e.g. a missing root)
    display: str
    reason: str
    keeps: bool = False  # a folder or zip whose contents could not be read: keep what it held


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
    on_notice: NoticeFn | None = None,
) -> IngestSummary:
    """Bring the store up to date with these folders, files or .zip exports."""
    settings = settings or Settings.from_env()
    store = open_store(settings)  # StoreError propagates: nothing can be done without it
    with _exclusive(settings):
        conn = db.connect(settings)
        try:
            run = _Run(settings, store, conn, on_progress, on_notice)
            return run.run([Path(p) for p in paths])
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
    def __init__(
        self,
        settings: Settings,
        store: Store,
        conn,
        on_progress: ProgressFn | None,
        on_notice: NoticeFn | None = None,
    ):
        self.settings = settings
        self.store = store
        self.conn = conn
        self.progress = on_progress or (lambda what, done, total: None)
        self.on_notice = on_notice or (lambda line: None)
        self.summary = IngestSummary(store_location=store.location)
        self.run_id = uuid.uuid4().hex
        self.cap = int(settings.max_file_mb * 1024 * 1024)
        self.caps = _Caps.from_env(self.cap)
        self.budget = _env_int(CHUNK_BUDGET_ENV, CHUNK_BUDGET_DEFAULT)
        self.rate: float | None = None  # chunks embedded per second, once measured
        self.manifest = {r["source"]: dict(r) for r in conn.execute("SELECT * FROM manifest")}
        self.store_ids = store.ids()
        self.pending_before = _pending(conn)
        self.chunks_done = 0
        self.chunks_total = 0

    def run(self, paths: list[Path]) -> IngestSummary:
        with ExitStack() as stack:
            files: list[SourceFile] = []
            roots: list[_Root] = []
            locations: set[str] = set()  # every file reached in this run
            keeps: list[str] = []  # folders and zips whose contents could not be read
            for path in paths:
                root = _Root.of(path)
                if root.readable:  # a missing drive or a corrupt zip removes nothing
                    roots.append(root)
                for item in _enumerate(path, root, self.caps, stack, self.summary):
                    item = _storable_item(item, self.summary)
                    if item.location is not None:
                        if item.location in locations:
                            continue  # the same file again (through another root, a symlink)
                        locations.add(item.location)
                    self.summary.files_seen += 1  # a missing path given by the user counts too
                    if isinstance(item, Skip):
                        self.summary.skipped.append((item.display, item.reason))
                        if item.keeps:
                            keeps.append(item.location)
                    else:
                        files.append(item)
            self._name(files, {r.key: r for r in roots}, locations)
            self._process(files)
        for root in roots:
            self._remove_missing(root.key, locations, keeps)
        self._clean_pending()
        changed = self.summary.chunks_written or self.summary.chunks_deleted
        from mockloop.retrieval import refresh_bm25

        refresh_bm25(self.settings, self.store, force=bool(changed))
        self._record_run()
        return self.summary

    # --- names ------------------------------------------------------------------------

    def _name(self, files: list[SourceFile], roots: dict[str, _Root], locations: set[str]) -> None:
        """Give every file its source. A file already in the manifest keeps its name. A new
        one gets its path relative to its root, numbered when its own root has that name twice
        (Notion pages with one title), or with its root's folder name in front when another
        root's file has it. A row whose file this root no longer reaches, or that moved here
        unchanged, is taken over (no re-embedding; this is also how rows from before locations
        were recorded are matched up)."""
        claimed: dict[str, str] = {}  # source → root of the file holding it in this run
        by_location = {r["location"]: r for r in self.manifest.values() if r["location"]}
        for loc in locations:
            if loc in by_location:
                claimed[by_location[loc]["source"]] = by_location[loc]["root"]
        adopted: list[SourceFile] = []
        legacy = _legacy_locations(self.manifest.values())
        for f in files:
            if f.location in by_location:
                f.source = by_location[f.location]["source"]
            elif f.location in legacy and legacy[f.location]["source"] not in claimed:
                f.source = legacy.pop(f.location)["source"]  # this very file, named before m003
                adopted.append(f)
            else:
                continue
            claimed[f.source] = f.root
        for f in files:
            if not f.source:
                f.source = self._new_name(f, roots.get(f.root), claimed, locations, adopted)
                claimed[f.source] = f.root
        if adopted:
            with self.conn:
                for f in adopted:
                    self.conn.execute(
                        "UPDATE manifest SET location = ?, root = ? WHERE source = ?",
                        (f.location, f.root, f.source),
                    )
                    self.manifest[f.source].update(location=f.location, root=f.root)

    def _new_name(
        self,
        f: SourceFile,
        root: _Root | None,
        claimed: dict[str, str],
        locations: set[str],
        adopted: list[SourceFile],
    ) -> str:
        name = f.rel
        n = 1
        while claimed.get(name) == f.root:
            n += 1
            name = _numbered(f.rel, n)
        labelled = [f"{label}/{name}" for label in (root.labels if root else [])]
        last = labelled[-1] if labelled else name
        numbered = (_numbered(last, k) for k in itertools.count(2))
        for candidate in itertools.chain([name], labelled, numbered):
            if candidate in claimed:
                continue
            row = self.manifest.get(candidate)
            if row is None:
                if candidate != name:
                    self.summary.renamed.append((f.display, candidate))
                return candidate
            if self._adoptable(row, f, locations):
                adopted.append(f)
                return candidate
        raise AssertionError("unreachable: the numbered names never run out")

    def _adoptable(self, row: dict, f: SourceFile, locations: set[str]) -> bool:
        """Whether a new file may take over this manifest row (and its chunks)."""
        if row["location"] is not None and row["location"] in locations:
            return False  # its own file is here in this run
        if row["root"] == f.root:
            return True  # this root no longer reaches that file: this one replaces it
        return not _still_there(row) and f.digest() == row["content_hash"]  # moved here as is

    # --- the pipeline -----------------------------------------------------------------

    def _process(self, files: list[SourceFile]) -> None:
        batch: list[_Work] = []
        pending = 0
        total = len(files)
        self.progress("files", 0, total)
        for done, f in enumerate(files, start=1):
            work = self._prepare(f)
            if work is not None and self._within_budget(work):
                batch.append(work)
                pending += sum(1 for c in work.chunks if c.id not in self.store_ids)
                self.chunks_total += len({c.id for c in work.chunks} - self.store_ids)
                if pending >= EMBED_BATCH:
                    self._flush(batch)
                    batch, pending = [], 0
            self.progress("files", done, total)
        self._flush(batch)

    def _within_budget(self, work: _Work) -> bool:
        """Whether this file's new chunks fit the run's budget; say how long a big one takes."""
        new = len({c.id for c in work.chunks} - self.store_ids)
        if self.chunks_total + new > self.budget:
            self.summary.skipped.append(
                (
                    work.file.display,
                    f"would add {new:,} chunks (about {_duration(new / self._rate(work))} to "
                    f"embed), over this run's budget of {self.budget:,} new chunks "
                    f"({self.chunks_total:,} already planned); split the file or raise "
                    f"{CHUNK_BUDGET_ENV}",
                )
            )
            return False
        if new >= LARGE_FILE_CHUNKS:
            self._notice(
                f"{work.file.display}: {new:,} chunks to embed, about "
                f"{_duration(new / self._rate(work))} on this machine"
            )
        return True

    def _rate(self, work: _Work) -> float:
        """Chunks embedded per second: measured in this run, else on a few of these chunks."""
        if self.rate is None:
            from mockloop.embeddings import encode

            sample = [chunk_passage(c) for c in work.chunks[:32]]
            started = time.perf_counter()
            encode(sample, self.settings.embed_model)
            self.rate = len(sample) / max(time.perf_counter() - started, 1e-3)
        return self.rate

    def _notice(self, line: str) -> None:
        self.summary.notes.append(line)
        self.on_notice(line)

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
            if (row["root"], row["location"]) != (f.root, f.location):
                with self.conn:
                    self.conn.execute(
                        "UPDATE manifest SET root = ?, location = ? WHERE source = ?",
                        (f.root, f.location, f.source),
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
        for work in batch:
            self._commit(work)

    def _encode(self, texts: list[str]):
        from mockloop.embeddings import encode

        # Slices of 64 keep the chunk bar moving; the encoder batches 64 at a time anyway.
        parts = []
        for start in range(0, len(texts), 64):
            started = time.perf_counter()
            parts.append(encode(texts[start : start + 64], self.settings.embed_model))
            if len(parts[-1]) >= 32:  # a full slice: a fair measure of this machine's speed
                self.rate = len(parts[-1]) / max(time.perf_counter() - started, 1e-3)
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
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO manifest"
                " (source, root, content_hash, chunk_ids, ingested_at, location)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    work.file.source,
                    work.file.root,
                    work.hash,
                    json.dumps(new_ids),
                    _now(),
                    work.file.location,
                ),
            )
            self.conn.execute(
                "DELETE FROM meta WHERE key = ?", (f"pending:{self.run_id}:{work.file.source}",)
            )
        if work.is_new:
            self.summary.added += 1
        else:
            self.summary.changed += 1

    def _remove_missing(self, root: str, locations: set[str], keeps: list[str]) -> None:
        """Drop files this root no longer has: the ones last ingested through it that it does
        not reach any more, and the ones inside it that are gone from disk. Files of other
        roots are left alone, and so is whatever sits in a folder or zip that could not be read."""
        rows = self.conn.execute("SELECT * FROM manifest").fetchall()
        for row in rows:
            where = _where(row)
            mine = row["root"] == root
            if not mine and not (row["location"] and _under(row["location"], root)):
                continue
            if row["location"] in locations or any(_under(where, k) for k in keeps):
                continue
            if not mine and _still_there(row):
                continue  # another root's file, still on disk (e.g. in a folder this walk skips)
            ids = json.loads(row["chunk_ids"])
            deleted = self.store.delete_source(row["source"])
            self.store_ids.difference_update(ids)
            with self.conn:
                self.conn.execute("DELETE FROM manifest WHERE source = ?", (row["source"],))
            self.summary.removed += 1
            self.summary.chunks_deleted += deleted

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


def forget(targets: list[str | Path], settings: Settings | None = None) -> list[str]:
    """Remove sources from the store and manifest: a source, a folder prefix or a path on disk."""
    settings = settings or Settings.from_env()
    store = open_store(settings)
    with _exclusive(settings):
        return _forget(targets, settings, store)


def _forget(targets: list[str | Path], settings: Settings, store: Store) -> list[str]:
    conn = db.connect(settings)
    try:
        rows = {r["source"]: r for r in conn.execute("SELECT * FROM manifest")}
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


def _matches(target: str, source: str, row) -> bool:
    """A source as `stats` lists it or a folder prefix of one; or a path on disk (the file, a
    folder holding it, or a folder it was ingested from), even one since deleted."""
    t = target.strip().replace(os.sep, "/")
    if source == t or source.startswith(t.rstrip("/") + "/"):
        return True
    path = Path(target).expanduser()
    if row is None or not (path.exists() or path.is_absolute()):
        return False
    where = os.path.realpath(path)
    return _under(row["root"], where) or _under(_where(row), where)


# --- locations ----------------------------------------------------------------------------


def _under(location: str, base: str) -> bool:
    """Whether a location is `base` itself or inside it (a folder, or a zip's entries)."""
    return (
        location == base
        or location.startswith(base.rstrip("/") + "/")
        or location.startswith(base + "!/")
    )


def _where(row) -> str:
    """A manifest row's location; for rows from before locations were kept, root + source."""
    if row["location"]:
        return row["location"]
    root = Path(row["root"])
    return str(root / row["source"]) if root.is_dir() else str(root)


def _legacy_locations(rows) -> dict[str, dict]:
    """Rows from before locations were kept, by the file their root + source resolves to
    (folder roots only: a zip's entries are matched by root and source instead)."""
    found: dict[str, dict] = {}
    for row in rows:
        if row["location"] is None and os.path.isdir(row["root"]):
            path = os.path.realpath(_where(row))
            if os.path.isfile(path):
                found.setdefault(path, row)
    return found


def _split_location(location: str) -> tuple[str, str]:
    """(path on disk, entry inside the zip at that path or "")."""
    start = 0
    while (i := location.find("!/", start)) != -1:
        if os.path.isfile(location[:i]):  # a folder may be called `x!`; a zip is a file
            return location[:i], location[i + 2 :]
        start = i + 2
    return location, ""


def _still_there(row) -> bool:
    """Whether a manifest row's file still exists where it was read."""
    path, entry = _split_location(_where(row))
    if not os.path.exists(path):
        return False
    if not entry or "!/" in entry:  # a zip inside a zip: its outer zip is there, keep it
        return True
    try:
        with zipfile.ZipFile(path) as zf:
            return entry in zf.NameToInfo
    except (zipfile.BadZipFile, OSError):
        return True  # cannot tell: keep


# --- enumeration --------------------------------------------------------------------------


def storable(text: str) -> str:
    """A name that can be hashed, stored and printed. Linux hands undecodable bytes in file
    names over as lone surrogates, which UTF-8 refuses; they become `\\xNN` text, so one name
    maps to one stable source across runs.

        >>> storable("caf\\udce9.md")
        'caf\\\\xe9.md'
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")


def _storable_item(item, summary: IngestSummary):
    """A SourceFile or Skip with every name made storable; a renamed source is reported."""
    if item.location is not None:
        item.location = storable(item.location)
    item.display = storable(item.display)
    if isinstance(item, SourceFile):
        item.root = storable(item.root)
        rel = storable(item.rel)
        if rel != item.rel:
            summary.safe_named.append(rel)
            item.rel = rel
    return item


@dataclass
class _Root:
    """One path given to ingest."""

    key: str  # resolved path: what manifest rows record as their root
    labels: list[str]  # put in front of a name another root has: `rootB`, then `work/rootB`
    readable: bool  # a missing path or a corrupt zip removes nothing

    @classmethod
    def of(cls, path: Path) -> _Root:
        path = path.expanduser()
        key = storable(os.path.realpath(path))
        folder = Path(key)
        if folder.suffix.lower() == ".zip":
            folder = folder.with_suffix("")  # `Export.zip` holds `Export/...`
        elif not folder.is_dir():
            folder = folder.parent  # a single file: its folder
        parts = [clean_path(part) for part in folder.parts[1:]]
        labels = ["/".join(parts[-n:]) for n in (1, 2) if len(parts) >= n]
        if not path.exists():
            readable = False
        elif path.suffix.lower() == ".zip":
            readable = zipfile.is_zipfile(path)
        else:
            readable = True
        return cls(key, labels, readable)


def _enumerate(
    path: Path, root: _Root, caps: _Caps, stack: ExitStack, summary: IngestSummary
) -> Iterator:
    path = path.expanduser()
    if not path.exists():
        kind = _dangling(path) if path.is_symlink() else "path not found"
        yield Skip(None, str(path), kind)
        return
    if path.is_dir():
        yield from _walk(path, root.key, caps, stack, summary)
    elif path.suffix.lower() == ".zip":
        yield from _zip_entries(path, "", root.key, caps, stack, summary, str(path), root.key)
    elif path.suffix.lower() in SUPPORTED_SUFFIXES:
        yield from _disk_file(path, clean_path(path.name), root.key, caps.file)
    else:
        summary.ignored += 1


def _dangling(path: Path) -> str:
    """Why a symlink leads nowhere: a loop of links, or a target that does not exist."""
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "symlink loop (the links point at each other and never reach a file)"
    return "broken symlink"


def _walk(top: Path, root: str, caps: _Caps, stack: ExitStack, summary: IngestSummary) -> Iterator:
    """Every supported file under `top`, sorted, following symlinks but never in a loop."""
    visiting: list[tuple[int, int]] = []

    def visit(folder: Path, rel: PurePosixPath) -> Iterator:
        st = folder.stat()
        key = (st.st_dev, st.st_ino)
        if key in visiting:
            yield Skip(
                os.path.realpath(folder),
                str(folder),
                "symlink loop (points back to a parent folder)",
            )
            return
        visiting.append(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as e:
            yield Skip(
                os.path.realpath(folder),
                str(folder),
                f"cannot list folder: {e.strerror or e}",
                keeps=True,
            )
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
                    os.path.realpath(p),
                    str(p),
                    f"same rows as {PurePosixPath(twin).name} (Notion exports both)",
                )
            elif entry.is_symlink() and not p.exists():
                yield Skip(os.path.realpath(p), str(p), _dangling(p))
            elif suffix == ".zip":
                yield from _zip_entries(
                    p, source + "/", root, caps, stack, summary, str(p), os.path.realpath(p)
                )
            else:
                yield from _disk_file(p, source, root, caps.file)
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


def _disk_file(p: Path, rel: str, root: str, cap: int) -> Iterator:
    location = os.path.realpath(p)
    try:
        st = p.stat()
    except OSError as e:
        yield Skip(location, str(p), f"cannot read: {e.strerror or e}")
        return
    if not stat.S_ISREG(st.st_mode):
        yield Skip(location, str(p), "not a regular file")
    elif st.st_size > cap:
        yield Skip(location, str(p), _too_big(st.st_size, None, cap))
    elif st.st_size == 0:
        yield Skip(location, str(p), "empty file")
    else:
        yield SourceFile(rel, location, str(p), root, st.st_size, p.read_bytes)


@dataclass
class _Caps:
    """Limits on what one run reads: a file, and per archive its members and bytes."""

    file: int
    zip_members: int = ZIP_MEMBERS_DEFAULT
    zip_bytes: int = ZIP_MB_DEFAULT * 1024 * 1024

    @classmethod
    def from_env(cls, file: int) -> _Caps:
        return cls(
            file,
            _env_int(ZIP_MEMBERS_ENV, ZIP_MEMBERS_DEFAULT),
            _env_int(ZIP_MB_ENV, ZIP_MB_DEFAULT) * 1024 * 1024,
        )


def _zip_entries(
    zpath: Path | None,
    prefix: str,
    root: str,
    caps: _Caps,
    stack: ExitStack,
    summary: IngestSummary,
    display: str,
    zloc: str,
    fileobj=None,
    depth: int = 0,
) -> Iterator:
    """Files inside a zip (and zips inside it, as Notion splits big exports), as SourceFiles.
    `zloc` is the zip's own location; an entry's is `zloc!/entry name`. An inner zip is copied
    to a temporary file (never held in memory) and read from there; an archive with too many
    members, or more bytes to read than the cap, is skipped whole with the reason."""
    try:
        zf = zipfile.ZipFile(fileobj if fileobj is not None else zpath)
        stack.enter_context(zf)
        infos = sorted(zf.infolist(), key=lambda i: i.filename)
    except (zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError) as e:
        yield Skip(zloc, display, f"corrupt zip: {e}", keeps=True)
        return
    too_many = _zip_over_caps(infos, caps)
    if too_many:
        yield Skip(zloc, display, too_many, keeps=True)
        return
    names = {prefix + clean_path(i.filename) for i in infos}
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name).parts
        if info.is_dir() or any(p.startswith(".") and p != ".." or p == "__MACOSX" for p in parts):
            continue
        suffix = PurePosixPath(name).suffix.lower()
        rel = prefix + clean_path(name)
        location = f"{zloc}!/{name}"
        shown = f"{display}/{name}"
        if _unsafe_member(name):
            yield Skip(location, shown, "unsafe path inside the zip (.. or absolute); not read")
            continue
        if suffix == ".zip":
            if depth >= ZIP_MAX_DEPTH:
                yield Skip(location, shown, f"zip nested more than {ZIP_MAX_DEPTH} levels deep")
            elif info.file_size > caps.file:
                yield Skip(location, shown, _too_big(info.file_size, None, caps.file))
            else:
                try:
                    spilled = stack.enter_context(_spill(zf, info))
                except Exception as e:  # noqa: BLE001 — a broken member skips only itself
                    yield Skip(location, shown, f"cannot read zip entry: {e}", keeps=True)
                    continue
                yield from _zip_entries(
                    None, rel + "/", root, caps, stack, summary, shown, location, spilled, depth + 1
                )
            continue
        if suffix not in SUPPORTED_SUFFIXES:
            summary.ignored += 1
            continue
        twin = _notion_all_csv(rel, names)
        if twin:
            yield Skip(
                location, shown, f"same rows as {PurePosixPath(twin).name} (Notion exports both)"
            )
        elif info.flag_bits & 0x1:
            yield Skip(location, shown, "encrypted zip entry")
        elif info.file_size > caps.file:
            yield Skip(location, shown, _too_big(info.file_size, None, caps.file))
        elif info.file_size == 0:
            yield Skip(location, shown, "empty file")
        else:
            yield SourceFile(rel, location, shown, root, info.file_size, _zip_reader(zf, info))


def _unsafe_member(name: str) -> bool:
    """A member named with `..` or an absolute path (zip-slip): never a note's own name."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts


def _zip_over_caps(infos: list[zipfile.ZipInfo], caps: _Caps) -> str | None:
    """Why an archive is too big to read (members, or bytes of what would be read), if it is."""
    if len(infos) > caps.zip_members:
        return (
            f"archive holds {len(infos):,} members, over the {caps.zip_members:,} cap "
            f"(raise it with {ZIP_MEMBERS_ENV})"
        )
    wanted = (".zip", *SUPPORTED_SUFFIXES)
    total = sum(i.file_size for i in infos if PurePosixPath(i.filename).suffix.lower() in wanted)
    if total > caps.zip_bytes:
        return (
            f"archive would unpack to {total / 1024 / 1024:,.0f} MB of notes, over the "
            f"{caps.zip_bytes / 1024 / 1024:g} MB cap (raise it with {ZIP_MB_ENV})"
        )
    return None


@contextmanager
def _spill(zf: zipfile.ZipFile, info: zipfile.ZipInfo):
    """An inner archive copied to an anonymous temp file, a block at a time; removed on exit."""
    import tempfile

    with tempfile.TemporaryFile(prefix="mockloop-zip-") as tmp:
        with zf.open(info) as member:
            while block := member.read(SPILL_BLOCK):
                tmp.write(block)
        tmp.seek(0)
        yield tmp


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


def _duration(seconds: float) -> str:
    """A rough duration: `40 s`, `3 min`, `1.5 h`."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _numbered(source: str, n: int) -> str:
    """`name (n).md`: two Notion pages with one title clean to one path."""
    path = PurePosixPath(source)
    return str(path.with_name(f"{path.stem} ({n}){path.suffix}"))


def _pending(conn) -> dict[str, set[str]]:
    return {
        row["key"]: set(json.loads(row["value"]))
        for row in conn.execute("SELECT key, value FROM meta WHERE key LIKE 'pending:%'")
    }


def _env_int(name: str, default: int) -> int:
    """A positive whole number from the environment, or the default when unset or malformed."""
    try:
        value = int(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if value > 0 else default


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
