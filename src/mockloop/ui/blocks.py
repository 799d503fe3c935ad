"""The page: five tabs (Interview, Coding, Notes, Batch grading, Progress) wired to handlers
(UiApp in handlers.py; the Coding tab's in coding.py).

Every event has a stable `api_name`, so gradio_client can drive the same handlers the buttons
do: start_round, answer, hint, skip, end_round, ingest, sources, forget, search, batch_grade,
progress. Layout, styling and the timer script live here; behaviour lives in handlers.py.

The Model box takes any spec the page user types. When the page is served to the network (with
a login, or on a non-loopback address), `guard_models` lets such a spec name a base URL only on
loopback, unless the operator set MOCKLOOP_ALLOW_REMOTE_LLM=1; the key variable a spec may name
is restricted in llm.check_key_env everywhere. A refused spec runs the round offline and says why.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import gradio as gr

from mockloop.config import Settings
from mockloop.ui import render
from mockloop.ui.coding import coding_tab
from mockloop.ui.handlers import InterviewState, UiApp, close_state
from mockloop.ui.uploads import BATCH_TYPES, NOTE_TYPES, received_by

STATE_TTL_S = 6 * 3600  # a browser's round is dropped after this long without a visit

# The countdown ticks in the browser (no server round-trips): each .ml-timer element carries its
# budget; the first time the page sees a question's key it notes the time.
HEAD = """
<script>
(function () {
  const started = {};
  function fmt(s) { s = Math.max(0, Math.round(s)); return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); }
  setInterval(function () {
    document.querySelectorAll(".ml-timer[data-key]").forEach(function (el) {
      const key = el.dataset.key;
      if (!(key in started)) started[key] = Date.now();
      const budget = Number(el.dataset.budget);
      const left = budget - (Date.now() - started[key]) / 1000;
      const span = el.querySelector(".ml-timer-left");
      const label = el.querySelector(".ml-timer-label");
      if (!span) return;
      if (left >= 0) { span.textContent = fmt(left); label.textContent = "left of " + fmt(budget); }
      else { span.textContent = "+" + fmt(-left); label.textContent = "over the " + fmt(budget) + " budget"; }
      el.classList.toggle("ml-late", left < 0);
      el.classList.toggle("ml-soon", left >= 0 && left < 15);
    });
  }, 250);
})();
</script>
"""

CSS = """
.gradio-container { max-width: 1280px !important; margin: 0 auto; }
#ml-header { display: flex; align-items: baseline; gap: 0.8rem; flex-wrap: wrap; }
#ml-header h1 { margin: 0; font-size: 1.7rem; letter-spacing: -0.02em; }
#ml-header .ml-tagline { color: var(--body-text-color-subdued); }
#ml-status p { margin: 0; font-size: 0.9rem; color: var(--body-text-color-subdued); }
.ml-timer { display: inline-block; font-variant-numeric: tabular-nums; font-size: 1.05rem;
  padding: 0.3rem 0.8rem; border-radius: 999px; background: var(--color-accent-soft);
  border: 1px solid var(--border-color-accent); }
