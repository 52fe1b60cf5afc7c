"""OCR'd pages read like born-digital ones: headings cited as sections, mandates with their titles.

OCRmyPDF's text layer has no bold and sizes about 0.73 of the printed ones,
varying line by line; :mod:`kb.scanlayout` restores the printed sizes and reads
bold from the ink. One scanned page (about 10 s of Tesseract on 2 cores) is
read through the whole per-document chain and compared with its born-digital
original; the size rules are also checked on their own, without Tesseract.
"""
from __future__ import annotations

import pytest
from pdfs import Heading, Para, make_pdf, prose
from scans import scanned_pdf

from kb.chunk import ChunkSettings
from kb.digest import file_sha256
from kb.document import read_document
from kb.ocr import OcrOptions, ocr_available
from kb.records import Line
from kb.scanlayout import _body_size, _level_sizes, _snap_body

MISSING = ocr_available()
needs_tesseract = pytest.mark.skipif(MISSING is not None, reason=f"OCR tests skipped: {MISSING}")

# Titles over 10 words: a mandate title must be found as a heading, not as a short line before the fields.
TITLES = ["Soutien à la révision de la politique culturelle et de son plan de travail",
          "Planification stratégique du comité de la jeunesse et de ses partenaires"]


def _portfolio(path):
    """One page: a large heading over prose, then two mandates whose titles are bold, 1.2 times the body size."""
    return make_pdf(path, [[
        Heading("Nos accompagnements municipaux", size=15), prose("culture", 4),
        Heading(TITLES[0], size=12), Para(["Année : 2022-2024 (en cours)"]), Para(["Mandataire : Ville de Joliette"]),
        Para(["Description"], bold=True), prose("politique culturelle", 5),
        Heading(TITLES[1], size=12), Para(["Année : 2023-2024"]), Para(["Mandataire : MRC des Chenaux"]),
        Para(["Description"], bold=True), prose("jeunesse", 5),
    ]], page_numbers=False, body_size=10)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The portfolio read born-digital and from its scan (through OCR)."""
    folder = tmp_path_factory.mktemp("layout")
    digital = _portfolio(folder / "portfolio.pdf")
    scan = scanned_pdf(digital, folder / "portfolio-numerise.pdf")
    settings = ChunkSettings()
    ocr = OcrOptions(cache_dir=folder / "ocr")
    return (read_document(digital, "portfolio.pdf", file_sha256(digital), settings, ocr),
            read_document(scan, "portfolio-numerise.pdf", file_sha256(scan), settings, ocr))


@needs_tesseract
def test_a_scanned_portfolio_yields_its_mandates_with_titles(both):
    digital, scanned = both
    assert scanned.document.ocr_pages == (1,)
    assert [m.title for m in digital.mandates] == TITLES
    assert [m.title for m in scanned.mandates] == TITLES
    assert [m.client for m in scanned.mandates] == ["Ville de Joliette", "MRC des Chenaux"]


@needs_tesseract
def test_headings_of_a_scanned_page_are_cited_as_sections(both):
    digital, scanned = both
    sections = [c.section for c in scanned.chunks]
    assert [c.section for c in digital.chunks] == sections
    assert any(TITLES[0] in s for s in sections) and any(TITLES[1] in s for s in sections)


def _line(size: float, y: float, bold: bool = False, text: str = "une ligne de texte courant") -> Line:
    return Line(text, size, bold, 72.0, 520.0, y)


def test_ocr_sizes_of_body_lines_snap_to_one_body_size():
    # Rescaled OCR sizes of 11-point text come in scan-pixel steps around 11; a tall accented
    # capital makes one line of a paragraph look 14.
    lines = [_line(s, 700 - 14 * i) for i, s in enumerate([10.9, 11.4, 10.4, 14.0, 10.9, 11.4])]
    body = _body_size(lines)
    snapped = _snap_body(lines, body, 11.0)
    assert {ln.size for ln in snapped} == {11.0}


def test_a_bold_line_a_size_above_the_body_is_a_heading_size():
    lines = [_line(10.9, 700), _line(11.9, 670, bold=True), _line(11.9, 640), _line(10.9, 626)]
    snapped = _snap_body(lines, 11.0, 11.0)
    assert [ln.size for ln in snapped] == [11.0, 11.9, 11.0, 11.0]  # a regular line that large is body text
    levels = _level_sizes([11.9, 12.4, 15.9, 16.4], 11.0)
    assert levels[11.9] == levels[12.4] == 12.5 and levels[15.9] == levels[16.4] == 16.0
