#!/usr/bin/env bash
# Set up (./.venv with the test extras and headless Chromium) and run the whole test suite,
# slow tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False MOCKLOOP_REQUIRE_BROWSER=1
.venv/bin/python -m ruff check src tests benchmarks app.py
# --run-slow: the evals, kill -9 resume and browser rounds that plain `pytest` skips (tests/conftest.py)
exec .venv/bin/python -m pytest --run-slow "$@"
