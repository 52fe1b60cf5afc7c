"""Scanned documents through the whole build: cited, searchable, cached, and reported.

A scanned copy of the fiche (2 pages) and a mixed PDF (the chantiers report's
pages 1–3 with page 2 scanned) are built with the real OCR engine; the OCR'd
pages are cited page by page, the OCR'd copy is cached by content hash (a full
rebuild OCRs nothing again), and without the engine the build still works and
says what to install.
"""
from __future__ import annotations

import json
import shutil

import pytest
from conftest import DEMO_CORPUS, ROOT, CountingEmbedder
from scans import ScanSettings, mixed_pdf, scanned_pdf

from kb.build import BuildOptions, build_index
from kb.cli import main
from kb.embed import HashEmbedder
from kb.ocr import ocr_available
from kb.passages import SearchOptions
from kb.session import KnowledgeBase
from kb.store import load_index, ocr_cache_dir, read_status
from kb.workers import ReadLimits
from streamlit.runtime.memory_media_file_storage import _calculate_file_id

FICHE = DEMO_CORPUS / "fiche-atelier-cadres-strategiques-municipaux.pdf"
CHANTIERS = DEMO_CORPUS / "chantiers-partenariaux-coconstruction-2017.pdf"
MISSING = ocr_available()
needs_tesseract = pytest.mark.skipif(MISSING is not None, reason=f"OCR tests skipped: {MISSING}")


@pytest.fixture(scope="module")
def scanned_corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scans") / "corpus"
    folder.mkdir()
    scanned_pdf(FICHE, folder / "fiche-numerisee.pdf", pages=[1, 2], settings=ScanSettings(dpi=200))
    import pypdfium2 as pdfium

    src = pdfium.PdfDocument(str(CHANTIERS))
    first = pdfium.PdfDocument.new()
    first.import_pages(src, [0, 1, 2])
    first.save(str(folder.parent / "chantiers-3.pdf"))
    mixed_pdf(folder.parent / "chantiers-3.pdf", folder / "chantiers-mixte.pdf", {2}, ScanSettings(dpi=200))
    return folder


