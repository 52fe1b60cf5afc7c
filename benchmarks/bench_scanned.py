"""Scanned versus born-digital: the same queries against the demo corpus and against its scans.

    python benchmarks/bench_scanned.py [--scan fair|poor] [--model e5] [--cache DIR]

Every demo PDF is rendered to page images as a scanner would make them
(`tests/scans.py`: greyscale, slight skew, noise, blur, JPEG) and saved as an
image-only PDF; both corpora are built with the same model, the scanned one
through OCR; every judged query set is evaluated on both, side by side
(success@1, success@5, MRR@10; mandates success@1, success@3, MRR@5), with
the OCR time.

Each run builds both indexes in a temporary folder, so the scans are OCR'd
again every time (several minutes on 2 cores). With ``--cache DIR`` the scans and
their OCR'd copies are kept in ``DIR/<scan>/`` between runs (the scans keyed by
the corpus's content and the scan settings, the copies by content hash and OCR
settings, as in any index), so a run after a change to cleaning re-reads the
OCR'd PDFs without OCR'ing them again.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from scans import ScanSettings, scanned_pdf  # noqa: E402

from kb.build import build_index  # noqa: E402
from kb.digest import file_sha256  # noqa: E402
from kb.embed import load_embedder  # noqa: E402
from kb.evaluate import evaluate_mandates, evaluate_search, load_qrels, qrels_kind  # noqa: E402
from kb.session import KnowledgeBase  # noqa: E402
from kb.store import OCR_CACHE, load_index  # noqa: E402

SETS = ["dev_search", "search_queries", "tune_search", "heldout_search", "dev_mandates", "mandate_queries",
        "tune_mandates", "heldout_mandates"]
SCANS = {"fair": ScanSettings(), "poor": ScanSettings(dpi=150, angle=1.5, noise=20, blur=0.8, jpeg_quality=35)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scan", choices=sorted(SCANS), default="fair")
    ap.add_argument("--model", default="e5")
    ap.add_argument("--cache", type=Path, help="keep the OCR'd copies here between runs")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kb-scanned-"))
    try:
        scans = _scans(args.scan, args.cache / args.scan if args.cache else work)
        embedder = load_embedder(args.model)
        start = time.perf_counter()
        build_index(ROOT / "corpus", work / "digital", embedder)
        digital_s = time.perf_counter() - start
        start = time.perf_counter()
        report = _build(scans, work / "scanned", embedder, args.cache and args.cache / args.scan)
        scanned_s = time.perf_counter() - start
        pages = sum(len(d["pages"]) for d in report.ocr)
        print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {args.scan} scans; model {embedder.model_id}")
        print(f"Build: born-digital {digital_s:.0f} s; scanned {scanned_s:.0f} s ({pages} pages OCR'd, "
              f"{len(report.skipped)} skipped, mean confidence "
              f"{sum(d['confidence'] for d in report.ocr) / max(len(report.ocr), 1):.1f})\n")
        kbs = {name: KnowledgeBase(load_index(work / name), embedder) for name in ("digital", "scanned")}
        print(f"{'query set':<22}{'n':>4}  {'born-digital':>22}  {'scanned':>22}")
        for name in SETS:
            rows = load_qrels(ROOT / "eval" / f"{name}.jsonl")
            cells = []
            for kb in kbs.values():
                rep = evaluate_mandates(kb, rows) if qrels_kind(rows) == "mandates" else evaluate_search(kb, rows)
                cells.append(" ".join(f"{v:.3f}" for v in list(rep.metrics.values())[:3]))
            print(f"{name:<22}{len(rows):>4}  {cells[0]:>22}  {cells[1]:>22}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _scans(scan: str, folder: Path) -> Path:
    """The demo corpus scanned with the ``scan`` settings, in a folder of ``folder`` named after
    the corpus's content and the settings (made once: a scan's PDF bytes carry its date)."""
    pdfs = sorted((ROOT / "corpus").glob("*.pdf"))
    key = hashlib.sha256(repr((SCANS[scan], [file_sha256(p) for p in pdfs])).encode()).hexdigest()[:12]
    out = folder / f"scans-{key}"
    if not out.is_dir():
        tmp = folder / f".scans-{key}.{os.getpid()}"
        tmp.mkdir(parents=True)
        for pdf in pdfs:
            scanned_pdf(pdf, tmp / pdf.name, settings=SCANS[scan])
        os.replace(tmp, out)
    return out


def _build(corpus: Path, index: Path, embedder, cache: Path | None):
    """build_index, with the OCR'd copies taken from and put back in ``cache``."""
    saved, live = (cache / OCR_CACHE, index / OCR_CACHE) if cache else (None, None)
    if saved is not None and saved.is_dir():
        shutil.copytree(saved, live)
    report = build_index(corpus, index, embedder)
    if saved is not None and live.is_dir():
        shutil.rmtree(saved, ignore_errors=True)
        shutil.copytree(live, saved)
    return report


if __name__ == "__main__":
    main()
