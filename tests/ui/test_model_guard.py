"""The Model box on a page served to the network: which specs a page user may make the server use.

blocks.guard_models checks every spec typed into the page before a model is built; a refused spec
runs the round offline with a notice that says why (handlers.start_round shows LLMError text).
"""

from __future__ import annotations

import pytest

from mockloop.config import Settings
from mockloop.llm import get_provider
from mockloop.ui import UiApp, build_app

CHAT, STATE = 0, -1
REMOTE = "https://203.0.113.9/v1?model=m&key_env=OPENAI_API_KEY"
LOCAL = "http://127.0.0.1:9/v1?model=m"


@pytest.fixture
def page(tmp_path, monkeypatch):
    """(start(spec) -> chat messages, specs the provider factory was asked for)."""
    monkeypatch.delenv("MOCKLOOP_ALLOW_REMOTE_LLM", raising=False)
    built: list[str] = []

    def factory(spec):
        built.append(spec)
        return get_provider("offline")  # what a spec would build is not under test here

    def make(host: str | None, auth=None, factory=factory):
        ui = UiApp(Settings(home=tmp_path / "home"), provider_factory=factory)
        demo = build_app(ui.settings, ui)
        demo.server_name, demo.auth = host, auth  # what launch() records

        def start(spec: str) -> list[dict]:
            *_, last = ui.start_round("breadth", 1, "after each answer", spec, "", None)
            last[STATE].close()
            return last[CHAT]

        return start

    return make, built


def test_behind_a_login_a_remote_model_url_is_refused_and_the_round_runs_offline(page):
    make, built = page
    chat = make("127.0.0.1", auth=[("bob", "pw")])(REMOTE)
    assert "served to the network" in chat[0]["content"]
    assert "MOCKLOOP\\_ALLOW\\_REMOTE\\_LLM=1" in chat[0]["content"]
    assert built == ["offline"]  # the remote spec never reached the factory
    assert chat[-1]["content"].startswith("**Question 1 of 1**")


def test_off_loopback_a_model_on_this_machine_is_still_allowed(page):
    make, built = page
    start = make("0.0.0.0", auth=[("bob", "pw")])
    start(LOCAL)
    start("openai:gpt-4o-mini")
    assert built == [LOCAL, "openai:gpt-4o-mini"]


def test_on_loopback_without_a_login_the_page_user_is_the_operator(page):
    make, built = page
    make("127.0.0.1")(REMOTE)
    assert built == [REMOTE]


def test_the_operator_can_allow_remote_urls_explicitly(page, monkeypatch):
    monkeypatch.setenv("MOCKLOOP_ALLOW_REMOTE_LLM", "1")
    make, built = page
    make("0.0.0.0", auth=[("bob", "pw")])(REMOTE)
    assert built == [REMOTE]


def test_a_spec_cannot_send_the_login_as_a_bearer_token(page, monkeypatch):
    monkeypatch.setenv("MOCKLOOP_AUTH", "bob:hunter2-login")
    make, _ = page
    chat = make("127.0.0.1", factory=get_provider)(f"{LOCAL}&key_env=MOCKLOOP_AUTH")
    assert "is not allowed" in chat[0]["content"] and "\\_KEY" in chat[0]["content"]
    assert all("hunter2" not in m["content"] for m in chat)


@pytest.mark.parametrize("host, auth", [("0.0.0.0", None), ("127.0.0.1", [("u", "p")])])
def test_a_page_served_to_others_does_not_read_the_servers_folders(
    tmp_path, monkeypatch, host, auth
):
    monkeypatch.delenv("MOCKLOOP_ALLOW_SERVER_FOLDERS", raising=False)
    secret = tmp_path / "private"
    secret.mkdir()
    (secret / "keys.md").write_text("# keys\nsomething private", encoding="utf-8")
    ui = UiApp(Settings(home=tmp_path / "home"))
    demo = build_app(ui.settings, ui)
    demo.server_name, demo.auth = host, auth
    message = ui.ingest(None, str(secret))[0]
    assert "served to the network" in message and "upload the files" in message
    assert "keys.md" not in str(ui._sources_outputs())


def test_on_loopback_without_a_login_the_folder_box_reads_this_machine(tmp_path):
    ui = UiApp(Settings(home=tmp_path / "home"))
    demo = build_app(ui.settings, ui)
    demo.server_name, demo.auth = "127.0.0.1", None
    message = ui.ingest(None, str(tmp_path / "missing"))[0]
    assert "folder not found on this machine" in message  # looked at, not refused
