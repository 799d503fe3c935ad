"""Batch grading: a CSV or JSONL of answers in, per-row grades out, resumable, bad rows reported.

A row names a bank question (`question_id`) or carries its own `question` with a `reference`
answer or a `rubric` (JSON or YAML text). Every graded row is appended to a cache file keyed by
a hash of its content (question, rubric, answer, grader version, options), so an interrupted run,
rerun, grades only what is missing and ends with exactly what an uninterrupted run writes.
A bad row (missing field, unknown question id, bad encoding, bad JSON) is skipped with one line
naming its row number and reason; the batch goes on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mockloop.config import Settings
from mockloop.models import ROUNDS, Grade, Question, Rubric

# Accepted column names for each field (first match wins); case-insensitive.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "row_id", "answer_id"),
    "question_id": ("question_id", "qid"),
    "question": ("question", "prompt", "question_text"),
    "reference": ("reference", "reference_answer", "reference_answers"),
    "rubric": ("rubric",),
    "answer": ("answer", "student_answer", "response", "candidate_answer"),
    "round": ("round",),
    "topic": ("topic",),
    "score": ("score", "human_score", "label"),
}


PREFETCH_ROWS = 64  # rows whose texts are encoded together before they are graded


class BadRow(Exception):
    """A row that cannot be graded; the message says why."""


@dataclass
class Problem:
    row: int  # 1-based data row (header excluded); 0 for the whole file
    reason: str

    def line(self, source: str) -> str:
        where = f"{source}" if self.row == 0 else f"{source} row {self.row}"
        return f"skipped {where}: {self.reason}"


@dataclass
class BatchSummary:
    rows: int = 0
    graded: int = 0
    reused: int = 0
    filtered: int = 0
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (row, the row it repeats)
    problems: list[Problem] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    out: Path | None = None
    report: Path | None = None

    @property
    def skipped(self) -> int:
        return len(self.problems)

    def lines(self, source: str = "input") -> list[str]:
        out = [p.line(source) for p in self.problems]
        mean = sum(r["overall"] for r in self.results) / len(self.results) if self.results else 0.0
        repeats = f", {len(self.duplicates)} repeating an earlier row" if self.duplicates else ""
        out.append(
            f"{self.rows} rows: {len(self.results)} graded ({self.graded} new, {self.reused} "
            f"from an earlier run{repeats}), {self.skipped} skipped, {self.filtered} filtered "
            f"out; mean overall {mean:.2f}/5"
        )
        if self.out:
            out.append(f"results: {self.out}")
        if self.report:
            out.append(f"report: {self.report}")
        return out


CSV_READ_LIMIT = (
    64 * 1024 * 1024
)  # the csv module's own cap (128 KB by default), set above any upload
MAX_FIELD_CHARS = 1_000_000  # a longer cell makes its row a bad row; the batch goes on


class EncodingProblem(ValueError):
    """The file's bytes are not text mockloop can read; the message says why and how to fix it."""


def _decode(raw: bytes) -> str:
    """UTF-8 (bad bytes kept as surrogates, reported per row), or UTF-16 with its byte-order mark.

    UTF-16 without a mark is refused with a reason rather than read as rows of NUL bytes."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise EncodingProblem(
                f"invalid UTF-16 at byte {exc.start}; save the file as UTF-8"
            ) from None
    head = raw[:4096]
    if head and head.count(b"\x00") * 4 >= len(head):
        raise EncodingProblem(
            "looks like UTF-16 (or another wide encoding) without a byte-order mark; "
            "save the file as UTF-8"
        )
    text = raw.decode("utf-8", errors="surrogateescape")
    return text[1:] if text.startswith("\ufeff") else text


def _has_bad_bytes(values: Iterable) -> bool:
    return any(isinstance(v, str) and any("\udc80" <= ch <= "\udcff" for ch in v) for v in values)


def _oversized(values: Iterable) -> str | None:
    longest = max((len(v) for v in values if isinstance(v, str)), default=0)
    if longest <= MAX_FIELD_CHARS:
        return None
    return (
        f"a cell holds {longest:,} characters, over the {MAX_FIELD_CHARS:,} limit "
        "(is a quote left open?)"
    )


def read_table(path: Path) -> tuple[list[tuple[int, dict]], list[Problem]]:
    """(rows as (row number, dict), problems) from a .csv or .jsonl file; never raises on content."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [Problem(0, f"cannot read file: {exc.strerror or exc}")]
    try:
        text = _decode(raw)
    except EncodingProblem as exc:
        return [], [Problem(0, str(exc))]
    if not text.strip():
        return [], [Problem(0, "the file is empty")]
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return _read_jsonl(text)
    return _read_csv(text)


