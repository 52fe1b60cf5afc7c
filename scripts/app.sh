#!/usr/bin/env bash
# Start the app on the bundled demo corpus: set up, then serve at once. With no index yet, the
# search page builds it on first visit, with a progress bar (nothing is built before serving).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
. .venv/bin/activate
export KB_CORPUS="${KB_CORPUS:-corpus}" KB_INDEX="${KB_INDEX:-index}"
host="${KB_HOST:-127.0.0.1}" port="${KB_PORT:-8501}"
if ! kb status >/dev/null 2>&1; then
  echo "No index yet: the first visit to http://$host:$port builds it from $KB_CORPUS/ (progress in the page)," >&2
  echo "for whoever may write (this machine, or an administrator when a secret is set; else run: kb build)." >&2
fi
exec streamlit run app.py --server.address "$host" --server.port "$port" "$@"