.ml-timer.ml-soon { background: #fff4d6; border-color: #e0b64b; }
.ml-timer.ml-late { background: #fde2e1; border-color: #d9534f; color: #8a1f1b; }
.ml-timer-label { font-size: 0.85rem; opacity: 0.8; }
.ml-card { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 1rem 1.1rem;
  background: var(--background-fill-primary); box-shadow: 0 1px 3px rgba(0,0,0,0.05); }
.ml-empty { color: var(--body-text-color-subdued); text-align: center; padding: 2.5rem 1rem; }
.ml-card-head { display: flex; gap: 0.9rem; align-items: center; margin-bottom: 0.5rem; }
.ml-score { font-size: 2.3rem; font-weight: 700; line-height: 1; font-variant-numeric: tabular-nums; }
.ml-score small { font-size: 1rem; font-weight: 400; opacity: 0.6; }
.ml-topic { font-weight: 600; margin-top: 0.25rem; }
.ml-topic::first-letter { text-transform: uppercase; }
.ml-prompt { color: var(--body-text-color-subdued); font-size: 0.9rem; margin-bottom: 0.4rem; }
.ml-signal { display: inline-block; padding: 0.1rem 0.6rem; border-radius: 999px; font-size: 0.8rem;
  font-weight: 600; text-transform: uppercase; letter-spacing: 0.03em; color: white; }
.ml-signal.sig-0 { background: #b42318; } .ml-signal.sig-1 { background: #d9622b; }
.ml-signal.sig-2 { background: #c99a06; } .ml-signal.sig-3 { background: #2e9d5b; }
.ml-signal.sig-4 { background: #1a7343; }
.ml-section h4 { margin: 0.8rem 0 0.3rem; font-size: 0.8rem; text-transform: uppercase;
  letter-spacing: 0.05em; color: var(--body-text-color-subdued); }
.ml-crit { margin: 0.45rem 0; }
.ml-crit-head { display: flex; justify-content: space-between; font-weight: 600; font-size: 0.92rem; }
.ml-bar { height: 6px; border-radius: 3px; background: var(--border-color-primary); overflow: hidden; margin: 0.2rem 0; }
.ml-bar > div { height: 100%; background: var(--color-accent); }
.ml-crit ul { margin: 0.2rem 0 0 0; padding-left: 0.2rem; list-style: none; font-size: 0.88rem; }
.ml-crit li { margin: 0.15rem 0; }
.ml-ok { color: #1f7a45; } .ml-miss { color: #a5361e; }
.ml-crit blockquote { margin: 0.1rem 0 0.2rem 1.1rem; padding-left: 0.5rem; border-left: 3px solid #9bd3b0;
  color: var(--body-text-color); font-style: italic; }
.ml-flag { color: #a5361e; font-weight: 600; margin: 0.2rem 0; }
.ml-notice { background: #fff4d6; border-radius: 6px; padding: 0.3rem 0.6rem; margin: 0.3rem 0; font-size: 0.88rem; }
.ml-feedback { margin: 0.4rem 0; font-size: 0.88rem; }
.ml-md p { margin: 0.2rem 0; } .ml-md ul, .ml-md ol { margin: 0.2rem 0 0.2rem 1.2rem; }
.ml-md h1, .ml-md h2, .ml-md h3, .ml-md h4 { font-size: 1em; margin: 0.3rem 0; }
.ml-md code { font-size: 0.92em; }
.ml-timing { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.ml-over { color: #a5361e; }
.ml-cite { margin: 0.25rem 0; font-size: 0.88rem; }
.ml-cite summary { cursor: pointer; color: var(--link-text-color); }
.ml-why { color: var(--body-text-color-subdued); font-size: 0.82rem; margin: 0.2rem 0 0 1.2rem; }
.ml-note-text { margin: 0.3rem 0 0.3rem 1.2rem; padding: 0.5rem; font-size: 0.82rem;
  background: var(--background-fill-secondary); border-radius: 6px; max-height: 14rem; overflow: auto; }
.ml-grader { margin-top: 0.6rem; font-size: 0.75rem; color: var(--body-text-color-subdued); }
.ml-muted { color: var(--body-text-color-subdued); }
.ml-table { width: 100%; border-collapse: collapse; font-size: 0.88rem; margin: 0.4rem 0; }
.ml-card .ml-table th, .ml-card .ml-table td { text-align: left; padding: 0.3rem 0.4rem; border: 0;
  border-bottom: 1px solid var(--border-color-primary); background: none; }
.ml-card .ml-table { border: 0; }
.ml-card .ml-table td:not(:nth-child(2)) { white-space: nowrap; }
.ml-card .ml-table th { font-size: 0.78rem; text-transform: uppercase; color: var(--body-text-color-subdued); }
.ml-more { margin-top: 0.5rem; } .ml-more summary { cursor: pointer; font-weight: 600; }
#ml-sources td, #ml-sources td * { overflow-wrap: anywhere; }
#ml-batch-table th, #ml-batch-table th * { white-space: nowrap; word-break: keep-all; }
.ml-hit { padding: 0.55rem 0.2rem; border-bottom: 1px solid var(--border-color-primary); font-size: 0.9rem; }
.ml-hit-cite { font-weight: 600; margin-bottom: 0.15rem; }
"""

ROUND_HELP = (
    "**Rounds:** breadth is rapid-fire with a timer; ML system design and project deep dive walk "
    "one problem stage by stage; behavioral checks STAR. Answers are graded against explicit "
    "rubrics, and the feedback points back to your own notes."
)
MODEL_HELP = (
    "`offline` needs no key or network. Or `provider:model` (e.g. openai:gpt-4o-mini, "
    "ollama:llama3.1) or an OpenAI-compatible URL (`key_env=` names a variable ending in `_KEY`); "
    "keys come from environment variables only."
)
BATCH_HELP = (
    "One answer per row. Columns: `question_id` (a bank question) **or** `question` with a "
    "`reference` answer or a `rubric`; plus `answer`, and optionally `id`, `round`, `topic`. "
    "Bad rows are skipped and listed; re-grading the same file reuses earlier grades."
)


def served_to_network(demo: gr.Blocks) -> bool:
    """Whether the launched app has a login or listens on a non-loopback address."""
    from mockloop.llm import is_loopback_host

    host = getattr(demo, "server_name", None)
    return bool(getattr(demo, "auth", None)) or (host is not None and not is_loopback_host(host))


def guard_models(
    ui: UiApp, exposed: Callable[[], bool], *, allow_remote: bool | None = None
) -> None:
    """Wrap `ui.provider_factory` so specs typed into a page served to the network are checked
    (llm.check_untrusted_spec) before any model is built; `exposed()` is asked on every round."""
    from mockloop.llm import ALLOW_REMOTE_ENV, check_untrusted_spec

    if getattr(ui.provider_factory, "guarded", False):
        return
    if allow_remote is None:
        allow_remote = os.environ.get(ALLOW_REMOTE_ENV, "").strip().lower() in ("1", "true", "yes")
    inner = ui.provider_factory

    def factory(spec, *args, **kwargs):
        if exposed():
            check_untrusted_spec(spec, configured=ui.settings.llm, allow_remote=allow_remote)
        return inner(spec, *args, **kwargs)

    factory.guarded = True
    ui.provider_factory = factory


def build_app(settings: Settings | None = None, ui: UiApp | None = None) -> gr.Blocks:
    """The whole app as a gradio Blocks (launch it with `mockloop.ui.launch`)."""
    ui = ui or UiApp(settings)
    with gr.Blocks(
        title="mockloop — mock interviews from your notes", analytics_enabled=False
    ) as demo:
        with gr.Row(elem_id="ml-header"):
            gr.HTML(
                "<h1>mockloop</h1><span class='ml-tagline'>mock ML interviews grounded in "
                "your own notes — private, works offline</span>"
            )
        status = gr.Markdown("", label="Status", elem_id="ml-status")  # filled on page load
        with gr.Tabs():
            with gr.Tab("Interview", id="interview"):
                _interview_tab(ui)
            with gr.Tab("Coding", id="coding"):
                coding_tab(ui, demo, STATE_TTL_S)
            with gr.Tab("Notes", id="notes"):
                notes = _notes_tab(ui, status)
            with gr.Tab("Batch grading", id="batch"):
                example = _batch_tab(ui)
            with gr.Tab("Progress", id="progress") as progress_tab:
                progress_outputs = _progress_tab(ui)
        progress_tab.select(ui.progress, None, progress_outputs, api_visibility="private")
        demo.load(
            ui.list_sources, None, [notes["table"], notes["choices"], status], api_name="sources"
        )
        demo.load(ui.example_batch, None, example, api_visibility="private")
    demo.queue(default_concurrency_limit=4)
    ui.exposed = lambda: served_to_network(demo)  # launch() sets the address and login later
    ui.received = received_by(demo)  # uploads only: never a server path named in a FileData
    guard_models(ui, ui.exposed)
    return demo


def _interview_tab(ui: UiApp) -> None:
    state = gr.State(None, time_to_live=STATE_TTL_S, delete_callback=close_state)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            with gr.Row():
                rnd = gr.Dropdown(ui.round_choices(), value="breadth", label="Round", scale=3)
                model = gr.Dropdown(
                    ui.model_choices(),
                    value=ui.model_choices()[-1],
                    allow_custom_value=True,
                    label="Model",
                    scale=2,
                )
            with gr.Row():
                n = gr.Slider(1, 10, value=5, step=1, label="Questions", scale=2, elem_id="ml-n")
                feedback = gr.Radio(
                    ["after each answer", "at the end"],
                    value="after each answer",
                    label="Feedback",
                    scale=3,
                )
            project = gr.Dropdown(
                [],
                value="",
                label="Project (a note from projects/, or type a summary)",
                allow_custom_value=True,
                visible=False,
            )
            with gr.Row():
                start = gr.Button("▶ Start round", variant="primary", scale=0, min_width=160)
                timer = gr.HTML("", label="Timer", elem_id="ml-timer-box")
            chat = gr.Chatbot(
                [],
                label="Interview",
                show_label=False,
                height="68vh",  # the column's height, not a small scrolled box in empty space
                min_height=420,
                elem_id="ml-chat",
                buttons=["copy"],
                feedback_options=None,
                placeholder="Pick a round and press **Start round**.\n\n" + ROUND_HELP,
            )
            answer = gr.Textbox(
                placeholder="Type your answer — Shift+Enter to send",
                lines=4,
                max_lines=14,
                show_label=False,
                label="Answer",
                elem_id="ml-answer",
            )
            with gr.Row(visible=False) as stage_row:
                stage = gr.Dropdown(
                    ui.design_stages(),
                    value=None,
                    allow_custom_value=True,
                    label="Take a later stage next (you may drive the order of a design review)",
                    scale=4,
                )
                go_stage = gr.Button("Go to stage", scale=1)
            with gr.Row():
                send = gr.Button("Send answer", variant="primary", interactive=False)
                hint = gr.Button("Hint", interactive=False)
                skip = gr.Button("Skip", interactive=False)
                end = gr.Button("■ End round", variant="stop", interactive=False)
            gr.Markdown(MODEL_HELP, elem_classes=["ml-muted"])
        with gr.Column(scale=2):
            card = gr.HTML(
                render.placeholder_card(
                    "Feedback on each answer appears here: score, "
                    "hire signal, evidence and notes to reread."
                ),
                label="Feedback card",
                elem_id="ml-card",
            )
            report = gr.DownloadButton(
                "Download session report", visible=False, elem_id="ml-report"
            )
    outputs = [chat, timer, card, answer, send, hint, skip, end, report, state]
    start.click(
        ui.start_round, [rnd, n, feedback, model, project, state], outputs, api_name="start_round"
    )
    gr.on([send.click, answer.submit], ui.answer, [answer, state], outputs, api_name="answer")
    hint.click(ui.hint, [state], outputs, api_name="hint")
    skip.click(ui.skip, [state], outputs, api_name="skip")
    end.click(ui.end, [state], outputs, api_name="end_round")
    go_stage.click(ui.goto, [stage, state], outputs, api_name="goto_stage")
    rnd.change(
        lambda r: (
            gr.update(visible=r == "deep-dive", choices=ui.projects() if r == "deep-dive" else []),
            gr.update(visible=r == "mlsd"),
            _count_update(r),
        ),
        rnd,
        [project, stage_row, n],
        api_visibility="private",
    )


def _count_update(round_name: str):
    """The Questions slider says what it counts in this round (stages, or nothing: fixed length)."""
    from mockloop.rounds import count_control

    label, applies = count_control(round_name)
    return gr.update(label=label, interactive=applies)


def _notes_tab(ui: UiApp, status) -> dict:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            gr.Markdown(
                "### Add notes\nMarkdown/Obsidian, text, PDF, CSV, or a Notion export .zip. "
                "Only new or changed files are embedded."
            )
            files = gr.File(
                file_count="multiple",
                file_types=list(NOTE_TYPES),
                label="Upload notes",
                elem_id="ml-note-files",
            )
            folder = gr.Textbox(label="…or a folder on this machine", placeholder="~/notes/vault")
            ingest = gr.Button("Ingest", variant="primary")
            result = gr.Markdown(label="Ingest summary", elem_id="ml-ingest-result")
        with gr.Column(scale=2):
            gr.Markdown("### Your sources")
            table = gr.Dataframe(
                headers=["source", "chunks"],
                label="Sources",
                show_label=False,
                datatype=["str", "number"],
                interactive=False,
                max_height=330,
                wrap=True,  # long source names wrap, so the chunks column stays in the box
                column_widths=["80%", "20%"],
                elem_id="ml-sources",
            )
            with gr.Row():
                choices = gr.Dropdown(
                    [], label="Source or folder prefix", allow_custom_value=True, scale=3
                )
                forget = gr.Button("Forget", variant="stop", scale=1)
            forgot = gr.Markdown(label="Forget result")
    gr.Markdown("### Search your notes")
    with gr.Row():
        query = gr.Textbox(
            placeholder="e.g. why does position bias matter for click labels?",
            show_label=False,
            scale=5,
            elem_id="ml-search",
        )
        k = gr.Slider(1, 20, value=5, step=1, label="hits", scale=1)
        go = gr.Button("Search", scale=1)
    hits = gr.HTML(label="Hits", elem_id="ml-hits")

    def run_ingest(files, folder, progress=gr.Progress()):
        return ui.ingest(files, folder, progress)

    ingest.click(
        run_ingest,
        [files, folder],
        [result, table, choices, status],
        api_name="ingest",
        concurrency_limit=1,
        concurrency_id="notes-write",
    )
    forget.click(
        ui.forget,
        [choices],
        [forgot, table, choices, status],
        api_name="forget",
        concurrency_limit=1,
        concurrency_id="notes-write",
    )
    gr.on([go.click, query.submit], ui.search, [query, k], hits, api_name="search")
    return {"table": table, "choices": choices}


def _batch_tab(ui: UiApp) -> gr.DownloadButton:
    gr.Markdown("### Grade a file of written answers\n" + BATCH_HELP)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2):
            file = gr.File(
                file_types=list(BATCH_TYPES),
                label="answers.csv or answers.jsonl",
                elem_id="ml-batch-file",
            )
            with gr.Row():
                rounds = [("all rounds", "")] + ui.round_choices()
                rnd = gr.Dropdown(rounds, value="", label="Only this round")
                cite = gr.Checkbox(True, label="Cite my notes for missed points")
            go = gr.Button("Grade", variant="primary")
            example = gr.DownloadButton("Example answers.csv", size="sm", variant="secondary")
        with gr.Column(scale=3):
            summary = gr.Markdown(label="Batch summary", elem_id="ml-batch-summary")
            with gr.Row():
                csv_btn = gr.DownloadButton("results.csv", visible=False, elem_id="ml-dl-csv")
                jsonl_btn = gr.DownloadButton("results.jsonl", visible=False, elem_id="ml-dl-jsonl")
                html_btn = gr.DownloadButton("report.html", visible=False, elem_id="ml-dl-html")
    table = gr.Dataframe(
        headers=render.BATCH_HEADERS,
        label="Results",
        interactive=False,
        wrap=True,
        elem_id="ml-batch-table",
    )

    def run(file, rnd, cite, progress=gr.Progress(track_tqdm=True)):
        return ui.batch_grade(file, rnd, cite, progress)

    go.click(
        run,
        [file, rnd, cite],
        [summary, table, csv_btn, jsonl_btn, html_btn],
        api_name="batch_grade",
        concurrency_limit=1,
        concurrency_id="batch",
    )
    return example


def _progress_tab(ui: UiApp) -> list:
    # Column headers arrive with the data (ui.progress): importing the report module here would
    # load matplotlib before the page can answer.
    with gr.Row():
        head = gr.Markdown(label="Totals", elem_id="ml-progress-head")
        refresh = gr.Button("↻ Refresh", scale=0, min_width=120)
    with gr.Row():
        rounds = gr.Dataframe(interactive=False, label="Rounds")
    topics = gr.Dataframe(interactive=False, label="Topics", max_height=360)
    trend = gr.Plot(label="Score over time", show_label=False)
    with gr.Row():
        heat = gr.Plot(label="Topic mastery", show_label=False)
        forecast = gr.Plot(label="Reviews due", show_label=False)
    sessions = gr.Dataframe(
        headers=render.SESSION_HEADERS,
        interactive=False,
        label="Session history",
    )
    outputs = [head, rounds, topics, trend, heat, forecast, sessions]
    refresh.click(ui.progress, None, outputs, api_name="progress")
    return outputs


__all__ = ["CSS", "HEAD", "InterviewState", "build_app"]
