"""Scanned versus born-digital: the same queries against the demo corpus and against its scans.

    python benchmarks/bench_scanned.py [--scan fair|poor] [--model e5]

Every demo PDF is rendered to page images as a scanner would make them
(`tests/scans.py`: greyscale, slight skew, noise, blur, JPEG) and saved as an
image-only PDF; both corpora are built with the same model, the scanned one
through OCR; every judged query set is evaluated on both, side by side
(success@1, success@5, MRR@10; mandates success@1, success@3, MRR@5), with
the OCR time.
"""
from __future__ import annotations

import argparse
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
from kb.embed import load_embedder  # noqa: E402
from kb.evaluate import evaluate_mandates, evaluate_search, load_qrels, qrels_kind  # noqa: E402
from kb.session import KnowledgeBase  # noqa: E402
from kb.store import load_index  # noqa: E402

SETS = ["dev_search", "search_queries", "tune_search", "heldout_search", "dev_mandates", "mandate_queries",
        "tune_mandates", "heldout_mandates"]
SCANS = {"fair": ScanSettings(), "poor": ScanSettings(dpi=150, angle=1.5, noise=20, blur=0.8, jpeg_quality=35)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scan", choices=sorted(SCANS), default="fair")
    ap.add_argument("--model", default="e5")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kb-scanned-"))
    try:
        (work / "scans").mkdir()
        for pdf in sorted((ROOT / "corpus").glob("*.pdf")):
            scanned_pdf(pdf, work / "scans" / pdf.name, settings=SCANS[args.scan])
        embedder = load_embedder(args.model)
        start = time.perf_counter()
        build_index(ROOT / "corpus", work / "digital", embedder)
        digital_s = time.perf_counter() - start
        start = time.perf_counter()
        report = build_index(work / "scans", work / "scanned", embedder)
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


if __name__ == "__main__":
    main()
