"""OCR stage: which pages need OCR, French OCR of scanned pages, a missing engine.

Detection runs on every machine. The tests that run Tesseract OCR five small
pages in all (about 20 s on 2 cores) and are skipped, with the reason, where
Tesseract or its French model is not installed.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DEMO_CORPUS
from pdfs import Para, make_pdf, prose
from scans import (ScanSettings, images_to_pdf, mixed_pdf, scan_image, scanned_pdf,
                   stray_text_scan, unmapped_font_pdf)

from kb.errors import ExtractionError
from kb.extract import extract_pdf
from kb.messages import french_reason
from kb.ocr import (OcrResult, OcrSettings, PageOcr, inspect_pages, ocr_available, ocr_pdf,
                    pages_needing_ocr)

FICHE = DEMO_CORPUS / "fiche-atelier-cadres-strategiques-municipaux.pdf"
# Distinctive words of the fiche's page 2 (accents included), to find in its OCR.
FICHE_P2_WORDS = ["cohésion", "Victoriaville", "pérennisant", "appartenance", "recomposée", "aînée"]

MISSING = ocr_available()
needs_tesseract = pytest.mark.skipif(MISSING is not None, reason=f"OCR tests skipped: {MISSING}")


def _page_texts(path: Path) -> list[str]:
    return [" ".join(line.text for line in page.lines) for page in extract_pdf(path).pages]


# ------------------------------------------------------------------ detection

def test_born_digital_pdf_needs_no_ocr():
    assert pages_needing_ocr(FICHE) == []


def test_image_only_pdf_needs_ocr_on_every_page(tmp_path):
    scan = scanned_pdf(FICHE, tmp_path / "scan.pdf", pages=[1, 2], settings=ScanSettings(dpi=100))
    assert pages_needing_ocr(scan) == [1, 2]
    assert {p.reason for p in inspect_pages(scan)} == {"no text layer"}


def test_mixed_pdf_needs_ocr_on_exactly_its_scanned_pages(tmp_path):
    mixed = mixed_pdf(FICHE, tmp_path / "mixed.pdf", {2, 4}, ScanSettings(dpi=100))
    checks = inspect_pages(mixed)
    assert [p.number for p in checks if p.reason] == [2, 4]
    assert all(p.chars > 1000 for p in checks if not p.reason)  # the text pages keep their text


def test_stray_text_over_a_scan_needs_ocr(tmp_path):
    page = stray_text_scan(FICHE, tmp_path / "stamped.pdf", 2, settings=ScanSettings(dpi=100))
    (check,) = inspect_pages(page)
    assert check.reason == "stray characters over a full-page image"
    assert 20 < check.chars < 60 and check.image_coverage > 0.95


def test_letter_soup_page_needs_ocr(tmp_path):
    (check,) = inspect_pages(unmapped_font_pdf(tmp_path / "soup.pdf"))
    assert check.reason == "letter soup"


def test_blank_page_and_short_text_page_need_nothing(tmp_path):
    path = make_pdf(tmp_path / "short.pdf", [[], [Para(["Annexe A"])]], page_numbers=False)
    assert pages_needing_ocr(path) == []


def test_detection_of_a_damaged_file_raises_the_usual_reason(tmp_path):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4\n garbage \n%%EOF\n")
    with pytest.raises(ExtractionError, match="corrupt PDF"):
        pages_needing_ocr(bad)


# -------------------------------------------------------------- missing engine

def test_missing_tesseract_is_reported_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on this PATH
    reason = ocr_available()
    assert reason is not None and reason.startswith("needs OCR: install ")
    assert "\n" not in reason


def test_ocr_without_engine_raises_that_reason_and_writes_nothing(tmp_path, monkeypatch):
    scan = scanned_pdf(FICHE, tmp_path / "scan.pdf", pages=[1], settings=ScanSettings(dpi=100))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ExtractionError, match="^needs OCR: install ") as err:
        ocr_pdf(scan, tmp_path / "out.pdf")
    assert err.value.reason == ocr_available()
    assert not (tmp_path / "out.pdf").exists()


@needs_tesseract
def test_missing_language_model_is_named():
    assert ocr_available("xyz") == "needs OCR: install tesseract-ocr-xyz (Tesseract has no 'xyz' model)"


def test_a_pdf_that_needs_no_ocr_is_copied(tmp_path):
    result = ocr_pdf(FICHE, tmp_path / "copy.pdf")
    assert result.pages == () and (tmp_path / "copy.pdf").read_bytes() == FICHE.read_bytes()


def test_result_round_trips_through_json():
    result = OcrResult((PageOcr(2, 500, 93.4), PageOcr(5, 0, None), PageOcr(6, 100, 62.0)), 7.5, ("w",))
    assert OcrResult.from_json(result.to_json()) == result
    assert result.pages_ocred == (2, 5, 6)
    assert result.low_confidence_pages() == (5, 6)
    assert result.mean_confidence == pytest.approx((500 * 93.4 + 100 * 62.0) / 600)


def test_settings_are_checked_and_fingerprinted():
    assert OcrSettings().fingerprint() == "v1-fra-deskew-retry"
    with pytest.raises(ValueError):
        OcrSettings(rotate="sometimes")


# ------------------------------------------------------------------- real OCR

@pytest.fixture(scope="module")
def ocred_mixed(tmp_path_factory) -> tuple[Path, Path, OcrResult]:
    """The fiche with its page 2 scanned (200 dpi, 1° skew, noise, JPEG), then OCR'd."""
    folder = tmp_path_factory.mktemp("ocr")
    mixed = mixed_pdf(FICHE, folder / "mixed.pdf", {2})
    out = folder / "mixed-ocr.pdf"
    return mixed, out, ocr_pdf(mixed, out)


