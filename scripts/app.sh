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
  echo "Pas encore d'index : la première visite de http://$host:$port le construit à partir de $KB_CORPUS/" >&2
  echo "(progression dans la page) pour qui peut écrire (cette machine, ou un administrateur quand un mot de" >&2
  echo "passe est configuré ; sinon lancez : kb build)." >&2
fi
echo "kb démarre : ouvrez http://$host:$port dans un navigateur (Ctrl-C pour arrêter)." >&2
exec streamlit run app.py --server.address "$host" --server.port "$port" "$@"
