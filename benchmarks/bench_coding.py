"""The coding runner's overhead per submission, as a ratio to running the same tests in-process.

For each problem, the reference solution is submitted through `run_tests` (a fresh temp dir, a
new interpreter under resource limits and its own network namespace, results read back) and,
as the raw building block, the very same tests are run in this process with the harness's own
per-test function (exec the code, the problem's setup, each test's setup, call and check).
Both visible-only runs (what "Run tests" costs: mostly the fixed start-up) and full submissions
(examples + hidden tests, large inputs included) are timed; medians of --repeat runs.

The ratio is of CPU seconds (this process's plus its children's): on a shared, busy machine wall
time mostly measures the scheduler (the child starts its own session, so it even gets a
different share of the CPU than this process). Wall seconds are printed too.
Writes benchmarks/out/coding.json.

    python benchmarks/bench_coding.py [--problems coding.stable-softmax,coding.roc-auc] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from mockloop.coding import harness, load_problem_bank, run_tests

REPO = Path(__file__).resolve().parents[1]
DEFAULT = "coding.stable-softmax,coding.roc-auc,coding.merge-intervals,coding.two-sum,coding.bm25"


def cpu_now() -> float:
    """CPU seconds used so far by this process and its waited-for children."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one call."""
    cpu, wall = cpu_now(), time.perf_counter()
    fn()
    return cpu_now() - cpu, time.perf_counter() - wall


def in_process(problem, which: str) -> None:
    """Run the same tests here: exec the code, the setup, every test and its check."""
    tests = list(problem.examples) + (list(problem.tests) if which == "all" else [])
    job = {"function": problem.function, "default_time_s": 60.0}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "solution.py")
        Path(path).write_text(problem.reference, encoding="utf-8")
        ns: dict = {"__name__": "solution", "__file__": path}
        exec(compile(problem.reference, path, "exec"), ns)
        setup_ns: dict = {}
        exec(problem.setup or "", setup_ns)
        writer = harness.CappedWriter(8000)
        for i, t in enumerate(tests):
            rec = harness.run_test(
                i, t.model_dump(mode="json"), ns[problem.function], job, setup_ns, writer, path
            )
            assert rec["status"] == "passed", (problem.id, t.name, rec)


def subprocess_run(problem, which: str) -> None:
    report = run_tests(problem, problem.reference, which=which)
    assert report.all_passed, report.text()


def median(fn, repeat: int) -> tuple[float, float]:
    runs = [timed(fn) for _ in range(repeat)]
    return statistics.median(c for c, _ in runs), statistics.median(w for _, w in runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    bank = load_problem_bank()
    rows = []
    for pid in args.problems.split(","):
        p = bank.get(pid.strip())
        row = {"problem": p.id}
        for which in ("visible", "all"):
            runner_s, runner_wall = median(lambda p=p, w=which: subprocess_run(p, w), args.repeat)
            inproc_s, inproc_wall = median(lambda p=p, w=which: in_process(p, w), args.repeat)
            row[which] = {
                "runner_s": round(runner_s, 3),
                "in_process_s": round(inproc_s, 4),
                "ratio": round(runner_s / inproc_s, 2),
                "overhead_s": round(runner_s - inproc_s, 3),
                "runner_wall_s": round(runner_wall, 3),
                "in_process_wall_s": round(inproc_wall, 3),
            }
        rows.append(row)
        v, a = row["visible"], row["all"]
        print(
            f"{p.id:<28} CPU · visible: {v['runner_s']:.2f}s vs {v['in_process_s']:.3f}s in-process "
            f"(×{v['ratio']:.0f}, +{v['overhead_s']:.2f}s) · submission: {a['runner_s']:.2f}s vs "
            f"{a['in_process_s']:.2f}s (×{a['ratio']:.2f}, +{a['overhead_s']:.2f}s)"
        )
    sub = [r["all"]["ratio"] for r in rows]
    over = [r["all"]["overhead_s"] for r in rows]
    vis = [r["visible"]["overhead_s"] for r in rows]
    print(
        f"\nCPU, submission: runner / in-process median ×{statistics.median(sub):.2f}; "
        f"overhead per submission median {statistics.median(over):.2f}s; "
        f"per visible run {statistics.median(vis):.2f}s (load average {os.getloadavg()[0]:.1f})"
    )
    out = REPO / "benchmarks" / "out" / "coding.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"repeat": args.repeat, "rows": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