@needs_tesseract
def test_ocr_reads_the_scanned_page_in_french(ocred_mixed):
    _, out, result = ocred_mixed
    assert result.pages_ocred == (2,)
    text = _page_texts(out)[1]
    missing = [w for w in FICHE_P2_WORDS if w not in text]
    assert not missing, f"not found in the OCR text: {missing}\n{text[:600]}"
    (page,) = result.pages
    assert page.words > 300 and page.confidence > 85
    assert result.low_confidence_pages() == ()


@needs_tesseract
def test_ocr_leaves_the_text_pages_as_they_were(ocred_mixed):
    mixed, out, _ = ocred_mixed
    before, after = _page_texts(mixed), _page_texts(out)
    assert [before[i] for i in (0, 2, 3)] == [after[i] for i in (0, 2, 3)]
    assert pages_needing_ocr(out) == []


@needs_tesseract
def test_ocr_replaces_letter_soup_with_the_words_on_the_page(tmp_path):
    soup = unmapped_font_pdf(tmp_path / "soup.pdf")
    result = ocr_pdf(soup, tmp_path / "read.pdf")
    text = _page_texts(tmp_path / "read.pdf")[0]
    assert result.pages_ocred == (1,)
    assert "gouvernance partagée" in text and "responsabilités" in text


@needs_tesseract
def test_a_sideways_scan_is_turned_upright(tmp_path):
    src = make_pdf(tmp_path / "short.pdf", [[prose("culture", 6)]], page_numbers=False)
    settings = ScanSettings(dpi=150)
    sideways = scan_image(src, 1, settings).rotate(90, expand=True)
    scan = images_to_pdf([sideways], tmp_path / "sideways.pdf", settings.dpi, settings.jpeg_quality)
    result = ocr_pdf(scan, tmp_path / "upright.pdf")
    assert "mobilisation et la participation" in _page_texts(tmp_path / "upright.pdf")[0]
    assert result.pages[0].confidence > 85


@needs_tesseract
def test_a_scan_with_no_text_raises(tmp_path):
    blank = make_pdf(tmp_path / "blank.pdf", [[Para(["."])]], page_numbers=False)
    scan = scanned_pdf(blank, tmp_path / "blank-scan.pdf", settings=ScanSettings(dpi=100))
    with pytest.raises(ExtractionError, match="^OCR found no text") as caught:
        ocr_pdf(scan, tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()
    # people read it in French, all of it (the skip list of `kb build` and of the Index page)
    assert french_reason(str(caught.value)) == ("la reconnaissance de caractères (OCR) n’a lu aucun mot "
                                                "sur 1 page(s) numérisée(s) (image sans texte ?)")


@needs_tesseract
def test_a_page_tesseract_cannot_finish_in_time_raises(tmp_path):
    scan = scanned_pdf(FICHE, tmp_path / "scan.pdf", pages=[2], settings=ScanSettings(dpi=100))
    with pytest.raises(ExtractionError, match="^OCR timed out") as caught:
        ocr_pdf(scan, tmp_path / "out.pdf", settings=OcrSettings(timeout=0.01))
    assert not (tmp_path / "out.pdf").exists()
    assert "Tesseract" not in french_reason(str(caught.value))


def test_pages_are_checked_against_the_document(tmp_path):
    with pytest.raises(ValueError, match="no page 9"):
        ocr_pdf(FICHE, tmp_path / "out.pdf", pages=[2, 9])
    with pytest.raises(ValueError, match="must differ"):
        ocr_pdf(FICHE, FICHE)
