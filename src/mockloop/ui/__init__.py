"""The Gradio app: `build_app(settings)` makes the page, `launch(...)` serves it.

blocks.py lays out the four tabs (Interview, Notes, Batch grading, Progress); handlers.py holds
what each button does, calling only the library; render.py turns grades, round steps, ingest
and batch summaries into chat messages and HTML (pure, unit-tested); uploads.py checks and
renames uploaded files.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry, no version check

from mockloop.ui import guard  # noqa: E402
from mockloop.ui.blocks import CSS, HEAD, build_app  # noqa: E402
from mockloop.ui.handlers import InterviewState, UiApp  # noqa: E402


def theme():
    import gradio as gr

    return gr.themes.Soft(primary_hue="indigo", secondary_hue="sky", neutral_hue="slate").set(
        button_primary_background_fill="*primary_600",
        button_primary_background_fill_hover="*primary_700",
        button_primary_text_color="white",
    )


def launch(
    demo,
    *,
    host: str = "127.0.0.1",
    port: int | None = 7860,
    auth: tuple[str, str] | None = None,
    max_file_mb: float = 20.0,
    block: bool = True,
    quiet: bool = True,
):
    """Serve the app (blocking unless block=False); uploads above max_file_mb are refused."""
    return demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        auth_message="mockloop: sign in with the user and password given to `mockloop serve --auth`.",
        max_file_size=f"{max_file_mb:g}mb",
        prevent_thread_lock=not block,
        quiet=quiet,
        show_error=False,
        footer_links=["settings"],
        theme=theme(),
        css=CSS,
        head=HEAD,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        app_kwargs={"middleware": guard.middleware()},  # login on cancel/reset; password back-off
    )


__all__ = ["CSS", "HEAD", "InterviewState", "UiApp", "build_app", "launch"]
