#!/usr/bin/env bash
# Install the test dependencies (Python packages, Debian's Chromium for the browser tests) and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser), and an emoji
# font so the status badges render in screenshots.
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "emoji"; then
  SUDO=""
  [ "$(id -u)" = "0" ] || SUDO="sudo"
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null) \
    || echo "warning: could not install chromium; the browser tests will fail" >&2
fi
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$HOME/.cache/obs/numba}"
mkdir -p "$NUMBA_CACHE_DIR"
exec "$PY" -m pytest "$@"
