#!/usr/bin/env bash
# Set up ./.venv, then open mockloop on the sample corpus at http://127.0.0.1:7860.
# The first start ingests corpus/ and prints how far it is: under a minute on 2 idle cores, several
# minutes on a busy machine (a newcomer waited 395 s from clone to page, 223 s of it setup).
# Later starts reuse the store and open in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False GRADIO_ANALYTICS_ENABLED=False
echo "==> starting the app (the first start ingests the sample notes; progress below)"
exec .venv/bin/python app.py "$@"
