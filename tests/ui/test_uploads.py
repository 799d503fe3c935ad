"""uploads.py: uploaded names can never escape the upload folder; types and sizes are checked."""

from __future__ import annotations

import pytest

from mockloop.ui.uploads import BATCH_TYPES, NOTE_TYPES, safe_name, stage


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("notes.md", "notes.md"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.zip", "evil.zip"),
        ("/abs/path/to/LoRA notes!.md", "LoRA notes.md"),
        (".bashrc", "bashrc"),
        ("..", "upload"),
        ("", "upload"),
        ("a\x00b.md", "ab.md"),
        ("résumé (v2).md", "résumé (v2).md"),
        ("x" * 300 + ".md", "x" * 117 + ".md"),
    ],
)
def test_safe_name(given, expected):
    assert safe_name(given) == expected


def _upload(tmp_path, name: str, data: bytes = b"# note\n\ntext\n"):
    # Gradio hands handlers a temp path whose last component is the browser's file name.
    folder = tmp_path / "gradio-tmp" / "abc123"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return str(path)


def test_stage_keeps_supported_files_inside_the_folder(tmp_path):
    dest = tmp_path / "uploads"
    staged = stage([_upload(tmp_path, "a.md"), _upload(tmp_path, "export.zip", b"PK")], dest,
                   NOTE_TYPES, 1024)  # fmt: skip
    assert [p.name for p in staged.paths] == ["a.md", "export.zip"]
    assert all(p.parent == dest for p in staged.paths)
    assert staged.refused == []


def test_stage_refuses_other_types_and_oversized_files(tmp_path):
    dest = tmp_path / "uploads"
    staged = stage(
        [_upload(tmp_path, "run.sh"), _upload(tmp_path, "big.csv", b"x" * 2048),
         _upload(tmp_path, "answers.csv")],
        dest, BATCH_TYPES, 1024,
    )  # fmt: skip
    assert [p.name for p in staged.paths] == ["answers.csv"]
    reasons = dict(staged.refused)
    assert "unsupported type .sh" in reasons["run.sh"]
    assert "larger than the" in reasons["big.csv"] and "upload cap" in reasons["big.csv"]
    assert not (dest / "run.sh").exists() and not (dest / "big.csv").exists()


def test_stage_overwrites_a_same_named_upload_so_reingest_sees_the_change(tmp_path):
    dest = tmp_path / "uploads"
    stage([_upload(tmp_path, "a.md", b"old")], dest, NOTE_TYPES, 1024)
    stage([_upload(tmp_path, "a.md", b"new")], dest, NOTE_TYPES, 1024)
    assert (dest / "a.md").read_bytes() == b"new"
