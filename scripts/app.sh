#!/usr/bin/env bash
# Start the app on the bundled demo corpus: set up, build the index if there is none, serve.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
. .venv/bin/activate
export KB_CORPUS="${KB_CORPUS:-corpus}" KB_INDEX="${KB_INDEX:-index}"
if ! kb status >/dev/null 2>&1; then
  echo "No index yet: building it from $KB_CORPUS/ (about half a minute for the demo corpus)…" >&2
  kb build
fi
exec streamlit run app.py --server.address "${KB_HOST:-127.0.0.1}" --server.port "${KB_PORT:-8501}" "$@"