def _read_jsonl(text: str) -> tuple[list[tuple[int, dict]], list[Problem]]:
    # "\n" only: JSON strings may hold U+2028, U+0085 or a lone "\r", which splitlines() breaks on.
    rows: list[tuple[int, dict]] = []
    problems: list[Problem] = []
    n = 0
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        n += 1
        if _has_bad_bytes([line]):
            problems.append(Problem(n, "not valid UTF-8 text"))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(n, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(n, "a JSON line must be an object"))
            continue
        too_long = _oversized(obj.values())
        if too_long:
            problems.append(Problem(n, too_long))
            continue
        rows.append((n, obj))
    return rows, problems


def _read_csv(text: str) -> tuple[list[tuple[int, dict]], list[Problem]]:
    rows: list[tuple[int, dict]] = []
    problems: list[Problem] = []
    if csv.field_size_limit() < CSV_READ_LIMIT:  # process-wide, so only ever raised
        csv.field_size_limit(CSV_READ_LIMIT)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        if not reader.fieldnames:
            return [], [Problem(0, "no header row")]
    except csv.Error as exc:
        return [], [Problem(0, f"the header row cannot be read: {exc}")]
    n = 0
    while True:
        n += 1
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # one unreadable record is one bad row
            problems.append(Problem(n, f"cannot be read as CSV: {exc}"))
            continue
        if None in rec:  # more cells than header columns
            problems.append(Problem(n, f"{len(rec[None])} more cells than the header has columns"))
            continue
        if _has_bad_bytes(rec.values()) or _has_bad_bytes(rec.keys()):
            problems.append(Problem(n, "not valid UTF-8 text"))
            continue
        too_long = _oversized(rec.values())
        if too_long:
            problems.append(Problem(n, too_long))
            continue
        rows.append((n, {k: v for k, v in rec.items() if k is not None}))
    return rows, problems


def normalise(row: dict) -> dict:
    """The row's values under canonical field names (see ALIASES); unknown columns dropped."""
    lower = {str(k).strip().lower(): v for k, v in row.items()}
    out: dict = {}
    for name, options in ALIASES.items():
        for opt in options:
            if opt in lower and lower[opt] is not None:
                out[name] = lower[opt]
                break
    return out


def _parse_rubric(text, where: str) -> Rubric:
    data = text
    if isinstance(text, str):
        try:
            data = yaml.safe_load(text)  # YAML is a superset of JSON
        except yaml.YAMLError as exc:
            raise BadRow(f"rubric is not valid JSON or YAML ({exc.__class__.__name__})") from exc
    if isinstance(data, list):
        data = {"version": "row", "criteria": data}
    try:
        return Rubric.model_validate({"version": "row", **data} if isinstance(data, dict) else data)
    except Exception as exc:
        raise BadRow(f"rubric is not valid: {str(exc).splitlines()[0]}") from exc


