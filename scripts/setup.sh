#!/usr/bin/env bash
# Set up mockloop in ./.venv on a fresh machine: CPU torch first (an unpinned torch would pull a
# multi-GB CUDA build), then the package. `--test` adds the test tools and headless Chromium.
# Idempotent: rerunning only installs what is missing. Each step says what it does, how long it
# usually takes, and how long it took: on a busy 2-core machine the whole setup took 223 s.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=${MOCKLOOP_VENV:-.venv}
PIP="$VENV/bin/python -m pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1
STEPS=3
[ "${1:-}" = "--test" ] && STEPS=4
STEP=0
STARTED=$SECONDS
step_start=$SECONDS

step() {  # step "what" "usual time": one numbered line per step, with the time the last took
  [ "$STEP" -gt 0 ] && echo "    done in $((SECONDS - step_start)) s"
  STEP=$((STEP + 1))
  step_start=$SECONDS
  echo "==> [$STEP/$STEPS] $1 ($2)"
}

step "creating $VENV" "seconds"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
else
  echo "    already there"
fi

step "installing torch 2.13.0, CPU build" "about 200 MB: 1-4 min on first setup"
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null; then
  $PIP install -q "torch==2.13.0"
else
  echo "    already installed"
fi

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
step "installing mockloop$extras and its dependencies" "1-3 min on first setup, seconds after"
$PIP install -q -e ".$extras"

if [ "${1:-}" = "--test" ]; then
  step "Debian chromium for the browser tests" "about 1 min if missing"
  if [ ! -x /usr/bin/chromium ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "    already installed"
  fi
fi
echo "    done in $((SECONDS - step_start)) s"
echo "==> ready in $((SECONDS - STARTED)) s: $VENV/bin/mockloop"
