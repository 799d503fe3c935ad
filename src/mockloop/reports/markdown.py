"""Markdown from notes, answers and grades as safe HTML, for the page and the HTML reports.

Notes are written in Markdown (`**bold**`, backticks, `_10s_`), and grades quote them; shown as
text, the marks read as noise. `md_html` renders CommonMark with raw HTML turned off, so a
`<script>` or `<img onerror=…>` in a note or an answer comes out as visible characters, and
markdown-it's link check drops `javascript:`/`vbscript:`/`data:` links:

    md_html("**bold** and <b>not</b>")  -> '<p><strong>bold</strong> and &lt;b&gt;not&lt;/b&gt;</p>\n'
    md_inline("`k` _10s_")              -> '<code>k</code> <em>10s</em>'

Leaves out: the chat box, which renders (and sanitises) Markdown itself (ui/render.py).
"""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt


@cache
def _parser() -> MarkdownIt:
    # breaks: a line break stays one (feedback and notes put one point per line); no images, so
    # a note cannot make the page fetch from elsewhere
    return MarkdownIt("commonmark", {"html": False, "breaks": True}).disable("image")


def md_html(text: str) -> str:
    """Block Markdown (paragraphs, lists, code) as HTML; every raw HTML tag escaped."""
    return _parser().render(str(text or ""))


def md_inline(text: str) -> str:
    """One line's Markdown (emphasis, code, links) as HTML without a wrapping paragraph."""
    return _parser().renderInline(str(text or ""))
