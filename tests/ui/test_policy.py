"""The web app's policies live in the library as plain functions: which environment values are
secrets, which note folders the page may read, what forgetting deletes. Handlers only call them."""

from __future__ import annotations

from mockloop.notes.uploads import ALLOW_FOLDERS_ENV, note_folder, remove_uploaded_copies
from mockloop.redact import describe_error, redact, secret_values


def test_redact_hides_secret_values():
    text = "call failed: key sk-abc123 rejected for user:hunter22"
    out = redact(text, ["sk-abc123", "hunter22", "", "ab"])
    assert "sk-abc123" not in out and "hunter22" not in out and out.count("***") == 2


def test_secret_values_are_named_like_credentials_and_include_the_password_of_a_login():
    env = {"OPENAI_API_KEY": "sk-1234", "MOCKLOOP_AUTH": "ann:pa55word", "HOME": "/root",
           "HF_TOKEN": "", "PATH": "/bin"}  # fmt: skip
    assert sorted(secret_values(env)) == ["ann:pa55word", "pa55word", "sk-1234"]
    said = describe_error(RuntimeError("401 for sk-1234 as ann:pa55word"), env)
    assert said == "RuntimeError: 401 for *** as ***"


def test_a_served_page_reads_no_server_folder_unless_the_operator_allows_it(tmp_path):
    assert note_folder(str(tmp_path), exposed=False, environ={}) == (tmp_path, None)
    path, why = note_folder(str(tmp_path), exposed=True, environ={})
    assert path is None and ALLOW_FOLDERS_ENV in why and "upload the files" in why
    allowed = {ALLOW_FOLDERS_ENV: "1"}
    assert note_folder(str(tmp_path), exposed=True, environ=allowed) == (tmp_path, None)
    assert note_folder(str(tmp_path / "nope"), exposed=False, environ={}) == (
        None,
        "folder not found on this machine",
    )


def test_forgetting_deletes_only_uploaded_copies_inside_the_uploads_folder(tmp_path):
    uploads = tmp_path / "uploads"
    (uploads / "sub").mkdir(parents=True)
    kept = tmp_path / "mockloop.db"
    for f in (uploads / "a.md", uploads / "sub" / "b.md", kept):
        f.write_text("x")
    removed = remove_uploaded_copies(uploads, ["a.md", "../mockloop.db", "sub/b.md", "gone.md"])
    assert removed == [(uploads / "a.md").resolve()]
    assert not (uploads / "a.md").exists() and kept.exists() and (uploads / "sub" / "b.md").exists()
