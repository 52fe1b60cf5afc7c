"""OCR of scanned copies of the demo corpus: seconds per page and word agreement.

    python benchmarks/bench_ocr.py [CORPUS_DIR] [--jobs 1,2] [--scan fair|poor]
                                   [--routes kb,pytesseract] [--rotate retry|always|never]
                                   [--no-deskew] [--pages N]

Each PDF is "scanned" by ``tests/scans.py`` (PDFium render, greyscale, skew,
blur, noise, JPEG, image-only PDF), then OCR'd:

- ``kb``: :func:`kb.ocr.ocr_pdf` (OCRmyPDF + Tesseract ``fra``), once per
  ``--jobs`` value; agreement is measured on the text kb indexes (kb's
  extraction and cleaning of the OCR'd PDF against those of the original).
- ``pytesseract``: PDFium renders of the scan at its resolution, Tesseract
  through pytesseract (one page at a time, ``OMP_THREAD_LIMIT=1``); plain text,
  no PDF, so its agreement is on raw page text (as is the ``raw`` column of kb).

Agreement is the share of the original's words of four letters or more (with
their repetitions) found in the OCR text: ``fold`` after case and accent
folding, ``exact`` with accents. CPU seconds count this process and its
children (Tesseract); wall seconds depend on what else the machine runs, so
the load average is printed too.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from scans import ScanSettings, scanned_pdf  # noqa: E402

SCANS = {
    "fair": ScanSettings(dpi=200, angle=1.0, noise=12, blur=0.6, jpeg_quality=60),
    "poor": ScanSettings(dpi=150, angle=1.5, noise=20, blur=0.8, jpeg_quality=35),
}
_WORD = re.compile(r"[^\W\d_]{4,}")


def fold(text: str) -> str:
    """Lower case without accents."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


def words(text: str, accents: bool = True) -> Counter:
    """Words of 4+ letters, with their counts (line-end hyphen marks dropped, apostrophes unified)."""
    text = unicodedata.normalize("NFC", text).replace("\ufffe", "").replace("\u00ad", "").replace("’", "'")
    return Counter(_WORD.findall(text.lower() if accents else fold(text)))


def agreement(reference: str, ocr: str, accents: bool = True) -> float:
    """Share of the reference's words (with repetitions) that the OCR text has too."""
    ref, got = words(reference, accents), words(ocr, accents)
    total = sum(ref.values())
    return sum(min(n, got[w]) for w, n in ref.items()) / total if total else 1.0


def kb_text(path: Path) -> str:
    from kb.clean import clean_document
    from kb.extract import extract_pdf

    return "\n".join(b.text for b in clean_document(extract_pdf(path), path).blocks)


def raw_text(path: Path) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_kb(scan: Path, out: Path, jobs: int, args) -> tuple[float, float, float | None]:
    """OCR ``scan`` with kb; (wall seconds, CPU seconds, mean confidence)."""
    from kb.ocr import OcrSettings, ocr_pdf

    settings = OcrSettings(jobs=jobs, deskew=not args.no_deskew, rotate=args.rotate)
    cpu, start = cpu_seconds(), time.perf_counter()
    result = ocr_pdf(scan, out, settings=settings)
    return time.perf_counter() - start, cpu_seconds() - cpu, result.mean_confidence


def run_pytesseract(scan: Path, dpi: int) -> tuple[float, float, str]:
    """OCR every page of ``scan`` with pytesseract on PDFium renders; (wall, CPU, text)."""
    import pypdfium2 as pdfium
    import pytesseract

    os.environ["OMP_THREAD_LIMIT"] = "1"  # Tesseract's OpenMP threads only fight over 2 cores
    cpu, start = cpu_seconds(), time.perf_counter()
    pdf = pdfium.PdfDocument(str(scan))
    try:
        texts = [pytesseract.image_to_string(pdf[i].render(scale=dpi / 72, grayscale=True).to_pil(), lang="fra")
                 for i in range(len(pdf))]
    finally:
        pdf.close()
    return time.perf_counter() - start, cpu_seconds() - cpu, "\n".join(texts)


