"""Start-up of the web app: from `python app.py` to the page answering, and to the first question.

Two starts are measured, each a fresh `python app.py` process on a free 127.0.0.1 port:
- first run: an empty MOCKLOOP_HOME, so the sample corpus/ is ingested before the app serves;
- later runs: the same home again (the store is filled; nothing to ingest), median of --runs.
"First question" is the time until the first question of a breadth round is on screen in
headless Chromium (Start round clicked as soon as the page answers), or returned through
gradio_client when /usr/bin/chromium is absent.

Machine-independent figures are ratios to raw building blocks timed in the same run, each in a
fresh interpreter: `import gradio`, loading the bundled encoder, and ingesting corpus/ through
the library (no app).

    python benchmarks/bench_app.py [--runs 3] [--skip-first-run] [--api]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]  # fmt: skip
ENV = {"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python_seconds(code: str, home: Path | None = None) -> float:
    """Wall time of `python -c code` in a fresh interpreter."""
    env = {**os.environ, **ENV, **({"MOCKLOOP_HOME": str(home)} if home else {})}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - start


def wait_page(url: str, proc: subprocess.Popen, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in {timeout:.0f}s")


def first_question_browser(url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(300_000)
        page.goto(url)
        page.get_by_role("button", name="Start round").click()
        page.get_by_text("Question 1 of").wait_for()
        browser.close()


def first_question_api(url: str) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False, analytics_enabled=False)
    chat = client.predict(
        "breadth", 5, "after each answer", "offline", "", api_name="/start_round"
    )[0]
    text = json.dumps(chat[-1])
    if "Question 1 of" not in text:
        raise RuntimeError(f"no first question: {text[:200]}")


def start_once(home: Path, browser: bool) -> dict:
    """One `python app.py`: seconds until the page answers and until the first question shows."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, **ENV, "MOCKLOOP_HOME": str(home)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_page(url, proc)
        page = time.perf_counter() - t0
        (first_question_browser if browser else first_question_api)(url)
        question = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return {"page_s": page, "first_question_s": question}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="later (warm) starts to take the median of")
    ap.add_argument("--skip-first-run", action="store_true", help="skip the empty-home start")
    ap.add_argument(
        "--api", action="store_true", help="first question via gradio_client, not Chromium"
    )
    args = ap.parse_args()
    browser = not args.api and CHROMIUM.exists()

    with tempfile.TemporaryDirectory(prefix="mockloop-bench-app-") as tmp:
        tmp = Path(tmp)
        blocks = {
            "python_startup_s": python_seconds("pass"),
            "import_gradio_s": python_seconds("import gradio"),
            "load_encoder_s": python_seconds(
                "from mockloop.embeddings import get_encoder; get_encoder()"),
            "ingest_corpus_s": python_seconds(
                "from mockloop.notes.ingest import ingest; ingest(['corpus'])", home=tmp / "raw"),
        }  # fmt: skip
        home = tmp / "home"
        first = None if args.skip_first_run else start_once(home, browser)
        if first is None:  # later starts need a filled store
            python_seconds(
                "from mockloop.notes.ingest import ingest; ingest(['corpus'])", home=home
            )
        warm = [start_once(home, browser) for _ in range(args.runs)]

    page = statistics.median(r["page_s"] for r in warm)
    question = statistics.median(r["first_question_s"] for r in warm)
    floor = blocks["import_gradio_s"] + blocks["load_encoder_s"]
    how = "Chromium" if browser else "gradio_client"
    print("building blocks (fresh interpreter each): " + ", ".join(
        f"{k.removesuffix('_s')} {v:.2f}s" for k, v in blocks.items()))  # fmt: skip
    if first:
        print(f"first run (empty home, ingests corpus/): page {first['page_s']:.1f}s, "
              f"first question ({how}) {first['first_question_s']:.1f}s")  # fmt: skip
        print(f"  page ÷ (import gradio + load encoder + ingest corpus) = "
              f"{first['page_s'] / (floor + blocks['ingest_corpus_s']):.2f}")  # fmt: skip
    print(f"later runs (median of {len(warm)}): page {page:.1f}s, first question ({how}) "
          f"{question:.1f}s")  # fmt: skip
    print(f"  page ÷ import gradio = {page / blocks['import_gradio_s']:.2f}")
    print(f"  first question ÷ (import gradio + load encoder) = {question / floor:.2f}")
    out = REPO / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    record = {"blocks": blocks, "first_run": first, "later_runs": warm, "first_question_via": how}
    (out / "bench_app.json").write_text(json.dumps(record, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
