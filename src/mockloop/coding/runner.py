"""Run a candidate's code against a problem's tests in a separate, limited process.

Each run gets a fresh temporary directory holding the code and a job file; the child
(`harness.py`, started with `python -I`) gets an environment built from an allowlist (no API keys,
tokens, secrets or MOCKLOOP_* variables), CPU-time, address-space and file-size limits, no core
dumps, and — when the kernel allows unprivileged user namespaces — a network namespace of its
own (otherwise the report says "network isolation unavailable"). Each test runs under its own
CPU-time timer (fair on a busy machine; a wall timer at 30× the budget catches code that sleeps);
the whole run under a wall clock (its CPU budget × `wall_factor`), after which the process group is killed and the test in
progress is reported as "time limit exceeded".

    report = run_tests(problem, code, which="all")
    report.passed, report.total          # 11, 12
    print(report.text())                 # "11/12 passed" and each failure

Every way candidate code can go wrong (syntax error, missing function, wrong signature, an
exception, print floods, infinite loops, memory bombs, sys.exit, os._exit) ends as a RunReport,
never as an exception in mockloop. Not covered: this is a guard against accidents, not a sandbox
for hostile code (it can still read files the user can read).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mockloop.coding.bank import CodeTest, Problem

HARNESS = Path(__file__).with_name("harness.py")
Status = Literal["passed", "failed", "error", "timeout", "not run"]
# The child's environment is built from these, never copied from ours.
ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "SYSTEMROOT")
ENV_FIXED = {
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
    "OMP_NUM_THREADS": "1",  # one BLAS thread: fits the memory limit and a shared machine
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@dataclass
class Limits:
    """What one run may use. Per-test time comes from the test (`time_s`) or `test_s`."""

    test_s: float = 2.0  # CPU seconds per test unless the test sets time_s
    load_s: float = 5.0  # CPU seconds to load the code
    overhead_s: float = 10.0  # interpreter start, imports, test setup
    wall_factor: float = 5.0  # the whole run's wall clock: its CPU budget × this (a busy machine)
    max_wall_s: float = 300.0
    memory_mb: int = 1024
    output_chars: int = 8000
    file_bytes: int = 16 * 1024 * 1024
    isolate_network: bool = True

    def cpu_s(self, tests: list[CodeTest]) -> float:
        return self.load_s + self.overhead_s + sum(t.time_s or self.test_s for t in tests)

    def wall_s(self, tests: list[CodeTest]) -> float:
        return min(self.max_wall_s, self.cpu_s(tests) * self.wall_factor)


@dataclass
class TestResult:
    name: str
    status: Status
    input: str
    hidden: bool = False
    large: bool = False
    expected: str | None = None
    got: str | None = None
    message: str = ""
    seconds: float | None = None
    output: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def line(self) -> str:
        """One result as text: `✗ unsorted: merge(...) expected [[1, 6]] got [[1, 3]]`."""
        mark = "✓" if self.passed else "✗"
        head = f"{mark} {self.name}: {self.input}"
        if self.passed:
            return head + (f"  ({self.seconds:.3f}s)" if self.large and self.seconds else "")
        if self.status == "failed":
            detail = (
                f"expected {self.expected}, got {self.got}" if self.expected else f"got {self.got}"
            )
            detail += f" — {self.message}" if self.message else ""
        else:
            detail = self.message or self.status
        return f"{head}\n    {detail}"


@dataclass
class RunReport:
    problem_id: str
    which: str  # "visible" or "all"
    results: list[TestResult] = field(default_factory=list)
    error: str | None = None  # the run as a whole failed: syntax error, missing function, …
    network: str = ""  # "isolated" or "network isolation unavailable (why)"
    stdout: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def all_passed(self) -> bool:
        return self.error is None and self.total > 0 and self.passed == self.total

    def share(self, *, large: bool) -> float | None:
        """Fraction passed among the large (efficiency) or the other (correctness) tests."""
        pool = [r for r in self.results if r.large == large]
        return sum(r.passed for r in pool) / len(pool) if pool else None

    def failures(self) -> list[TestResult]:
        return [r for r in self.results if not r.passed]

    def text(self, limit: int = 8) -> str:
        """`N/M passed`, the run's error if any, and the first failures."""
        head = f"{self.passed}/{self.total} {'visible ' if self.which == 'visible' else ''}tests passed"
        lines = [head]
        if self.error:
            lines.append(f"! {self.error}")
        fails = self.failures()
        lines += [r.line() for r in fails[:limit]]
        if len(fails) > limit:
            lines.append(f"… and {len(fails) - limit} more failing")
        if self.network and self.network != "isolated":
            lines.append(f"(note: {self.network})")
        return "\n".join(lines)


# Gates: callables an embedding app registers (the web app: "am I served to the network?");
# any that returns a reason stops every run before the code is written to disk. The terminal
# registers none.
_GATES: list[Callable[[], str | None]] = []


def add_gate(gate: Callable[[], str | None]) -> None:
    """Register a check run before any code is executed; it returns why not, or None."""
    _GATES.append(gate)


def blocked() -> str | None:
    """The first reason a registered gate gives for not running code here, if any."""
    for gate in list(_GATES):
        why = gate()
        if why:
            return why
    return None


def child_env(tmp: str) -> dict[str, str]:
    """An allowlisted environment: nothing secret and no MOCKLOOP_* settings reach the code."""
    env = {k: os.environ[k] for k in ENV_ALLOW if k in os.environ}
    env.update(ENV_FIXED, HOME=tmp, TMPDIR=tmp)
    return env


