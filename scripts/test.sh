#!/usr/bin/env bash
# Run the whole test suite (unit tests, real-model tests) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
. .venv/bin/activate
# System packages the tests need: DejaVu fonts (the tests draw their PDFs with them) and
# Debian's Chromium for the end-to-end browser test (Playwright drives it; nothing is downloaded).
missing=""
[ -d /usr/share/fonts/truetype/dejavu ] || missing="$missing fonts-dejavu-core"
[ -x /usr/bin/chromium ] || missing="$missing chromium chromium-driver"
if [ -n "$missing" ]; then
  echo "Installing system packages:$missing" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  ($SUDO apt-get update -qq && $SUDO apt-get install -y -qq $missing) >/dev/null
fi
exec python -m pytest "$@"
