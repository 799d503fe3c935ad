"""`mockloop` commands for notes: ingest, search, stats, forget, and `eval retrieval`.

Each command builds Settings from the environment plus its options and calls the library
(mockloop.notes.ingest, mockloop.retrieval, mockloop.evaluation.retrieval); nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mockloop.cli.app import app, eval_app
from mockloop.config import Settings
from mockloop.store import StoreError

ChromaUrl = Annotated[
    str | None,
    typer.Option(
        "--chroma-url",
        help="Use a Chroma server (http://host:port) instead of the embedded store.",
        envvar="MOCKLOOP_CHROMA_URL",
    ),
]
err = Console(stderr=True)


def shown(name: str) -> str:
    """A source name safe to print: control characters (newlines, escapes) and Unicode format
    characters (right-to-left overrides, isolates, zero-width marks) become visible escapes, so
    a file name cannot fake another line or reorder what the terminal shows.

        >>> shown("evil\\u202egpj.md\\nfiles: 0")
        'evil\\\\u202egpj.md\\\\nfiles: 0'
    """
    import unicodedata

    out = []
    for ch in name:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def _settings(chroma_url: str | None = None, **overrides) -> Settings:
    return Settings.from_env(chroma_url=chroma_url or None, **overrides)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Folders, files or .zip exports to ingest.")],
    chroma_url: ChromaUrl = None,
    max_file_mb: Annotated[
        float | None, typer.Option(help="Skip files larger than this (MB).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Ingest notes (Markdown/Obsidian, Notion export, PDF, text) into the store, incrementally.

    Each file is stored once, named by its path inside the folder given; a path another
    folder's note already has gets the folder's name in front (rootB/index.md). Ingesting one
    folder never changes another folder's notes; re-ingesting it drops the files deleted from it.
    """
    from mockloop.notes.ingest import ingest as run_ingest

    settings = _settings(chroma_url, max_file_mb=max_file_mb)
    progress = Progress(
        TextColumn("{task.description:<7}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet or not err.is_terminal,
    )
    tasks = {
        "files": progress.add_task("files", total=None),
        "chunks": progress.add_task("chunks", total=None),
    }

    def on_progress(what: str, done: int, total: int) -> None:
        progress.update(tasks[what], completed=done, total=total)

    try:
        with progress:
            summary = run_ingest(
                paths, settings, on_progress=on_progress, on_notice=progress.console.print
            )
    except StoreError as e:
        _fail(f"error: {e}", 2)
    for line in summary.lines():
        if line not in summary.notes:  # already said, as it happened
            typer.echo(line)
    if not summary.ok:
        where = ", ".join(str(p) for p in paths)
        _fail(
            f"nothing could be ingested from {where}. mockloop reads .md, .txt, .pdf, .csv and "
            ".zip (Notion export) files; check the path and the skip reasons above."
        )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
    k: Annotated[int, typer.Option("-k", help="How many hits.")] = 5,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Only chunks with this tag (repeatable: all must match)."),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Only this source or folder prefix, e.g. nlp/.")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="hybrid (score fusion), dense, bm25 or rrf.")
    ] = "hybrid",
    mmr: Annotated[
        bool, typer.Option("--mmr", help="Diversify hits (maximal marginal relevance).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON lines.")] = False,
    chroma_url: ChromaUrl = None,
) -> None:
    """Search your notes; every hit comes with its citation (source § heading path, page)."""
    from mockloop.retrieval import MODES, Retriever, snippet

    if mode not in MODES:
        _fail(f"--mode must be one of {', '.join(MODES)}", 2)
    settings = _settings(chroma_url)
    try:
        retriever = Retriever(settings)
        if retriever.store.count() == 0:
            _fail(
                "no notes ingested yet: run `mockloop ingest PATH` first (try `mockloop ingest corpus/`)."
            )
        hits = retriever.search(query, k, mode=mode, tags=tag, source=source, mmr=mmr)
    except StoreError as e:
        _fail(f"error: {e}", 2)
    if not hits:
        typer.echo("no matching notes" + (" (check --tag/--source)" if tag or source else ""))
        return
    for rank, hit in enumerate(hits, start=1):
        if as_json:
            typer.echo(
                json.dumps({**hit.model_dump(), "citation": hit.citation}, ensure_ascii=False)
            )
        else:
            typer.echo(f"{rank}. {hit.citation}  [{hit.score:.3f}]")
            typer.echo(f"   {snippet(hit.text)}")


