"""Small frozen records that flow between the pipeline stages."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Line:
    """One visual line of a PDF page, with the layout cues the cleaner needs."""

    text: str
    size: float  # dominant font size (points)
    bold: bool  # most characters are bold
    x0: float  # left edge
    x1: float  # right edge
    y: float  # baseline, from the bottom of the page


@dataclass(frozen=True)
class Page:
    """The text lines of one page, as extracted (1-based ``number``)."""

    number: int
    lines: tuple[Line, ...]
    width: float = 0.0
    height: float = 0.0


@dataclass(frozen=True)
class Block:
    """A cleaned heading or paragraph; ``page_end`` differs when it crosses a page."""

    kind: str  # "heading" | "paragraph"
    text: str
    page: int
    page_end: int
    level: int = 0  # heading level, 1 = largest


@dataclass(frozen=True)
class Document:
    """One indexed PDF."""

    doc_id: str
    path: str  # relative to the corpus folder, POSIX separators
    title: str
    year: int | None
    lang: str | None
    pages: int
    sha256: str
    doc_type: str = "document"
    chunks: int = 0
    ocr_pages: tuple[int, ...] = ()  # pages whose text comes from OCR (1-based)
    ocr_confidence: float | None = None  # Tesseract's mean word confidence over those pages (0–100)
    low_confidence_pages: tuple[int, ...] = ()  # OCR'd pages read with a doubtful confidence
    unread_pages: tuple[int, ...] = ()  # scanned pages left unread (OCR off or not installed)


@dataclass(frozen=True)
class Chunk:
    """A passage with its citation."""

    chunk_id: str
    doc_id: str
    path: str
    title: str
    page: int
    page_end: int
    section: str
    lang: str | None
    text: str

    @property
    def page_label(self) -> str:
        """« p. 3 », or « p. 3–4 » for a passage crossing a page break."""
        return f"p. {self.page}" if self.page == self.page_end else f"p. {self.page}–{self.page_end}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Hit:
    """One search result: a chunk, its score and what to show of it.

    ``highlights`` are spans of ``chunk.text``; ``snippet_highlights`` spans of
    ``snippet``: front ends mark them as they are, without analysing the query again.
    """

    rank: int
    score: float
    chunk: Chunk
    snippet: str = ""
    highlights: tuple[tuple[int, int], ...] = field(default_factory=tuple)
    snippet_highlights: tuple[tuple[int, int], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rank": self.rank, "score": round(float(self.score), 6)}
        out.update(self.chunk.to_dict())
        out["snippet"] = self.snippet
        out["highlights"] = [list(span) for span in self.highlights]
        out["snippet_highlights"] = [list(span) for span in self.snippet_highlights]
        return out


@dataclass(frozen=True)
class Mandate:
    """A past consulting mandate read from a portfolio-like document."""

    id: str
    title: str
    client: str
    years: str  # as written, e.g. "2022–2024 (en cours)"
    start: int | None
    end: int | None
    ongoing: bool
    description: str
    deliverables: tuple[str, ...]
    links: tuple[str, ...]
    themes: tuple[str, ...]
    path: str
    page: int
    page_end: int
    doc_id: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["deliverables"], d["links"], d["themes"] = list(self.deliverables), list(self.links), list(self.themes)
        return d

    @property
    def summary(self) -> str:
        """The description's first paragraph, cut at a word near ``SUMMARY_CHARS`` characters."""
        first = self.description.split("\n")[0]
        if len(first) <= SUMMARY_CHARS:
            return first
        return first[:SUMMARY_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


SUMMARY_CHARS = 220


@dataclass(frozen=True)
class RankedMandate:
    """A mandate in a ranking, with why it was chosen (``score`` is None in a plain listing)."""

    rank: int
    score: float | None
    mandate: Mandate
    why: str

    def to_dict(self) -> dict[str, Any]:
        score = None if self.score is None else round(float(self.score), 6)
        return {"rank": self.rank, "score": score, **self.mandate.to_dict(), "summary": self.mandate.summary,
                "why": self.why}


@dataclass(frozen=True)
class SearchResult:
    """Passages for a query, the past mandates related to it, and its words the corpus never uses."""

    query: str
    hits: tuple[Hit, ...]
    related_mandates: tuple[RankedMandate, ...] = ()
    unknown_words: tuple[str, ...] = ()  # words of a query in the corpus language found nowhere (typos)
    suggestion: str = ""  # the query with its unknown words corrected from the corpus vocabulary, if any
    corrected: bool = False  # the hits answer ``suggestion``: the query as typed had no good match
    language: str | None = None  # "en" for a query recognised as English, "fr" for French, else None

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "hits": [h.to_dict() for h in self.hits],
                "related_mandates": [m.to_dict() for m in self.related_mandates],
                "unknown_words": list(self.unknown_words), "suggestion": self.suggestion,
                "corrected": self.corrected, "language": self.language}


@dataclass(frozen=True)
class IndexStatus:
    """What an index holds, read from its manifest alone (`kb status`)."""

    index: str
    version: str
    documents: int
    chunks: int
    mandates: int
    model: str
    embedder: str
    index_type: str
    built_at: str
    corpus: str | None
    skipped: tuple[Skipped, ...]
    ocr: tuple[dict[str, Any], ...] = ()  # documents with scanned pages: path, pages, confidence, lang
    pipeline: int | None = None  # the version of PDF reading it was built with (kb.document.PIPELINE_VERSION)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["skipped"] = [asdict(s) for s in self.skipped]
        d["ocr"] = list(self.ocr)
        return d
