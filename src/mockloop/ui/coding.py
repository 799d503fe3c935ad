"""The Coding tab: a problem, a Python editor, Run tests / Submit, a results panel, and a chat
for clarifying questions, the follow-ups and the feedback. Handlers call mockloop.rounds
(the coding round) and mockloop.coding; the HTML for a run report is a pure function.

Safety: code typed here runs on the server as the server's user. When the page is served to the
network (a login, or a non-loopback address) running code is off unless the operator sets
MOCKLOOP_ALLOW_CODE_EXEC=1; the page says so, and the runner's gate refuses every run (also from
the Interview tab and the API), so the check cannot be skipped by calling an endpoint directly.

Endpoints (api_name): coding_start(problem_id, state), coding_run(code, state),
coding_submit(code, state), coding_say(text, state), coding_hint(state). Each returns
(problem markdown, code, results HTML, chat, text box, feedback card HTML).
"""

from __future__ import annotations

import html
import os
import weakref
from dataclasses import dataclass, field

import gradio as gr

from mockloop.coding import RunReport, load_problem_bank
from mockloop.coding.runner import add_gate
from mockloop.ui import render

ALLOW_EXEC_ENV = "MOCKLOOP_ALLOW_CODE_EXEC"
BLOCKED = (
    "Running code is off: this app is served to the network (it has a login or listens on a "
    "non-loopback address), and code typed here would run on the server as its user. The "
    f"operator can turn it on with {ALLOW_EXEC_ENV}=1 (see the README's coding round section)."
)
RANDOM = "random"


def exec_blocked(exposed: bool, env: dict | None = None) -> str | None:
    """Why running code is off here (served to others, not allowed), or None when it may run."""
    env = os.environ if env is None else env
    if not exposed:
        return None
    if env.get(ALLOW_EXEC_ENV, "").strip().lower() in ("1", "true", "yes"):
        return None
    return BLOCKED


