"""Fixtures for the notes tests: small vaults on disk, PDFs, a real Chroma server, store snapshots."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from mockloop import db
from mockloop.config import Settings

# A tiny vault: three notes whose topics do not overlap, so any search has one right answer.
VAULT = {
    "nlp/lora.md": """\
        ---
        title: LoRA
        tags: [nlp, fine-tuning]
        topic: peft
        ---
        # LoRA

        Low-rank adaptation freezes the pretrained weight W0 and learns a low-rank update B A,
        so only r·(d+k) parameters train instead of d·k.

        ## Initialisation
        A is random and B starts at zero, so the adapted model equals the base model at step 0.

        ## Merging
        After training, W0 + B A is merged into one matrix: no extra inference latency.
        """,
    "ranking/position-bias.md": """\
        # Position bias

        Users click the top slots more often regardless of relevance. Inverse propensity
        weighting divides each click by the examination probability of its position.

        ## Estimating propensities
        Randomise the top results for a small share of traffic (RandTop-n) or use intervention
        harvesting across rankers to estimate the examination curve.
        """,
    "ml/optimizers.md": """\
        # Optimizers

        Adam keeps running means of the gradient and of its square, with bias correction.
        AdamW decouples weight decay from the adaptive update. #optimization

        ```python
        def sgd_step(w, g, lr):
            # plain gradient descent
            return w - lr * g
        ```
        """,
}


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write {relative path: text or bytes} under root (text is dedented)."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


@pytest.fixture
def vault(tmp_path) -> Path:
    return write_tree(tmp_path / "vault", VAULT)


@pytest.fixture
def settings(mockloop_home) -> Settings:
    """Embedded-store settings in this test's MOCKLOOP_HOME."""
    return Settings(home=mockloop_home)


def make_pdf(pages: list[str], title: str | None = None) -> bytes:
    """A real PDF with one text page per entry (fpdf2)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def encrypt_pdf(data: bytes, password: str = "secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password=password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def store_state(settings: Settings) -> dict[str, str]:
    """Every chunk in the store as {id: text}."""
    from mockloop.store import open_store

    return {c.id: c.text for c in open_store(settings).all_chunks()}


def manifest_state(settings: Settings) -> dict[str, tuple[str, list[str]]]:
    import json

    conn = db.connect(settings)
    try:
        return {
            r["source"]: (r["content_hash"], json.loads(r["chunk_ids"]))
            for r in conn.execute("SELECT source, content_hash, chunk_ids FROM manifest")
        }
    finally:
        conn.close()


INGEST_SCRIPT = """
import os, signal, sys
from pathlib import Path
from mockloop.config import Settings
from mockloop.notes import ingest as ingest_module
from mockloop.store import Store

# "after_manifest:3": SIGKILL this process when the 3rd call to that step returns.
STEPS = {
    "after_upsert": (Store, "upsert"),  # a batch of chunks and vectors written
    "after_delete": (Store, "delete"),  # a changed file's stale chunks deleted
    "after_remove": (Store, "delete_source"),  # a vanished file's chunks deleted, row kept
    "after_manifest": (ingest_module._Run, "_commit"),  # a file's manifest row committed
}


def crash_after(owner, name, calls):
    step = getattr(owner, name)
    left = [calls]

    def wrapped(*args, **kwargs):
        result = step(*args, **kwargs)
        left[0] -= 1
        if left[0] == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, name, wrapped)


if sys.argv[1]:
    point, _, calls = sys.argv[1].partition(":")
    crash_after(*STEPS[point], int(calls or 1))
summary = ingest_module.ingest([Path(p) for p in sys.argv[2:]], Settings.from_env())
print(summary)
"""


def ingest_in_subprocess(home: Path, paths: list[Path], crash_at: str | None = None):
    """Run an ingest in a fresh Python process; `crash_at` ("after_upsert:1", see STEPS in
    INGEST_SCRIPT) has it SIGKILL itself right after that step, a real kill -9 mid-ingest."""
    env = {**os.environ, "MOCKLOOP_HOME": str(home)}
    env.pop("MOCKLOOP_CHROMA_URL", None)
    return subprocess.run(
        [sys.executable, "-c", INGEST_SCRIPT, crash_at or "", *map(str, paths)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # a busy 2-core machine embeds slowly; a hang still ends
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on 127.0.0.1; yields its URL and stops it afterwards."""
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    path = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    log = open(path / "server.log", "wb")  # noqa: SIM115 (closed in the finaliser)
    proc = subprocess.Popen(
        [exe, "run", "--path", str(path / "data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"chroma server exited: {(path / 'server.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chroma server did not answer its heartbeat within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
