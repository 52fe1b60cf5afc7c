"""Extractors side by side on a corpus: time and glued words (tokens of 23+ letters).

    python benchmarks/bench_extract.py [CORPUS_DIR]

pypdf glues the words of some lines of LaTeX-made PDFs; PDFium (pypdfium2) does
not. "kb" is the whole kb extraction + cleaning stage, for its cost.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

GLUED = re.compile(r"[^\W\d_]{23,}")


def pypdf_pages(path: Path) -> list[str]:
    import pypdf

    return [p.extract_text() or "" for p in pypdf.PdfReader(path).pages]


def pdfium_pages(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        return [page.get_textpage().get_text_range() for page in pdf]
    finally:
        pdf.close()


def kb_pages(path: Path) -> list[str]:
    from kb.clean import clean_document
    from kb.extract import extract_pdf

    return [b.text for b in clean_document(extract_pdf(path), path).blocks]


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    files = sorted(corpus.rglob("*.pdf"))
    print(f"{len(files)} PDFs in {corpus}")
    print(f"{'extractor':<22}{'seconds':>9}{'glued tokens':>14}  examples")
    for name, fn in (("pypdf", pypdf_pages), ("pypdfium2 (raw text)", pdfium_pages), ("kb extract+clean", kb_pages)):
        fn(files[0])  # warm imports
        t = time.perf_counter()
        glued: list[str] = []
        for f in files:
            for text in fn(f):
                glued += [w for w in GLUED.findall(text)]
        seconds = time.perf_counter() - t
        print(f"{name:<22}{seconds:>9.3f}{len(glued):>14}  {', '.join(glued[:2])}")


if __name__ == "__main__":
    main()