def downloaded_file_id(monkeypatch, index, corpus, query: str, doc: str) -> str:
    """The app's « Télécharger le PDF » under the first result's page preview: the id of the file it serves."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("KB_INDEX", str(index))
    monkeypatch.setenv("KB_CORPUS", str(corpus))
    monkeypatch.setenv("KB_EMBEDDER", "hash")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(q=query, doc=doc)
    at.run()
    at.toggle[0].set_value(True).run()
    assert not at.exception
    return at.get("download_button")[0].proto.url.rsplit("/", 1)[-1].split(".")[0]


@needs_tesseract
def test_scanned_and_mixed_pdfs_are_read_cited_and_cached(scanned_corpus, tmp_path, capsys, monkeypatch):
    index = tmp_path / "index"
    stages = []
    report = build_index(scanned_corpus, index, HashEmbedder(), progress=lambda s, d, t: stages.append((s, d, t)))
    assert report.skipped == () and report.documents == 2
    by_path = {d["path"]: d for d in report.ocr}
    assert by_path["fiche-numerisee.pdf"]["pages"] == [1, 2]
    assert by_path["chantiers-mixte.pdf"]["pages"] == [2]  # the text pages keep their own text
    assert all(d["confidence"] > 75 and d["lang"] == "fr" for d in report.ocr)
    assert ("ocr", 3, 3) in stages  # progress: pages OCR'd out of pages to OCR

    kb = KnowledgeBase(load_index(index), HashEmbedder())
    hits = kb.search("pérennisant", SearchOptions(k=3, doc="fiche-numerisee")).hits  # a word of page 2 only
    assert hits and hits[0].chunk.page == 2 and "pérennisant" in hits[0].chunk.text
    docs = {d.path: d for d in kb.index.documents}
    assert docs["chantiers-mixte.pdf"].ocr_pages == (2,) and docs["chantiers-mixte.pdf"].pages == 3
    pages = {c.page for c in kb.index.chunks if c.path == "chantiers-mixte.pdf"}
    assert {1, 2, 3} <= pages or {2, 3} <= pages  # the scanned page 2 is cited as page 2

    assert [s.path for s in read_status(index).skipped] == []
    assert {d["path"] for d in read_status(index).ocr} == {"fiche-numerisee.pdf", "chantiers-mixte.pdf"}
    assert main(["status", "--index", str(index)]) == 0
    assert "OCR : fiche-numerisee.pdf — 2 page(s) reconnue(s)" in capsys.readouterr().out

    cached = sorted(p.name for p in ocr_cache_dir(index).glob("*.pdf"))
    assert len(cached) == 2
    # The page preview draws a scanned page from the OCR'd copy; the download is the corpus's own file.
    original = (scanned_corpus / "fiche-numerisee.pdf").read_bytes()
    assert downloaded_file_id(monkeypatch, index, scanned_corpus, "pérennisant", "fiche-numerisee") == (
        _calculate_file_id(original, "application/pdf", "fiche-numerisee.pdf"))
    stages.clear()
    again = build_index(scanned_corpus, index, CountingEmbedder(), BuildOptions(full=True),
                        progress=lambda s, d, t: stages.append((s, d, t)))
    assert again.documents == 2 and not [s for s in stages if s[0] == "ocr"]  # nothing OCR'd twice
    assert sorted(p.name for p in ocr_cache_dir(index).glob("*.pdf")) == cached
    (scanned_corpus / "fiche-numerisee.pdf").rename(tmp_path / "away.pdf")
    build_index(scanned_corpus, index, HashEmbedder())
    assert len(list(ocr_cache_dir(index).glob("*.pdf"))) == 1  # the removed file's copy is pruned
    (tmp_path / "away.pdf").rename(scanned_corpus / "fiche-numerisee.pdf")


def test_without_the_engine_the_build_works_and_says_what_to_install(scanned_corpus, tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    corpus = tmp_path / "corpus"
    shutil.copytree(scanned_corpus, corpus)
    report = build_index(corpus, tmp_path / "index", HashEmbedder(), BuildOptions(limits=ReadLimits(workers=-1)))
    reasons = {s.path: s.reason for s in report.skipped}
    assert reasons["fiche-numerisee.pdf"].startswith("no text layer: needs OCR: install tesseract-ocr")
    mixed = {d["path"]: d for d in report.ocr}["chantiers-mixte.pdf"]
    assert mixed["unread_pages"] == [2] and mixed["pages"] == []  # its text pages are indexed


def test_no_ocr_option(scanned_corpus, tmp_path, capsys):
    code = main(["build", "--no-ocr", "--json", "--corpus", str(scanned_corpus), "--index", str(tmp_path / "i"),
                 "--model", "hash"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and [s["path"] for s in out["skipped"]] == ["fiche-numerisee.pdf"]
    assert "--no-ocr" in out["skipped"][0]["reason"]


def test_cores_left_free_by_the_workers_ocr_pages_in_parallel():
    from kb.workers import ReadLimits

    assert ReadLimits(workers=2).ocr_jobs(1) == 2  # one scanned document on two cores: two pages at a time
    assert ReadLimits(workers=2).ocr_jobs(2) == 1  # two documents: one Tesseract each, never more than cores
    assert ReadLimits(workers=4).ocr_jobs(3) == 1 and ReadLimits(workers=8).ocr_jobs(3) == 2


@needs_tesseract
def test_a_blank_scanned_page_does_not_cost_the_documents_text_pages(tmp_path):
    """OCR reads no word on the one scanned page (a blank): the text pages are indexed, the page reported."""
    import pypdfium2 as pdfium
    from pdfs import Para, make_pdf

    blank = scanned_pdf(make_pdf(tmp_path / "blank.pdf", [[Para(["."])]], page_numbers=False),
                        tmp_path / "blank-scan.pdf", settings=ScanSettings(dpi=100))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text, scan, out = pdfium.PdfDocument(str(CHANTIERS)), pdfium.PdfDocument(str(blank)), pdfium.PdfDocument.new()
    out.import_pages(text, [0])
    out.import_pages(scan, [0])
    out.import_pages(text, [1])
    out.save(str(corpus / "rapport.pdf"))
    for pdf in (text, scan, out):
        pdf.close()
    report = build_index(corpus, tmp_path / "index", HashEmbedder(), BuildOptions())
    assert not report.skipped and report.chunks > 0
    assert {d["path"]: d for d in report.ocr}["rapport.pdf"]["unread_pages"] == [2]