def report_html(report: RunReport) -> str:
    """A run report as the results panel: N/M passed, then one row per test."""
    ok = report.all_passed
    head = f"{report.passed}/{report.total} {'visible ' if report.which == 'visible' else ''}tests passed"
    parts = [
        f"<div class='ml-card ml-code-report'><div class='ml-topic'>{'✓' if ok else '✗'} {head}</div>"
    ]
    if report.error:
        parts.append(f"<div class='ml-notice'>{html.escape(report.error)}</div>")
    rows = []
    for r in report.results:
        mark = "✓" if r.passed else "✗"
        detail = ""
        if r.status == "failed":
            detail = f"expected {r.expected}, got {r.got}"
        elif not r.passed:
            detail = r.message or r.status
        elif r.large and r.seconds is not None:
            detail = f"{r.seconds:.3f}s"
        cls = "ml-ok" if r.passed else "ml-miss"
        rows.append(
            f"<tr><td class='{cls}'>{mark}</td><td>{html.escape(r.name)}</td>"
            f"<td><code>{html.escape(r.input)}</code></td><td>{html.escape(detail)}</td></tr>"
        )
    parts.append(
        "<table class='ml-table'><tr><th></th><th>test</th><th>input</th><th>result</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    if report.stdout.strip():
        parts.append(
            f"<details><summary>output</summary><pre>{html.escape(report.stdout)}</pre></details>"
        )
    if report.network and report.network != "isolated":
        parts.append(f"<div class='ml-muted'>{html.escape(report.network)}</div>")
    return "".join(parts) + "</div>"


@dataclass
class CodingState:
    """One browser's coding round: the session, the chat as shown, the last results and card."""

    session: object | None = None  # rounds.coding.CodingRound
    chat: list[dict] = field(default_factory=list)
    results: str = ""
    card: str = ""
    statement: str = ""


class CodingUi:
    """The Coding tab's handlers; `exposed()` says whether the page is served to others."""

    def __init__(self, ui):
        self.ui = ui

    def blocked(self) -> str | None:
        return exec_blocked(self.ui.exposed())

    def problem_choices(self) -> list[tuple[str, str]]:
        items = [(f"{p.title} ({p.kind}, {p.topic})", p.id) for p in load_problem_bank()]
        return [("A random problem", RANDOM)] + items

    def notice(self) -> str:
        why = self.blocked()
        return f"⚠ {why}" if why else ""

    def _out(self, st: CodingState, code=None, say: str = ""):
        code = gr.update() if code is None else code
        return st.statement, code, st.results, st.chat, say, st.card, st

    def start(self, problem_id, state):
        from mockloop.rounds import start_round

        st = CodingState()
        if isinstance(state, CodingState) and state.session is not None:
            state.session.ctx.log.conn.close()
        try:
            st.session = start_round(
                "coding",
                self.ui.settings,
                n=1,
                question_id=None if problem_id in (None, "", RANDOM) else problem_id,
                retriever=self.ui.retriever() or False,
            )
        except ValueError as exc:
            st.chat = [render.notice_message(str(exc))]
            return self._out(st, code="")
        steps = st.session.begin()
        for step in steps:
            st.chat += render.step_messages(step)
        problem = st.session.problem
        st.statement = f"### {problem.title}\n\n{render.escape_md(problem.prompt.strip())}\n\n`{problem.signature}`"
        examples = "\n".join(
            f"- `{ex.call}` → `{ex.check or repr(ex.expect)}`" for ex in problem.examples
        )
        st.statement += f"\n\n**Examples**\n{examples}"
        why = self.blocked()
        st.results = render.placeholder_card(why or "Run tests to try the visible examples.")
        return self._out(st, code=problem.starter)

    def run(self, code, state):
        st = self._require(state)
        if st is None:
            return self._out(CodingState(results=render.placeholder_card("Start a problem first.")))
        if not st.session.in_code_phase:
            st.results = render.placeholder_card("The code is submitted; answer the follow-ups.")
            return self._out(st)
        st.results = report_html(st.session.run_visible(code or ""))
        return self._out(st, code=code)

    def submit(self, code, state):
        st = self._require(state)
        if st is None:
            return self._out(CodingState(results=render.placeholder_card("Start a problem first.")))
        why = self.blocked()
        if why:  # nothing runs and nothing is graded while code execution is off
            st.results = render.placeholder_card(why)
            return self._out(st, code=code)
        if not st.session.in_code_phase:
            st.results = render.placeholder_card("Already submitted; answer the follow-ups.")
            return self._out(st, code=code)
        st.chat.append({"role": "user", "content": "_(submitted the code)_"})
        for step in st.session.submit(code or ""):
            st.chat += render.step_messages(step)
        report = st.session.report()
        if report is not None:
            st.results = report_html(report)
        return self._out(st, code=code)

    def say(self, text, state):
        """A clarifying question while coding; an answer to the follow-up after submitting."""
        st = self._require(state)
        text = (text or "").strip()
        if st is None or not text:
            return self._out(st or CodingState(), say=text)
        st.chat.append(render.user_message(text))
        if st.session.in_code_phase:
            reply = st.session.clarify(text)
            st.chat.append({"role": "assistant", "content": render.escape_md(reply.text)})
            return self._out(st)
        for step in st.session.answer(text):
            st.chat += render.step_messages(step)
            if step.kind == "feedback":
                st.card = render.feedback_card_html(step)
        return self._out(st)

    def hint(self, state):
        st = self._require(state)
        if st is None:
            return self._out(CodingState())
        st.chat.append(render.hint_message(st.session.hint().text))
        return self._out(st)

    @staticmethod
    def _require(state) -> CodingState | None:
        if not isinstance(state, CodingState) or state.session is None:
            return None
        if state.session.finished or state.session.current is None:
            return None
        return state


def close_coding_state(state) -> None:
    if isinstance(state, CodingState) and state.session is not None:
        state.session.ctx.log.conn.close()


def install_gate(demo: gr.Blocks, exposed) -> None:
    """Refuse every code run while this app is running and served to others (not allowed)."""
    ref = weakref.ref(demo)

    def gate() -> str | None:
        d = ref()
        if d is None or not getattr(d, "is_running", False):
            return None
        return exec_blocked(exposed())

    add_gate(gate)


def coding_tab(ui, demo: gr.Blocks, state_ttl_s: int) -> None:
    """Lay out the Coding tab and wire it (called inside `with gr.Tab("Coding")`)."""
    cui = CodingUi(ui)
    install_gate(demo, lambda: ui.exposed())
    state = gr.State(None, time_to_live=state_ttl_s, delete_callback=close_coding_state)
    notice = gr.Markdown("", elem_id="ml-code-notice")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            with gr.Row():
                problem = gr.Dropdown(
                    cui.problem_choices(),
                    value=RANDOM,
                    label="Problem",
                    scale=4,
                    elem_id="ml-code-pick",
                )
                start = gr.Button("▶ Start problem", variant="primary", scale=1, min_width=160)
            statement = gr.Markdown(
                "Pick a problem and press **Start problem**.", elem_id="ml-code-problem"
            )
            code = gr.Code(
                "",
                language="python",
                interactive=True,
                label="Your code",
                lines=14,
                elem_id="ml-code",
            )
            with gr.Row():
                run = gr.Button("Run tests", elem_id="ml-code-run")
                submit = gr.Button("Submit", variant="primary", elem_id="ml-code-submit")
                hint = gr.Button("Hint", elem_id="ml-code-hint")
            results = gr.HTML(
                render.placeholder_card("Test results appear here."),
                label="Results",
                elem_id="ml-code-results",
            )
        with gr.Column(scale=2):
            chat = gr.Chatbot([], label="Interviewer", height=420, elem_id="ml-code-chat")
            say = gr.Textbox(
                placeholder="Ask a clarifying question while coding; answer the follow-ups after submitting",
                lines=3,
                show_label=False,
                label="Say",
                elem_id="ml-code-say",
            )
            send = gr.Button("Send", elem_id="ml-code-send")
            card = gr.HTML("", label="Feedback card", elem_id="ml-code-card")
    outputs = [statement, code, results, chat, say, card, state]
    start.click(cui.start, [problem, state], outputs, api_name="coding_start")
    run.click(cui.run, [code, state], outputs, api_name="coding_run")
    submit.click(cui.submit, [code, state], outputs, api_name="coding_submit")
    gr.on([send.click, say.submit], cui.say, [say, state], outputs, api_name="coding_say")
    hint.click(cui.hint, [state], outputs, api_name="coding_hint")
    demo.load(cui.notice, None, notice, api_name="coding_notice")
