#!/usr/bin/env bash
# Set up mockloop in ./.venv on a fresh machine: CPU torch first (an unpinned torch would pull a
# multi-GB CUDA build), then the package. `--test` adds the test tools and headless Chromium.
# Idempotent: rerunning only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=${MOCKLOOP_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  "$PY" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null; then
  echo "==> installing torch 2.13.0 (CPU)"
  $PIP install -q "torch==2.13.0"
fi

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
echo "==> installing mockloop$extras"
$PIP install -q -e ".$extras"

if [ "${1:-}" = "--test" ] && [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian chromium for the browser tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
echo "==> ready: $VENV/bin/mockloop"