def _shown_input(test: CodeTest, hidden: bool, limit: int = 160) -> str:
    if hidden and test.summary:
        return test.summary
    text = " ".join(test.call.split())
    if hidden and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def _expected(test: CodeTest) -> str | None:
    if test.check:
        return f"a result where {test.check}"
    text = repr(test.expect)
    return text if len(text) <= 300 else text[:299] + "…"


def run_tests(
    problem: Problem,
    code: str,
    *,
    which: Literal["visible", "all"] = "all",
    limits: Limits | None = None,
    python: str | None = None,
) -> RunReport:
    """Run `code` against the problem's visible examples, or examples plus hidden tests."""
    limits = limits or Limits()
    tests = [(t, False) for t in problem.examples]
    if which == "all":
        tests += [(t, True) for t in problem.tests]
    report = RunReport(problem_id=problem.id, which=which)
    why = blocked()
    if why:
        report.error = why
        report.results = [
            TestResult(
                name=t.name or f"test {i + 1}",
                status="not run",
                input=_shown_input(t, hidden),
                hidden=hidden,
                large=t.large,
                message=why,
            )
            for i, (t, hidden) in enumerate(tests)
        ]
        return report
    start = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix="mockloop-run-")
    try:
        records, fatal, exit_note, output = _execute(problem, code, tests, limits, tmp, python)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.seconds = time.perf_counter() - start
    report.stdout = output
    by_index = {r["i"]: r for r in records if "i" in r}
    net = next((r["network"] for r in records if "network" in r), None)
    if net is not None:
        report.network = "isolated" if net == "isolated" else f"network isolation {net}"
    loaded = any(r.get("loaded") for r in records)
    if fatal is not None:
        report.error = f"{fatal['fatal']}: {fatal['message']}"
    elif not loaded:
        report.error = exit_note or "the code did not load"
    stop_note = exit_note if loaded else None
    for i, (test, hidden) in enumerate(tests):
        report.results.append(_result(i, test, hidden, by_index.get(i), stop_note, report))
        if i not in by_index and stop_note:
            stop_note = None  # only the test that was running when it stopped gets the reason
    return report


def _result(i, test, hidden, rec, stop_note, report) -> TestResult:
    name = test.name or f"{'hidden' if hidden else 'example'} {i + 1}"
    base = TestResult(
        name=name,
        status="not run",
        input=_shown_input(test, hidden),
        hidden=hidden,
        large=test.large,
        expected=_expected(test),
    )
    if rec is None:
        if stop_note:
            base.status = "timeout" if "time limit" in stop_note else "error"
            base.message = stop_note
        else:
            base.message = report.error or "not run: the run stopped before this test"
        return base
    base.status = rec.get("status", "error")
    base.got = rec.get("got")
    base.message = rec.get("message", "")
    base.seconds = rec.get("seconds")
    base.output = rec.get("stdout", "")
    if base.passed and test.large and test.time_s and (base.seconds or 0) > test.time_s:
        base.status, base.message = (
            "timeout",
            f"time limit exceeded: took {base.seconds:.2f}s of CPU time",
        )
    return base


def _execute(problem, code, tests, limits, tmp, python):
    """Start the harness, wait within the wall clock; (records, fatal, exit note, output)."""
    Path(tmp, "solution.py").write_text(code, encoding="utf-8")
    results = Path(tmp, "results.jsonl")
    wall = limits.wall_s([t for t, _ in tests])
    cpu = limits.cpu_s([t for t, _ in tests])
    job = {
        "function": problem.function,
        "signature": problem.signature,
        "params": problem.params,
        "setup": problem.setup,
        "tests": [t.model_dump(mode="json", exclude={"summary", "name"}) for t, _ in tests],
        "results": str(results),
        "cpu_s": int(cpu) + 1,
        "memory_mb": limits.memory_mb,
        "file_bytes": limits.file_bytes,
        "output_chars": limits.output_chars,
        "load_s": limits.load_s,
        "default_time_s": limits.test_s,
        "isolate_network": limits.isolate_network,
    }
    Path(tmp, "job.json").write_text(json.dumps(job), encoding="utf-8")
    out_path = Path(tmp, "output.txt")
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(
            [python or sys.executable, "-I", str(HARNESS), str(Path(tmp, "job.json"))],
            cwd=tmp,
            env=child_env(tmp),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one
        )
        note = None
        try:
            proc.wait(timeout=wall)
        except subprocess.TimeoutExpired:
            note = f"time limit exceeded: the run was stopped after {wall:g}s"
        finally:
            _kill_group(proc)
    records = _read_records(results)
    fatal = next((r for r in records if "fatal" in r), None)
    if note is None and not any(r.get("done") for r in records):
        note = _exit_note(proc.returncode)
    with open(out_path, "rb") as f:
        output = f.read(limits.output_chars).decode("utf-8", "replace")
    return records, fatal, note, output


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _read_records(path: Path) -> list[dict]:
    records = []
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a half-written last line: the process died mid-write
    return records


def _exit_note(code: int | None) -> str:
    """Why the process ended before the tests finished, in words."""
    if code is not None and code < 0:
        sig = -code
        if sig == signal.SIGXCPU:
            return "time limit exceeded: CPU time limit reached"
        if sig == signal.SIGXFSZ:
            return "output limit exceeded: the code wrote too much"
        if sig in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT):
            return f"the process was killed ({signal.Signals(sig).name}), likely the memory limit"
        return f"the process was killed by {signal.Signals(sig).name}"
    return f"the process exited (code {code}) before the tests finished — os._exit or a crash"
