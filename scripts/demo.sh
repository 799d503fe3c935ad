#!/usr/bin/env bash
# Set up ./.venv, then open mockloop on the sample corpus at http://127.0.0.1:7860.
# The first start ingests corpus/ (about a minute on 2 CPU cores); later starts reuse the store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python app.py "$@"
