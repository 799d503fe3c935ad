"""`mockloop serve` and `python app.py`: the web app, on 127.0.0.1:7860 unless told otherwise.

On first run (an empty note store) the sample notes in the repository's corpus/ are ingested, so
a newcomer lands in a working app. Binding any address other than loopback exposes the user's
notes and sessions to the network, so it is refused unless a login is set (`--auth user:password`
or MOCKLOOP_AUTH); the password is never printed.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from mockloop.cli.app import PLAIN, app, eval_app  # noqa: F401
from mockloop.config import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


class BindError(ValueError):
    """The address/login combination is unsafe or malformed; the message says how to fix it."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost are loopback; anything else (0.0.0.0 too) is not."""
    from mockloop.llm import is_loopback_host

    return is_loopback_host(host)


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """'user:password' → ('user', 'password'); None/'' → None; anything else is a BindError."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise BindError(
            "--auth (or MOCKLOOP_AUTH) must look like user:password, with both parts non-empty."
        )
    return user.strip(), password


def check_bind(host: str, auth: tuple[str, str] | None) -> None:
    """Refuse a non-loopback address without a login, saying why."""
    if is_loopback(host) or auth is not None:
        return
    raise BindError(
        f"refusing to serve on {host} without a login: anyone who can reach this machine on the "
        "network could read your notes, interview sessions and grades. Pass --auth user:password "
        "(or set MOCKLOOP_AUTH=user:password), or keep the default --host 127.0.0.1."
    )


def default_corpus() -> Path | None:
    """The sample notes: corpus/ in the source checkout, else ./corpus."""
    for candidate in (Path(__file__).resolve().parents[3] / "corpus", Path.cwd() / "corpus"):
        if candidate.is_dir() and any(candidate.iterdir()):
            return candidate
    return None


def ingest_sample_if_empty(settings: Settings, corpus: Path | None, echo=typer.echo) -> None:
    """First run: put the sample notes in an empty store so the app has something to ask about."""
    from mockloop.notes.ingest import ingest
    from mockloop.store import open_store

    if open_store(settings).count() > 0:
        return
    if corpus is None:
        echo("no notes yet and no corpus/ folder found: add your notes in the Notes tab.")
        return
    echo(
        f"first run: ingesting the sample notes in {corpus} (later starts skip this; "
        "from under a minute on idle cores to several on a busy machine)…"
    )
    summary = ingest([corpus], settings, on_progress=progress_printer(echo))
    for line in summary.lines():
        if line.startswith(("files:", "chunks:", "skipped")):
            echo(f"  {line}")
    from mockloop.rounds.notes import warm_question_vectors

    warm_question_vectors(settings)  # the encoder is loaded now: spare the first round this


def progress_printer(echo=typer.echo, steps: int = 10, clock=time.monotonic):
    """An ingest on_progress callback that says how far it is, about every tenth of each phase:

        reading files 12/40 · 3 s
        embedding chunks 260/1300 · 41 s

    A first start on a busy machine embeds for minutes; a line now and then shows it moves."""
    start = clock()
    said: dict[str, int] = {}

    def on_progress(what: str, done: int, total: int) -> None:
        step = done * steps // total if total else 0
        if step <= said.get(what, 0):  # a new tenth of the phase only (the last one included)
            return
        said[what] = step
        verb = "embedding" if what == "chunks" else "reading"
        echo(f"  {verb} {what} {done}/{total} · {clock() - start:.0f} s")

    return on_progress


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def run_server(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    auth: tuple[str, str] | None = None,
    corpus: Path | None = None,
    settings: Settings | None = None,
    block: bool = True,
):
    """Prepare the data dir, build the app and serve it; returns the Blocks when not blocking."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    check_bind(host, auth)
    settings = settings or Settings.from_env()
    settings.ensure_home()
    ingest_sample_if_empty(settings, corpus)

    from mockloop import ui

    handlers = ui.UiApp(settings)
    demo = ui.build_app(settings, handlers)
    ui.launch(demo, host=host, port=port, auth=auth, max_file_mb=settings.max_file_mb, block=False)
    # Load the encoder and the search index now, so the first question and search are quick.
    threading.Thread(target=handlers.warm_up, daemon=True, name="mockloop-warm-up").start()
    typer.echo(f"mockloop is serving at {_url(host, port)}  (data: {settings.home}; Ctrl+C stops)")
    if host in ("0.0.0.0", "::"):
        typer.echo("  listening on every network interface, behind the login you set")
    if not block:
        return demo
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
    return demo


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but loopback needs --auth.")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    auth: Annotated[
        str | None,
        typer.Option(
            help="Login as user:password (required off loopback).",
            envvar="MOCKLOOP_AUTH",
            show_default=False,
            show_envvar=True,
        ),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(help="Sample notes to ingest when the store is empty (default: corpus/)."),
    ] = None,
) -> None:
    """Start the web app: interview, notes, batch grading and progress in the browser."""
    try:
        login = parse_auth(auth)
        check_bind(host, login)
    except BindError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from mockloop.store import StoreError

    try:
        run_server(host, port, login, corpus or default_corpus())
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        if "port" in str(exc).lower():
            typer.echo(
                f"error: port {port} on {host} is in use; pass --port N or stop the other app.",
                err=True,
            )
            raise typer.Exit(1) from None
        raise


def serve_main(argv: list[str] | None = None) -> None:
    """`python app.py [--host H] [--port P] [--auth user:password]`: the same as `mockloop serve`."""
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False, **PLAIN)
    single.command()(serve)
    command = typer.main.get_command(single)
    command.main(args=argv if argv is not None else sys.argv[1:], prog_name="app.py")
