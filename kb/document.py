"""One PDF → its document record, passages and mandates: the per-document chain.

extract (PDFium; OCR'd pages given printed sizes and bold) → clean (layout,
hyphenation, headers) → language checks → chunk (passages with citations) →
mandates (records read from the blocks).
Everything a corpus file becomes is decided here, from its bytes alone, so the
build can run it anywhere (a worker process) and cache it by content hash.

Public entry point: :func:`read_document`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from .chunk import ChunkSettings, chunk_blocks
from .clean import CleanDocument, clean_document
from .errors import ExtractionError
from .extract import RawDocument, extract_pdf
from .language import detect_language, is_language, is_prose, passage_language
from .mandates import extract_mandates, with_mandate_endings
from .ocr import OcrOptions, cached_ocr, ocr_available, pages_needing_ocr
from .scanlayout import restyle_ocr_pages
from .records import Chunk, Document, Mandate

log = logging.getLogger(__name__)

# Bump when extraction, cleaning or mandate reading changes what a PDF turns into.
PIPELINE_VERSION = 11  # 2: mandates, heading and URL fixes; 3: two-column pages; 4: characters outside the BMP;
# 5: TeX accents recomposed, T1 codes and symbol fonts, tables of contents/indexes/bibliographies left out,
# running headers on 3 pages, letter soup by trigrams, passage languages only when sure, lines over 16,383 characters;
# 6: scanned pages OCR'd; 7: headings set on several lines joined; 8: what ends a mandate starts a section;
# 9: OCR'd pages' sizes rescaled to the printed ones and bold read from the ink (headings, mandate titles);
# 10: a document whose scanned pages OCR cannot read keeps its text pages (was skipped whole);
# 11: a mandate needs a client that names someone (no code, no markup, at most 20 words)
_MIN_CHARS_PER_PAGE = 10  # fewer on average, and no page of text (below): no text layer
_MIN_CHARS_TEXT_PAGE = 200  # a page with this many characters is text, however many blank pages surround it
_LANGUAGE_SAMPLE = 5000  # characters of prose, spread over the document, to tell its language

_DOC_TYPES = (
    ("portfolio", ("portfolio", "mandats")),
    ("fiche", ("fiche",)),
    ("cadre de référence", ("cadre de référence", "cadre de reference", "cadre-de-reference")),
    ("rapport", ("rapport", "bilan", "chantier")),
)


@dataclass(frozen=True)
class DocumentContent:
    """What one readable PDF yields.

    ``dropped`` counts the pages from which a table of contents (``toc``), an
    ``index`` or a ``bibliography`` was left out of the passages.
    """

    document: Document
    chunks: tuple[Chunk, ...]
    mandates: tuple[Mandate, ...]
    dropped: dict[str, int] = field(default_factory=dict)


def infer_doc_type(path: str, title: str) -> str:
    """A coarse document type read from the file name and title (« fiche », « portfolio »…)."""
    hay = f"{path} {title}".lower()
    for name, keys in _DOC_TYPES:
        if any(k in hay for k in keys):
            return name
    return "document"


def read_document(path: Path, rel: str, sha: str, settings: ChunkSettings,
                  ocr: OcrOptions | None = None) -> DocumentContent:
    """Extract (OCR'ing the scanned pages first), clean, check and chunk one PDF, and read its mandates.

    Args:
        path: the file to read.
        rel: its path relative to the corpus (what citations show).
        sha: the SHA-256 of its bytes (the document id is derived from it).
        settings: chunk sizes.
        ocr: whether and where to OCR scanned pages (None: never).

    Raises:
        ExtractionError: with the reason the file cannot be indexed.
    """
    raw, scan = _text_of(path, sha, ocr)
    _check_text_layer(raw)
    clean = clean_document(raw, path)
    full_text = "\n".join(b.text for b in clean.blocks)
    _check_readable(full_text, clean)
    lang = _document_language(clean)
    doc_id = sha[:12]
    passages = chunk_blocks(with_mandate_endings(clean.blocks), settings,
                            skip_headings=(clean.title, raw.metadata.get("Author", "")))
    chunks = tuple(Chunk(f"{doc_id}-{i:04d}", doc_id, rel, clean.title, p.page, p.page_end,
                         p.section, passage_language(p.text, lang), p.text) for i, p in enumerate(passages))
    doc = Document(doc_id, rel, clean.title, clean.year, lang, len(raw.pages), sha,
                   infer_doc_type(rel, clean.title), len(chunks), **scan)
    mandates = tuple(extract_mandates(clean.blocks, doc_id, rel))
    return DocumentContent(doc, chunks, mandates, dict(clean.dropped))


def _text_of(path: Path, sha: str, ocr: OcrOptions | None) -> tuple[RawDocument, dict]:
    """The PDF's text, from an OCR'd copy when some of its pages are scans; and what OCR did.

    Without OCR (turned off, or Tesseract missing) or when OCR reads nothing on
    them, a document made only of scans is skipped with the reason, and a mixed
    one is indexed from its text pages.
    """
    raw = extract_pdf(path)
    pages = pages_needing_ocr(path) if ocr is not None else []
    if not pages:
        return raw, {}
    missing = ocr_available(ocr.settings.language) if ocr.enabled else "needs OCR: kb build --no-ocr"
    if missing:
        if len(pages) == len(raw.pages):
            raise ExtractionError(f"no text layer: {missing}")
        return raw, {"unread_pages": tuple(pages)}
    try:
        copy, result = cached_ocr(path, sha, pages, ocr)
    except ExtractionError as exc:
        if len(pages) == len(raw.pages):
            raise
        log.info("%s: scanned pages %s left unread (%s)", path.name, pages, exc)
        # Tesseract read nothing on the scanned pages (a blank or a picture) or failed on them: the
        # document's text pages are still indexed (a 53-page guide was skipped for one blank page).
        return raw, {"unread_pages": tuple(pages)}
    conf = result.mean_confidence
    return restyle_ocr_pages(extract_pdf(copy), copy, result.pages_ocred), {"ocr_pages": tuple(result.pages_ocred),
                               "ocr_confidence": None if conf is None else round(conf, 1),
                               "low_confidence_pages": tuple(result.low_confidence_pages())}


def _check_text_layer(raw: RawDocument) -> None:
    """Raise when the PDF has no text layer: little text on average and no page of text.

    A manual with many blank or figure pages still has pages of text, and is read.
    """
    per_page = [sum(len(line.text) for line in page.lines) for page in raw.pages]
    chars = sum(per_page)
    if chars < _MIN_CHARS_PER_PAGE * len(per_page) and max(per_page, default=0) < _MIN_CHARS_TEXT_PAGE:
        pages = f"{len(per_page)} page{'s' if len(per_page) > 1 else ''}"
        raise ExtractionError(f"no text layer: needs OCR ({chars} characters of text on {pages})")


def _check_readable(text: str, clean: CleanDocument) -> None:
    """Raise, with the true reason, when the cleaned text has nothing to index."""
    if not any(c.isalpha() for c in text):
        if not text.strip() and clean.dropped:
            kinds = ", ".join(f"{kind} ({n} page{'s' if n > 1 else ''})" for kind, n in clean.dropped.items())
            raise ExtractionError(f"nothing to index: only a table of contents, an index or a bibliography: {kinds}")
        chars = sum(not c.isspace() for c in text)
        raise ExtractionError(f"no words to index: the text layer holds only numbers and symbols "
                              f"({chars} characters, no letter)")
    if not is_language(text):
        raise ExtractionError("unreadable text: the letters do not form words "
                              "(a font without Unicode mapping?); needs OCR")


def _document_language(clean: CleanDocument) -> str | None:
    """The language of the document's prose, sampled evenly over it (not its first pages:
    a licence in English opens many French manuals)."""
    prose = [b.text for b in clean.blocks if b.kind == "paragraph" and len(b.text) >= 80 and is_prose(b.text)]
    total = sum(map(len, prose))
    if total == 0:
        return detect_language("\n".join(b.text for b in clean.blocks))
    step = max(1, round(total / _LANGUAGE_SAMPLE))
    return detect_language("\n".join(prose[::step]))
