#!/usr/bin/env bash
# Run the whole test suite (unit tests, real-model tests) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
. .venv/bin/activate
if [ ! -d /usr/share/fonts/truetype/dejavu ]; then  # the tests draw their PDFs with DejaVu
  (apt-get update -qq && apt-get install -y -qq fonts-dejavu-core) >/dev/null
fi
exec python -m pytest "$@"
