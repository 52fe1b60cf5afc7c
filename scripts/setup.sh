#!/usr/bin/env bash
# Create .venv and install kb with what a front end needs. Idempotent and quick when
# nothing changed. Usage: scripts/setup.sh [app|test]
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-app}"
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=".venv/.kb-setup-$what-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing kb and its dependencies into .venv ($what)…" >&2
  log=.venv/setup.log
  {
    pip install --quiet --upgrade pip || true
    if [ "$what" = "test" ]; then
      # CPU torch first, or sentence-transformers pulls gigabytes of CUDA packages.
      pip install --quiet torch==2.13.0 && pip install --quiet -e ".[st,test]"
    else
      pip install --quiet -e .
    fi
  } > "$log" 2>&1 || { cat "$log" >&2; echo "Installation failed (log: $log)." >&2; exit 1; }
  touch "$stamp"
fi
