#!/usr/bin/env bash
# Fetch a corpus of real French (and some English) documentation PDFs from Debian's
# packages, for benchmarks/real_corpus.py. Nothing is written inside the repository.
#
#   bash scripts/fetch_real_corpus.sh [CACHE_DIR] [PACKAGE...]
#
# CACHE_DIR defaults to $KB_REAL_CORPUS or ~/.cache/kb-real-corpus. Each package is
# downloaded once (apt-get download) into CACHE_DIR/debs/, unpacked (dpkg-deb -x) into
# CACHE_DIR/tree/PKG/, and every *.pdf (and *.pdf.gz, decompressed) it ships is
# collected into CACHE_DIR/pdfs/ as PKG__NAME.pdf. Running it again downloads nothing
# new. About 220 MB of packages, 108 PDFs (~6,000 pages).
set -euo pipefail

CACHE="${1:-${KB_REAL_CORPUS:-$HOME/.cache/kb-real-corpus}}"
shift || true
PACKAGES=("$@")
if [ ${#PACKAGES[@]} -eq 0 ]; then
    PACKAGES=(
        debian-reference-fr      # Debian Reference (DocBook → PDF via dblatex/xetex)
        maint-guide-fr           # Debian New Maintainers' Guide
        developers-reference-fr  # Debian Developer's Reference
        lilypond-doc-pdf-fr      # LilyPond manuals (texinfo → pdfTeX)
        texlive-lang-french      # documentation of the French LaTeX packages (many TeX-made PDFs)
        debian-edu-doc-fr        # Debian Edu manuals
        debian-edu-doc-legacy-fr # older Debian Edu manuals
        debian-faq-fr            # Debian FAQ (shipped as .pdf.gz)
        linuxcnc-doc-fr          # LinuxCNC manuals (asciidoc → dblatex)
        expeyes-doc-fr           # ExpEYES user manuals
        eyes17-manuals-fr        # ExpEYES-17 user manual (.pdf.gz)
        ubuntu-packaging-guide-pdf-fr  # Ubuntu packaging guide (.pdf.gz)
    )
fi

case "$CACHE" in
    "$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null || echo /nonexistent)"*)
        echo "refusing to write the corpus inside the repository: $CACHE" >&2; exit 2;;
esac

mkdir -p "$CACHE/debs" "$CACHE/tree" "$CACHE/pdfs"

if ! apt-cache show "${PACKAGES[0]}" >/dev/null 2>&1; then
    echo "apt lists are empty or stale: running apt-get update" >&2
    apt-get update -qq
fi

for pkg in "${PACKAGES[@]}"; do
    if ! ls "$CACHE/debs/${pkg}"_*.deb >/dev/null 2>&1; then
        if ! apt-cache show "$pkg" >/dev/null 2>&1; then
            echo "skip $pkg: no such package in this Debian release" >&2
            continue
        fi
        # As root, apt's _apt user cannot write into a private cache folder: download as root.
        sandbox=()
        [ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
        (cd "$CACHE/debs" && apt-get download -q "${sandbox[@]}" "$pkg" >/dev/null)
    fi
    deb=$(ls "$CACHE/debs/${pkg}"_*.deb | head -n 1)
    if [ ! -d "$CACHE/tree/$pkg" ]; then
        mkdir -p "$CACHE/tree/$pkg.partial"
        dpkg-deb -x "$deb" "$CACHE/tree/$pkg.partial"
        mv "$CACHE/tree/$pkg.partial" "$CACHE/tree/$pkg"
    fi
    count=0
    while IFS= read -r -d '' file; do
        base=$(basename "$file")
        name="${pkg}__${base%.gz}"
        dest="$CACHE/pdfs/$name"
        if [ ! -s "$dest" ]; then
            case "$file" in
                *.gz) gzip -dc "$file" > "$dest.partial" && mv "$dest.partial" "$dest";;
                *) cp "$file" "$dest";;
            esac
        fi
        count=$((count + 1))
    done < <(find "$CACHE/tree/$pkg" \( -name '*.pdf' -o -name '*.pdf.gz' \) -type f -print0 | sort -z)
    printf '%-26s %4d PDF(s)  %s\n' "$pkg" "$count" "$(du -h "$deb" | cut -f1)"
done

total=$(find "$CACHE/pdfs" -name '*.pdf' -type f | wc -l)
size=$(du -sh "$CACHE/pdfs" | cut -f1)
echo "$total PDFs ($size) in $CACHE/pdfs"