def question_for_row(row: dict, bank=None) -> Question:
    """The Question a normalised row asks: a bank question by id, or its own question text."""
    qid = str(row.get("question_id") or "").strip()
    prompt = str(row.get("question") or "").strip()
    reference = str(row.get("reference") or "").strip()
    rubric_text = row.get("rubric")
    has_rubric = rubric_text not in (None, "")
    if qid and not prompt and not reference and not has_rubric:
        if bank is None:
            from mockloop.bank import load_bank

            bank = load_bank()
        q = bank.get(qid)
        if q is None:
            raise BadRow(f"unknown question id {qid!r} (and no question text of its own)")
        return q
    if not prompt:
        raise BadRow("needs a question_id from the bank, or a question with a reference or rubric")
    if not reference and not has_rubric:
        raise BadRow("a row with its own question needs a reference answer or a rubric")
    rnd = str(row.get("round") or "breadth").strip()
    if rnd not in ROUNDS:
        raise BadRow(f"unknown round {rnd!r} (one of {', '.join(ROUNDS)})")
    rubric = _parse_rubric(rubric_text, "rubric") if has_rubric else None
    digest = hashlib.sha256(f"{prompt}\n{reference}".encode()).hexdigest()[:10]
    return Question(
        id=qid or f"row-{digest}",
        round=rnd,
        topic=str(row.get("topic") or "custom").strip() or "custom",
        prompt=prompt,
        reference_answer=reference,
        rubric=rubric,
    )


