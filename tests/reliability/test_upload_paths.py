"""Issue 15.1: a logged-in page user cannot make the server read files it was never sent.

The attack: gradio_client normally uploads a local file and sends the server the path the
upload returned. A hostile client skips the upload and names a server path in the FileData.
Gradio itself refuses paths outside its upload folder, but that folder also holds files the app
handed out for download and other apps' uploads; only files Gradio's upload route received may
be read.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from gradio.utils import get_upload_folder
from gradio_client import handle_file
from gradio_client.client import Endpoint

from .conftest import logged_in_client

pytestmark = [pytest.mark.reliability, pytest.mark.server]


def file_data(path: Path) -> dict:
    """A FileData naming a server path, as a hostile client would send it."""
    return {"path": str(path), "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


@pytest.fixture
def planted():
    """Files sitting in Gradio's upload folder that no one uploaded to this app."""
    folder = Path(get_upload_folder()) / f"mockloop-test-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    note = folder / "planted-secret.md"
    note.write_text("# Planted\n\nThe capybara vault combination is 4417.\n", encoding="utf-8")
    answers = folder / "planted-answers.csv"
    answers.write_text("id,question,reference,answer\nr1,What is 2+2?,4,4\n", encoding="utf-8")
    yield note, answers
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def no_client_upload(monkeypatch):
    """Make gradio_client send FileData paths as given instead of uploading the file first."""
    monkeypatch.setattr(Endpoint, "_upload_file", lambda self, f, data_index: f)


def test_a_real_upload_is_ingested_but_a_named_server_file_is_refused(
    served_with_login, planted, tmp_path, monkeypatch
):
    url, settings = served_with_login
    client = logged_in_client(url, tmp_path / "dl")
    mine = tmp_path / "tapir-notes.md"
    mine.write_text("# Tapir pooling\n\nTapir pooling averages snouts.\n", encoding="utf-8")
    summary, *_ = client.predict([handle_file(str(mine))], "", api_name="/ingest")
    assert "1 added" in summary  # the upload button still works behind a login

    monkeypatch.setattr(Endpoint, "_upload_file", lambda self, f, data_index: f)
    note, _answers = planted
    summary, table, *_ = client.predict([file_data(note)], "", api_name="/ingest")
    assert "0 added" in summary and "not a file uploaded through this page" in summary
    assert all(row[0] != "planted-secret.md" for row in table["data"])
    hits = client.predict("capybara vault combination", 5, api_name="/search")
    assert "4417" not in hits and "planted-secret" not in hits
    assert not (settings.home / "uploads" / "notes" / "planted-secret.md").exists()


def test_a_path_outside_the_upload_folder_is_refused_and_nothing_read(
    served_with_login, tmp_path, no_client_upload
):
    url, settings = served_with_login
    client = logged_in_client(url, tmp_path / "dl")
    secret = tmp_path / "server-only.md"
    secret.write_text("# Server only\n\nThe okapi password is 9051.\n", encoding="utf-8")
    with pytest.raises(Exception):  # noqa: B017 — Gradio refuses it before any handler runs
        client.predict([file_data(secret)], "", api_name="/ingest")
    assert "9051" not in client.predict("okapi password", 5, api_name="/search")
    assert not (settings.home / "uploads" / "notes" / "server-only.md").exists()


def test_batch_grading_refuses_a_named_server_file(
    served_with_login, planted, tmp_path, no_client_upload
):
    url, settings = served_with_login
    client = logged_in_client(url, tmp_path / "dl")
    _note, answers = planted
    summary, rows, *_ = client.predict(file_data(answers), "", False, api_name="/batch_grade")
    assert summary.startswith("✗") and "not a file uploaded through this page" in summary
    assert rows["data"] in ([], [[]]) or not rows["data"]
    assert not (settings.home / "uploads" / "batch" / "planted-answers.csv").exists()


def test_refusal_reads_the_same_for_files_that_exist_and_ones_that_do_not(tmp_path):
    from mockloop.ui.uploads import NOT_UPLOADED, received_by, stage

    missing = tmp_path / "nothing.md"
    present = tmp_path / "present.md"
    present.write_text("# x\n\ny\n", encoding="utf-8")
    staged = stage([str(missing), str(present)], tmp_path / "dest", (".md",), 1024,
                   received=received_by(None))  # fmt: skip
    assert staged.paths == []
    assert [why for _name, why in staged.refused] == [NOT_UPLOADED, NOT_UPLOADED]
