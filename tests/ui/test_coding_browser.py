"""The Coding tab in a real headless Chromium: pick a problem, type code into the editor, run the
visible tests and submit, and see the results panel fill in."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from .conftest import CHROMIUM
from .test_browser import ARTIFACTS, CHROMIUM_ARGS, TIMEOUT_MS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.server,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("MOCKLOOP_REQUIRE_BROWSER"),
        reason="Debian chromium is not installed at /usr/bin/chromium",
    ),
]

BODY = """    out = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out
"""


def test_type_code_into_the_editor_run_and_submit(app_server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        page.goto(app_server.url)
        page.get_by_role("tab", name="Coding").click()
        pick = page.locator("#ml-code-pick input")
        pick.click()
        pick.fill("Merge overlapping")
        page.get_by_role("option", name="Merge overlapping intervals").click()
        page.get_by_role("button", name="Start problem").click()
        expect(page.locator("#ml-code-problem")).to_contain_text("Merge overlapping intervals")

        editor = page.locator("#ml-code .cm-content")
        expect(editor).to_contain_text("def merge(")
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.type("def merge(intervals):")  # typed key by key, as a person would
        expect(editor).to_contain_text("def merge(intervals):")
        page.keyboard.press(
            "Control+A"
        )  # the editor auto-indents typed lines: set the body verbatim
        page.keyboard.insert_text("def merge(intervals):\n" + BODY)
        expect(editor).to_contain_text("sorted(intervals)")

        page.get_by_role("button", name="Run tests").click()
        results = page.locator("#ml-code-results")
        expect(results).to_contain_text("2/2 visible tests passed")
        page.get_by_role("button", name="Submit", exact=True).click()
        expect(results).to_contain_text("9/9 tests passed")
        expect(page.locator("#ml-code-chat")).to_contain_text("time and space complexity")
        page.screenshot(path=str(ARTIFACTS / "coding-submitted.png"), full_page=True)
        browser.close()
