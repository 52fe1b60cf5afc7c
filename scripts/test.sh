#!/usr/bin/env bash
# Run the whole test suite (unit, fault, real-model, OCR, app and browser tests) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
. .venv/bin/activate
exec python -m pytest "$@"
