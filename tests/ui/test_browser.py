"""End to end in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

A user opens the page, runs a two-question breadth round and sees the feedback card, uploads a
note and finds it by search, grades a small batch and downloads the report. Screenshots go to
artifacts/ui/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import csv
import os
import re

import pytest
from playwright.sync_api import expect

from mockloop.bank import load_bank

from .conftest import CHROMIUM, REPO

ARTIFACTS = REPO / "artifacts" / "ui"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update",
]  # fmt: skip
TIMEOUT_MS = 90_000  # the machine may be busy; a step that works finishes far sooner

pytestmark = [
    pytest.mark.browser,
    pytest.mark.server,
    pytest.mark.skipif(  # scripts/test.sh (and so CI) sets MOCKLOOP_REQUIRE_BROWSER: fail there
        not CHROMIUM.exists() and not os.environ.get("MOCKLOOP_REQUIRE_BROWSER"),
        reason="Debian chromium is not installed at /usr/bin/chromium "
        "(apt-get install -y chromium chromium-driver; scripts/setup.sh --test does it)",
    ),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    page.goto(app_server.url)
    page.wait_for_selector("#ml-chat")
    yield page
    context.close()


# How many lines each header cell's label takes (a label wrapped inside its cell takes two).
HEADER_LINES = """(root) => {
  const out = {};
  for (const th of document.querySelectorAll(root + ' thead th')) {
    const walk = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
      const text = walk.currentNode.textContent.trim();
      if (!text) continue;
      const range = document.createRange();
      range.selectNodeContents(walk.currentNode);
      const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      out[text] = Math.max(out[text] || 0, tops.size);
    }
  }
  return out;
}"""


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.slow  # a full round or batch in the browser: minutes on a busy machine
def test_two_question_breadth_round_with_feedback_card(page, tmp_path):
    shot(page, "01-interview-start")
    number = page.locator("#ml-n input[type=number]")
    number.fill("2")
    number.press("Enter")
    page.get_by_role("button", name="Start round").click()
    page.get_by_text("Question 1 of 2").wait_for()

    timer = page.locator(".ml-timer .ml-timer-left")
    timer.wait_for()
    first = timer.inner_text()
    page.wait_for_timeout(2200)
    assert timer.inner_text() != first, "the rapid-fire countdown should tick"

    page.locator("#ml-answer textarea").fill(
        "Cross-entropy is the negative log-likelihood of the labels. With a sigmoid its "
        "gradient is p minus y, so a confidently wrong prediction still gets a large update."
    )
    page.get_by_role("button", name="Send answer").click()
    chat = page.locator("#ml-chat")
    next_turn = chat.get_by_text("Question 2 of 2").or_(chat.get_by_text("Follow-up", exact=True))
    next_turn.first.wait_for()
    if chat.get_by_text("Question 2 of 2").count() == 0:  # breadth asks one short follow-up
        page.locator("#ml-answer textarea").fill("It penalises confident mistakes heavily.")
        page.get_by_role("button", name="Send answer").click()
        page.get_by_text("Question 2 of 2").wait_for()
    card = page.locator("#ml-card .ml-card")
    card.locator(".ml-score").wait_for()
    assert re.fullmatch(r"\d\.\d/5", card.locator(".ml-score").inner_text().replace("\n", ""))
    assert card.locator(".ml-signal").inner_text().strip().lower() in {
        "strong no hire", "no hire", "lean hire", "hire", "strong hire",
    }  # fmt: skip
    assert card.locator(".ml-crit").count() >= 1
    assert "per criterion" in card.inner_text().lower()
    assert page.locator("#ml-chat").get_by_text(re.compile(r"^Feedback · .*/5 · ")).count() == 1
    shot(page, "02-interview-feedback")

    box = page.locator("#ml-answer textarea")
    box.fill("Early stopping halts training when the validation loss stops improving.")
    box.press("Shift+Enter")  # the shortcut the placeholder promises
    page.get_by_text("Round over").wait_for()
    summary = page.locator("#ml-card .ml-summary")
    summary.wait_for()
    assert summary.locator("tbody tr").count() == 2
    shot(page, "03-interview-summary")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download session report").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert "<html" in html.lower() and "Early stopping halts training" in html


def test_upload_a_note_and_find_it_by_search(page, tmp_path):
    note = tmp_path / "pangolin-attention.md"
    note.write_text(
        "# Pangolin attention\n\nPangolin attention rolls the key matrix into scales so that "
        "long documents fit in memory; an invented technique for this test.\n",
        encoding="utf-8",
    )
    page.get_by_role("tab", name="Notes").click()
    page.locator("#ml-note-files input[type=file]").set_input_files(str(note))
    page.get_by_role("button", name="Ingest", exact=True).click()
    result = page.locator("#ml-ingest-result")
    result.get_by_text("1 added").wait_for()
    expect(page.locator("#ml-sources")).to_contain_text("pangolin-attention.md")

    search = page.locator("#ml-search textarea, #ml-search input").first
    search.fill("pangolin attention long documents memory")
    search.press("Enter")
    first_hit = page.locator("#ml-hits .ml-hit").first
    first_hit.wait_for()
    assert "pangolin-attention.md § Pangolin attention" in first_hit.inner_text()
    shot(page, "04-notes-search")


@pytest.mark.slow  # a full round or batch in the browser: minutes on a busy machine
def test_small_batch_and_download_the_report(page, tmp_path):
    qs = load_bank().for_round("breadth")[:2]
    answers = tmp_path / "bootcamp-answers.csv"
    with answers.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "question_id", "answer"])
        w.writerow(["ana", qs[0].id, qs[0].reference_answer])
        w.writerow(["ben", qs[1].id, "not sure"])
        w.writerow(["cid", "", "a row with no question"])
    page.get_by_role("tab", name="Batch grading").click()
    page.locator("#ml-batch-file input[type=file]").set_input_files(str(answers))
    page.get_by_role("button", name="Grade", exact=True).click()
    summary = page.locator("#ml-batch-summary")
    summary.get_by_text("2 graded, 1 skipped").wait_for()
    assert "needs a question_id" in summary.inner_text()
    table = page.locator("#ml-batch-table")
    expect(table).to_contain_text("ana")
    expect(table).to_contain_text("ben")
    expect(table).to_contain_text(" ".join(qs[0].prompt.split())[:40])  # its text, not its id
    lines = page.evaluate(HEADER_LINES, "#ml-batch-table")
    shown = {label: n for label, n in lines.items() if n}  # a hidden menu glyph has no lines
    assert shown["row"] == shown["overall"] == 1, lines  # no "ro w", "overa ll"
    assert all(n == 1 for n in shown.values()), lines
    shot(page, "05-batch")

    with page.expect_download() as download:
        page.get_by_role("button", name="report.html").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert "<html" in html.lower() and qs[0].id in html


def test_progress_tab_shows_tables_and_plots(page):
    page.get_by_role("tab", name="Progress").click()
    page.get_by_text("Session history").first.wait_for()
    head = page.locator("#ml-progress-head")
    expect(head).to_contain_text(re.compile(r"\d+ graded answers?|No graded answers yet"))
    # The three plots (score trend, topic mastery, reviews due) arrive as drawn images.
    plots = page.locator("[data-testid='matplotlib'] img")
    expect(plots).to_have_count(3)
    for i in range(3):
        expect(plots.nth(i)).to_have_attribute("src", re.compile(r"^data:image/"))
    history = page.locator("table").filter(has_text="started (UTC)")
    expect(history.first).to_be_visible()
    page.wait_for_timeout(1500)  # let the plots paint before the screenshot
    shot(page, "06-progress")


def test_chat_fills_the_column_and_the_sources_table_fits_its_box(page):
    chat = page.locator("#ml-chat").bounding_box()
    assert chat["height"] >= 0.6 * 1000, "the chat should use the page's height, not 470 px"

    page.get_by_role("tab", name="Notes").click()
    # the corpus is listed: a rendered cell naming a note (Gradio also keeps hidden copies, and
    # draws its cells as div.cell-wrap inside or beside the table's own td)
    visible = """[...document.querySelectorAll('#ml-sources .cell-wrap, #ml-sources th')]
        .filter(c => c.getBoundingClientRect().width > 0)"""
    page.wait_for_function(
        f"() => {visible}.some(c => c.textContent.includes('.md'))", timeout=120_000
    )
    edges = page.evaluate(
        f"""() => {{
          const box = document.querySelector('#ml-sources').getBoundingClientRect();
          const cells = {visible};
          const chunks = cells.find(c => c.tagName === 'TH' && c.textContent.includes('chunks'));
          return {{box: box.right, chunks: chunks.getBoundingClientRect().right,
                  widest: Math.max(...cells.map(c => c.getBoundingClientRect().right))}};
        }}"""
    )
    shot(page, "07-notes-sources")
    assert edges["chunks"] <= edges["box"] + 1, edges  # the chunks column is in view
    assert edges["widest"] <= edges["box"] + 1, edges  # no cell runs past the box