def content_key(question: Question, answer: str, options: dict) -> str:
    """Hash of everything that decides a grade: question, rubric, answer, grader, options."""
    from mockloop.grading.offline import grader_fingerprint

    payload = json.dumps(
        {
            "q": question.model_dump(mode="json"),
            "a": answer,
            "grader": grader_fingerprint(),
            "options": options,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8", errors="surrogatepass")).hexdigest()


def cache_path(source: Path, settings: Settings) -> Path:
    """Where a batch's graded rows accumulate: one append-only JSONL per input file."""
    digest = hashlib.sha1(str(Path(source).resolve()).encode()).hexdigest()[:10]
    return settings.home / "batch" / f"{Path(source).stem}-{digest}.cache.jsonl"


def _load_cache(path: Path) -> dict[str, dict]:
    cache: dict[str, dict] = {}
    if not path.exists():
        return cache
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
            cache[entry["key"]] = entry["grade"]
        except (json.JSONDecodeError, KeyError, TypeError):
            continue  # a line cut short by a kill: that row is simply graded again
    return cache


def result_row(n: int, row: dict, question: Question, grade: Grade) -> dict:
    """One output record: where it came from, the headline numbers and the full grade."""
    return {
        "row": n,
        "id": str(row.get("id") or ""),
        "question_id": question.id,
        "question": question.prompt,  # the text, so results read without the bank beside them
        "round": question.round,
        "topic": question.topic,
        "overall": grade.overall,
        "hire_signal": grade.hire_signal,
        "raw_score": grade.raw_score,
        "grade": grade.model_dump(mode="json"),
    }


CSV_COLUMNS = [
    "row", "id", "question_id", "question", "round", "topic", "overall", "hire_signal", "raw_score",
    "criteria", "red_flags", "missing", "evidence", "feedback",
]  # fmt: skip


def _csv_record(r: dict) -> dict:
    from mockloop.grading.explain import flag_text

    g = r["grade"]
    grade = Grade.model_validate(g)
    return {
        "row": r["row"],
        "id": r["id"],
        "question_id": r["question_id"],
        "question": r["question"],
        "round": r["round"],
        "topic": r["topic"],
        "overall": r["overall"],
        "hire_signal": r["hire_signal"],
        "raw_score": "" if r["raw_score"] is None else r["raw_score"],
        "criteria": "; ".join(f"{c['criterion_id']}={c['score']:.2f}" for c in g["criteria"]),
        "red_flags": "; ".join(flag_text(grade, f) for f in grade.red_flags),
        "missing": "; ".join(m for c in g["criteria"] for m in c["missing"]),
        "evidence": " | ".join(
            f"{e['point']} ← “{e['quote']}”" for c in g["criteria"] for e in c["covered"]
        ),
        "feedback": g["feedback"],
    }


def write_results(results: list[dict], out: Path) -> Path:
    """Write results as JSONL or CSV (by suffix), atomically."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        if out.suffix.lower() == ".csv":
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for r in results:
                writer.writerow(_csv_record(r))
        else:
            for r in results:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, out)
    return out


def grade_batch(
    source: Path,
    settings: Settings | None = None,
    *,
    round_name: str | None = None,
    out: Path | None = None,
    report: Path | None = None,
    calibrated: bool = False,
    retriever=None,
    progress: bool = True,
    on_problem: Callable[[str], None] | None = None,
) -> BatchSummary:
    """Grade every row of a CSV/JSONL file; resumable; returns counts, problems and results."""
    from tqdm import tqdm

    from mockloop.grading import grade_answer
    from mockloop.grading.offline import prefetch

    settings = settings or Settings.from_env()
    source = Path(source)
    calibration = None
    if calibrated:
        from mockloop.grading.calibrate import load_calibration

        calibration = load_calibration(settings)
        if calibration is None:
            raise FileNotFoundError(
                "no calibration found: fit one with `mockloop calibrate labeled.csv` first"
            )
    options = {
        "calibration": calibration.fingerprint if calibration else None,
        "citations": retriever is not None,
    }
    rows, problems = read_table(source)
    summary = BatchSummary(rows=len(rows) + sum(p.row > 0 for p in problems), problems=problems)
    say = on_problem or (lambda line: print(line, file=sys.stderr))
    for p in problems:
        say(p.line(source.name))
    todo: list[tuple[int, dict, Question, str, str]] = []
    for n, raw in rows:
        row = normalise(raw)
        try:
            if "answer" not in row:
                raise BadRow("missing the answer column")
            question = question_for_row(row)
        except BadRow as exc:
            problem = Problem(n, str(exc))
            summary.problems.append(problem)
            say(problem.line(source.name))
            continue
        if round_name and question.round != round_name:
            summary.filtered += 1
            continue
        answer = str(row.get("answer") or "")
        todo.append((n, row, question, answer, content_key(question, answer, options)))

    cpath = cache_path(source, settings)
    cpath.parent.mkdir(parents=True, exist_ok=True)
    cache = _load_cache(cpath)
    bar = tqdm(
        total=len(todo), disable=not progress, file=sys.stderr, desc="grading", unit="answer"
    )
    first_row: dict[str, int] = {}  # content key → the row of this file graded with it first
    with cpath.open("a", encoding="utf-8") as fh:
        for i, (n, row, question, answer, key) in enumerate(todo):
            if i % PREFETCH_ROWS == 0:  # encode the next block's texts in a few large batches
                block = [(q, a) for _, _, q, a, k in todo[i : i + PREFETCH_ROWS] if k not in cache]
                prefetch(block, settings)
            if key in first_row:  # the same question and answer twice in this file
                grade = Grade.model_validate(cache[key])
                summary.duplicates.append((n, first_row[key]))
                say(f"{source.name} row {n} repeats row {first_row[key]}: the same grade is given")
            elif key in cache:
                grade = Grade.model_validate(cache[key])
                summary.reused += 1
            else:
                try:
                    grade = grade_answer(
                        question,
                        answer,
                        retriever=retriever,
                        calibration=calibration,
                        settings=settings,
                    )
                except Exception as exc:  # one broken row never sinks the batch
                    problem = Problem(n, f"the grader failed: {exc.__class__.__name__}: {exc}")
                    summary.problems.append(problem)
                    say(problem.line(source.name))
                    bar.update(1)
                    continue
                fh.write(json.dumps({"key": key, "grade": grade.model_dump(mode="json")}) + "\n")
                fh.flush()
                cache[key] = grade.model_dump(mode="json")
                summary.graded += 1
            first_row.setdefault(key, n)
            summary.results.append(result_row(n, row, question, grade))
            bar.update(1)
    bar.close()
    summary.problems.sort(key=lambda p: p.row)
    if out is not None:
        summary.out = write_results(summary.results, out)
    if report is not None:
        from mockloop.reports.batch import write_report

        summary.report = write_report(summary, report, title=f"Batch grading — {source.name}")
    return summary


__all__ = [
    "BadRow", "BatchSummary", "Problem", "cache_path", "content_key", "grade_batch",
    "normalise", "question_for_row", "read_table", "write_results",
]  # fmt: skip