@app.command()
def stats(chroma_url: ChromaUrl = None) -> None:
    """Sources, chunks, last ingest and where the store lives."""
    from mockloop.notes.ingest import last_ingest
    from mockloop.store import open_store

    settings = _settings(chroma_url)
    try:
        store = open_store(settings)
    except StoreError as e:
        _fail(f"error: {e}", 2)
    sources = store.sources()
    typer.echo(f"store: {store.location} (collection {settings.collection!r})")
    typer.echo(f"sources: {len(sources)}")
    typer.echo(f"chunks: {sum(sources.values())}")
    last = last_ingest(settings)
    if last:
        typer.echo(
            f"last ingest: {last['at']} ({last['added']} added, {last['changed']} changed, "
            f"{last['unchanged']} unchanged, {last['removed']} removed, {last['skipped']} skipped)"
        )
    else:
        typer.echo("last ingest: never")
    for name, n in sources.items():
        typer.echo(f"  {n:4d}  {shown(name)}")
    from mockloop.rounds.notes import routing_lines

    for line in routing_lines(settings, store):
        typer.echo(shown(line))  # routing lines name notes too: control characters escaped


@app.command()
def forget(
    targets: Annotated[
        list[str],
        typer.Argument(help="Sources (as `stats` lists them), folder prefixes or paths on disk."),
    ],
    chroma_url: ChromaUrl = None,
) -> None:
    """Remove sources and their chunks from the store."""
    from mockloop.notes.ingest import forget as run_forget

    try:
        removed = run_forget(targets, _settings(chroma_url))
    except StoreError as e:
        _fail(f"error: {e}", 2)
    for source in removed:
        typer.echo(f"forgot {source}")
    if not removed:
        _fail(f"no ingested source matches {', '.join(targets)}; `mockloop stats` lists them.")
    typer.echo(f"removed {len(removed)} sources")


@eval_app.command("retrieval")
def eval_retrieval(
    dataset: Annotated[Path, typer.Option(help="JSONL eval set.")] = Path("evals/retrieval.jsonl"),
    corpus: Annotated[Path, typer.Option(help="Notes the eval set is about.")] = Path("corpus"),
    home: Annotated[
        Path | None, typer.Option(help="Data dir to ingest the corpus into (default: a temp dir).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    show_misses: Annotated[
        bool, typer.Option("--misses", help="List queries the default mode misses in the top 5.")
    ] = False,
    external: Annotated[
        Path | None,
        typer.Option(
            help="Also run the eval over notes nobody here wrote: the SemEval-2013 and SAF "
            "reference answers in this folder (e.g. ../shared/evaldata); skipped if it is missing."
        ),
    ] = None,
) -> None:
    """Recall@1, recall@5, MRR and nDCG@10 of each search mode on an eval set."""
    from mockloop.evaluation.retrieval import DatasetError, run_external_eval, run_retrieval_eval
    from mockloop.retrieval import DEFAULT_MODE

    if not dataset.exists():
        _fail(f"no eval set at {dataset}; pass --dataset PATH", 2)
    try:
        reports = [run_retrieval_eval(dataset, corpus, home=home)]
        if external is not None and external.is_dir():
            reports.append(run_external_eval(external))
    except (DatasetError, StoreError) as e:
        _fail(f"error: {e}", 2)
    if as_json:
        out = {"default": DEFAULT_MODE, **reports[0].as_dict()}
        if len(reports) > 1:
            out["external"] = reports[1].as_dict()
        typer.echo(json.dumps(out, indent=2))
        return
    for report in reports:
        for line in report.table():
            typer.echo(line)
        if show_misses:
            for line in report.misses(DEFAULT_MODE, k=5):
                typer.echo(line)
    if external is not None and not external.is_dir():
        typer.echo(f"external eval skipped: no folder at {external}")
    typer.echo(f"default: {DEFAULT_MODE}")
