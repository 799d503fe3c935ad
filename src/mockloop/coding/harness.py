"""The child side of the runner: runs one candidate's code against a list of tests.

Started by runner.py as `python -I harness.py JOB.json` in a fresh temporary directory. It sets
its own resource limits, tries to leave the network (a new user + network namespace), loads the
candidate's code, checks the function and its signature, then runs each test under a per-test
timer and writes one JSON line per result to the results file as it goes — so when the parent
kills it (wall clock) the finished tests are still known. Standard library only (plus whatever
the problem's setup imports): it must not import mockloop.

Scope: this limits accidents (infinite loops, memory bombs, floods, stray network calls); it is
not a security boundary against hostile code — see the README's coding round section.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import inspect
import json
import math
import os
import resource
import signal
import sys
import time
import traceback

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
WALL_FACTOR = 30  # a test may wait (sleep, I/O) this many times its CPU budget before it stops


class TestTimeout(BaseException):  # noqa: N818 — BaseException so `except Exception` cannot swallow it
    """Raised by the per-test timer inside the candidate's code."""


class CappedWriter:
    """sys.stdout/sys.stderr for the candidate: keeps the first `cap` characters, counts the rest."""

    def __init__(self, cap: int):
        self.cap, self.parts, self.size, self.dropped = cap, [], 0, 0

    def write(self, text) -> int:
        text = str(text)
        room = self.cap - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def take(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n… output truncated ({self.dropped} more characters)"
        self.parts, self.size, self.dropped = [], 0, 0
        return out


def set_limits(job: dict) -> None:
    cpu = int(job["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = int(job["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    fsize = int(job["file_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def leave_network() -> str:
    """'' when the process now has no network; otherwise why not."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
            return os.strerror(ctypes.get_errno())
        return ""
    except Exception as exc:  # noqa: BLE001 — any failure means "not isolated", said plainly
        return str(exc)


def plain(value, depth: int = 0):
    """numpy arrays and scalars, tuples and sets as plain lists and numbers, for comparing."""
    if depth > 50:
        return value
    if hasattr(value, "tolist") and callable(value.tolist):
        value = value.tolist()
    elif hasattr(value, "item") and callable(value.item) and not isinstance(value, dict):
        with contextlib.suppress(Exception):
            value = value.item()
    if isinstance(value, tuple | list):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: plain(v, depth + 1) for k, v in value.items()}
    return value


def equal(got, want, tol: float) -> bool:
    if isinstance(want, bool):
        return isinstance(got, bool | int) and got == want
    if isinstance(want, int | float) and isinstance(got, int | float):
        if isinstance(want, float) and math.isnan(want):
            return isinstance(got, float) and math.isnan(got)
        return math.isclose(got, want, rel_tol=tol, abs_tol=tol)
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(
            equal(g, w, tol) for g, w in zip(got, want, strict=True)
        )
    if isinstance(want, dict) and isinstance(got, dict):
        return set(got) == set(want) and all(equal(got[k], want[k], tol) for k in want)
    return got == want


def short(value, limit: int = 300) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001
        text = f"<unprintable: {exc}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def last_line(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    return (lines[-1] if lines else type(exc).__name__).strip()


def where(exc: BaseException, filename: str) -> str:
    """` (line N)` of the deepest frame in the candidate's file, if any."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return f" (line {frames[-1].lineno})" if frames else ""


def check_signature(fn, params: list[list]) -> str:
    """'' when `fn` can be called the way the tests call it: required positionally, defaults by name."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return ""
    args = [None for name, has_default in params if not has_default]
    kwargs = {name: None for name, has_default in params if has_default}
    try:
        sig.bind(*args, **kwargs)
    except TypeError:
        return f"found {fn.__name__}{sig}"
    return ""


def on_alarm(signum, frame):
    raise TestTimeout("wall" if signum == signal.SIGALRM else "cpu")


def arm(budget: float) -> None:
    """Time limits are CPU time (fair on a busy machine); a wall limit catches code that sleeps."""
    signal.setitimer(signal.ITIMER_PROF, budget)
    signal.setitimer(signal.ITIMER_REAL, budget * WALL_FACTOR + 5)


def disarm() -> None:
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)


def timeout_message(exc: TestTimeout, budget: float) -> str:
    if exc.args and exc.args[0] == "wall":
        return f"time limit exceeded: stopped after {budget * WALL_FACTOR + 5:g}s of waiting"
    return f"time limit exceeded: stopped after {budget:g}s of CPU time"


def emit(out, record: dict) -> None:
    out.write(json.dumps(record) + "\n")
    out.flush()


def run(job: dict, out) -> None:
    path = os.path.abspath("solution.py")
    with open(path, encoding="utf-8") as f:
        source = f.read()
    writer = CappedWriter(int(job["output_chars"]))
    sys.stdout = sys.stderr = writer
    ns: dict = {"__name__": "solution", "__file__": path}
    try:
        code = compile(source, path, "exec")
    except SyntaxError as exc:
        line = f" (line {exc.lineno})" if exc.lineno else ""
        emit(out, {"fatal": "syntax error", "message": f"SyntaxError: {exc.msg}{line}"})
        return
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGPROF, on_alarm)
    arm(float(job["load_s"]))
    try:
        exec(code, ns)
    except TestTimeout:
        emit(out, {"fatal": "time limit exceeded", "message": "loading the code took too long"})
        return
    except SystemExit as exc:
        emit(out, {"fatal": "exit", "message": f"the code called sys.exit({exc.code!r}) on load"})
        return
    except MemoryError:
        emit(out, {"fatal": "memory limit exceeded", "message": "MemoryError while loading"})
        return
    except BaseException as exc:  # noqa: BLE001 — any error in the candidate's code is a result
        emit(out, {"fatal": "error on load", "message": last_line(exc) + where(exc, path)})
        return
    finally:
        disarm()
    fn = ns.get(job["function"])
    if not callable(fn):
        emit(out, {"fatal": "missing function", "message": f"no function {job['function']}()"})
        return
    bad = check_signature(fn, job["params"])
    if bad:
        emit(out, {"fatal": "wrong signature", "message": f"expected {job['signature']}; {bad}"})
        return
    emit(out, {"loaded": True, "stdout": writer.take()})
    setup_ns: dict = {}
    try:
        exec(job.get("setup") or "", setup_ns)
    except BaseException as exc:  # noqa: BLE001
        emit(out, {"fatal": "error on load", "message": "problem setup failed: " + last_line(exc)})
        return
    for i, test in enumerate(job["tests"]):
        emit(out, run_test(i, test, fn, job, setup_ns, writer, path))


def run_test(i: int, test: dict, fn, job: dict, setup_ns: dict, writer, path: str) -> dict:
    env = dict(setup_ns)
    env[job["function"]] = fn
    record: dict = {"i": i}
    try:
        exec(test.get("setup") or "", env)
        expr = compile(test["call"], "<test>", "eval")
    except BaseException as exc:  # noqa: BLE001 — a broken test is reported, not raised
        return {**record, "status": "error", "message": "test setup failed: " + last_line(exc)}
    budget = float(test.get("time_s") or job["default_time_s"])
    start = time.process_time()
    arm(budget)
    try:
        got = eval(expr, env)
        record["seconds"] = round(time.process_time() - start, 4)  # CPU seconds
    except TestTimeout as exc:
        record.update(status="timeout", seconds=budget)
        record["message"] = timeout_message(exc, budget)
        return {**record, "stdout": writer.take()}
    except SystemExit as exc:
        record.update(status="error", message=f"called sys.exit({exc.code!r}); return the result")
        return {**record, "stdout": writer.take()}
    except MemoryError:
        record.update(status="error", message="memory limit exceeded (MemoryError)")
        return {**record, "stdout": writer.take()}
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            msg = "output limit exceeded: the code wrote more than the file size limit"
        else:
            msg = last_line(exc) + where(exc, path)
        record.update(status="error", message=msg)
        return {**record, "stdout": writer.take()}
    except BaseException as exc:  # noqa: BLE001
        record.update(status="error", message=last_line(exc) + where(exc, path))
        return {**record, "stdout": writer.take()}
    finally:
        disarm()
    record["stdout"] = writer.take()
    return {**record, **judge(test, got, env)}


def judge(test: dict, got, env: dict) -> dict:
    try:
        plain_got = plain(got)
    except Exception:  # noqa: BLE001
        plain_got = got
    record = {"got": short(plain_got)}
    try:
        if test.get("check"):
            ok = bool(eval(test["check"], {**env, "got": got, "math": math}))
        else:
            ok = equal(plain_got, test["expect"], float(test.get("tol", 1e-9)))
    except BaseException as exc:  # noqa: BLE001 — a result the check cannot read is a failure
        return {
            **record,
            "status": "failed",
            "message": "could not check the result: " + last_line(exc),
        }
    return {**record, "status": "passed" if ok else "failed"}


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    out = open(job["results"], "w", encoding="utf-8")  # noqa: SIM115 — open until the process ends
    set_limits(job)
    why = leave_network() if job.get("isolate_network", True) else "not requested"
    emit(out, {"network": "isolated" if not why else f"unavailable: {why}"})
    run(job, out)
    emit(out, {"done": True})


if __name__ == "__main__":
    main()