def bench_document(src: Path, folder: Path, args) -> list[dict]:
    """Scan one PDF, OCR it by every route asked for; one row per route and job count."""
    settings = SCANS[args.scan]
    pages = list(range(1, args.pages + 1)) if args.pages else None
    scan = scanned_pdf(src, folder / f"{src.stem}.scan.pdf", pages, settings)
    reference = reference_text(src, pages)
    n = len(pages) if pages else reference["pages"]
    rows = []
    for route in args.routes:
        for jobs in (args.jobs if route == "kb" else [1]):
            row = {"doc": src.stem, "route": route, "jobs": jobs, "pages": n}
            if route == "kb":
                out = folder / f"{src.stem}.ocr{jobs}.pdf"
                wall, cpu, conf = run_kb(scan, out, jobs, args)
                text, raw = kb_text(out), raw_text(out)
                row.update(fold=agreement(reference["kb"], text, False), exact=agreement(reference["kb"], text),
                           raw=agreement(reference["raw"], raw, False), conf=conf)
            else:
                wall, cpu, raw = run_pytesseract(scan, settings.dpi)
                row.update(fold=None, exact=None, raw=agreement(reference["raw"], raw, False), conf=None)
            row.update(wall=wall / n, cpu=cpu / n)
            rows.append(row)
            print(format_row(row), flush=True)
    return rows


def reference_text(src: Path, pages: list[int] | None) -> dict:
    """The born-digital text of ``src`` (only ``pages`` if given): kb's and PDFium's raw text."""
    import pypdfium2 as pdfium

    if pages:
        part = Path(tempfile.mkdtemp()) / src.name
        out, pdf = pdfium.PdfDocument.new(), pdfium.PdfDocument(str(src))
        out.import_pages(pdf, [p - 1 for p in pages])
        out.save(str(part))
        src = part
    pdf = pdfium.PdfDocument(str(src))
    count = len(pdf)
    pdf.close()
    return {"kb": kb_text(src), "raw": raw_text(src), "pages": count}


def format_row(row: dict) -> str:
    def pct(v):
        return f"{100 * v:6.1f}" if v is not None else "     –"

    conf = f"{row['conf']:5.1f}" if row["conf"] is not None else "    –"
    return (f"{row['doc'][:44]:<45}{row['route']:<12}{row['jobs']:>4}{row['pages']:>6}"
            f"{row['wall']:>8.2f}{row['cpu']:>8.2f}{pct(row['fold'])}{pct(row['exact'])}{pct(row['raw'])}{conf:>7}")


def weighted_mean(rows: list[dict], key: str) -> float | None:
    """Mean of ``key`` over ``rows``, each row weighing its number of pages."""
    vals = [(r[key], r["pages"]) for r in rows if r[key] is not None]
    return sum(v * p for v, p in vals) / sum(p for _, p in vals) if vals else None


def summary(rows: list[dict]) -> None:
    print()
    for route in dict.fromkeys(r["route"] for r in rows):
        for jobs in dict.fromkeys(r["jobs"] for r in rows if r["route"] == route):
            sel = [r for r in rows if r["route"] == route and r["jobs"] == jobs]
            total = {"doc": "ALL (page-weighted)", "route": route, "jobs": jobs,
                     "pages": sum(r["pages"] for r in sel),
                     **{k: weighted_mean(sel, k) for k in ("wall", "cpu", "fold", "exact", "raw", "conf")}}
            print(format_row(total))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default="corpus")
    parser.add_argument("--jobs", default="1,2", help="OCR jobs to measure, e.g. 1,2")
    parser.add_argument("--scan", choices=sorted(SCANS), default="fair")
    parser.add_argument("--routes", default="kb", help="kb and/or pytesseract, comma-separated")
    parser.add_argument("--rotate", choices=("retry", "always", "never"), default="retry")
    parser.add_argument("--no-deskew", action="store_true")
    parser.add_argument("--pages", type=int, default=0, help="only the first N pages of each PDF")
    args = parser.parse_args()
    args.jobs = [int(j) for j in args.jobs.split(",")]
    args.routes = args.routes.split(",")
    files = sorted(Path(args.corpus).rglob("*.pdf"))
    print(f"{len(files)} PDFs in {args.corpus}; scan {args.scan}: {SCANS[args.scan]}; "
          f"deskew {not args.no_deskew}, rotate {args.rotate}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'document':<45}{'route':<12}{'jobs':>4}{'pages':>6}{'wall/p':>8}{'cpu/p':>8}"
          f"{'fold%':>6}{'exact%':>6}{'raw%':>6}{'conf':>7}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ocr-") as tmp:
        for src in files:
            rows += bench_document(src, Path(tmp), args)
    summary(rows)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
