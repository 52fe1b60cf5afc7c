"""One PDF → its document record, passages and mandates: the per-document chain.

extract (PDFium) → clean (layout, hyphenation, headers) → language checks →
chunk (passages with citations) → mandates (records read from the blocks).
Everything a corpus file becomes is decided here, from its bytes alone, so the
build can run it anywhere (a worker process) and cache it by content hash.

Public entry point: :func:`read_document`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .chunk import ChunkSettings, chunk_blocks
from .clean import clean_document
from .errors import ExtractionError
from .extract import extract_pdf
from .language import detect_language, is_language
from .mandates import extract_mandates
from .records import Chunk, Document, Mandate

# Bump when extraction, cleaning or mandate reading changes what a PDF turns into.
PIPELINE_VERSION = 4  # 2: mandates, heading and URL fixes; 3: two-column pages; 4: characters outside the BMP
_MIN_CHARS_PER_PAGE = 10

_DOC_TYPES = (
    ("portfolio", ("portfolio", "mandats")),
    ("fiche", ("fiche",)),
    ("cadre de référence", ("cadre de référence", "cadre de reference", "cadre-de-reference")),
    ("rapport", ("rapport", "bilan", "chantier")),
)


@dataclass(frozen=True)
class DocumentContent:
    """What one readable PDF yields."""

    document: Document
    chunks: tuple[Chunk, ...]
    mandates: tuple[Mandate, ...]


def infer_doc_type(path: str, title: str) -> str:
    """A coarse document type read from the file name and title (« fiche », « portfolio »…)."""
    hay = f"{path} {title}".lower()
    for name, keys in _DOC_TYPES:
        if any(k in hay for k in keys):
            return name
    return "document"


def read_document(path: Path, rel: str, sha: str, settings: ChunkSettings) -> DocumentContent:
    """Extract, clean, check and chunk one PDF, and read the mandates it describes.

    Args:
        path: the file to read.
        rel: its path relative to the corpus (what citations show).
        sha: the SHA-256 of its bytes (the document id is derived from it).
        settings: chunk sizes.

    Raises:
        ExtractionError: with the reason the file cannot be indexed.
    """
    raw = extract_pdf(path)
    chars = sum(len(line.text) for page in raw.pages for line in page.lines)
    if chars < _MIN_CHARS_PER_PAGE * len(raw.pages):
        pages = f"{len(raw.pages)} page{'s' if len(raw.pages) > 1 else ''}"
        raise ExtractionError(f"no text layer: needs OCR ({chars} characters of text on {pages})")
    clean = clean_document(raw, path)
    full_text = "\n".join(b.text for b in clean.blocks)
    if not is_language(full_text):
        raise ExtractionError("unreadable text: the letters do not form words "
                              "(a font without Unicode mapping?); needs OCR")
    lang = detect_language(full_text)
    doc_id = sha[:12]
    passages = chunk_blocks(clean.blocks, settings,
                            skip_headings=(clean.title, raw.metadata.get("Author", "")))
    chunks = []
    for i, p in enumerate(passages):
        chunk_lang = detect_language(p.text) if len(p.text.split()) >= 25 else None
        chunks.append(Chunk(f"{doc_id}-{i:04d}", doc_id, rel, clean.title, p.page, p.page_end,
                            p.section, chunk_lang or lang, p.text))
    doc = Document(doc_id, rel, clean.title, clean.year, lang, len(raw.pages), sha,
                   infer_doc_type(rel, clean.title), len(chunks))
    return DocumentContent(doc, tuple(chunks), tuple(extract_mandates(clean.blocks, doc_id, rel)))
