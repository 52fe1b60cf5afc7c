"""Passage search: hybrid retrieval, then what passages need on top.

On top of :class:`~kb.retrieve.HybridRetriever`: filters (document, year,
language, type), a bonus for passages holding the query's words verbatim as a
phrase, an optional reranking stage, diversity (two passages a page at most,
no overlapping window or near-duplicate of a passage already shown), and for
each hit its snippet and the spans to highlight.

Public entry points: :class:`PassageSearcher`, :class:`SearchOptions`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .analyzer import fold, phrase_finder, terms_with_spans
from .query import Query
from .records import Hit
from .retrieve import FusionSettings, HybridRetriever, Reranker
from .snippet import Spans, highlight_spans, make_snippet
from .store import KbIndex


@dataclass(frozen=True)
class PassageSettings:
    """What passage search adds to retrieval."""

    phrase_bonus: bool = True
    max_per_page: int = 2
    near_duplicate: float = 0.8  # overlap coefficient of term sets above which a hit is dropped
    # Jaccard of term sets above which a passage of another document is the same text (two editions of
    # one manual): only the better ranked is shown.
    same_text: float = 0.9


@dataclass(frozen=True)
class SearchOptions:
    """A query's settings and filters."""

    k: int = 10
    doc: str | None = None  # a document path relative to the corpus (or its file name / stem)
    lang: str | None = None
    year: int | None = None
    doc_type: str | None = None
    mode: str = "hybrid"
    related: int = 3  # related mandates to return (0: none)


class PassageSearcher:
    """Answers passage queries over one loaded index.

    Args:
        index: the loaded index.
        fusion: how lexical and dense rankings are fused.
        settings: phrase bonus and diversity.
        reranker: an optional stage re-scoring the best candidates.
    """

    def __init__(self, index: KbIndex, fusion: FusionSettings | None = None,
                 settings: PassageSettings | None = None, reranker: Reranker | None = None) -> None:
        self.index = index
        self.retriever = HybridRetriever(index.passages, fusion)
        self.settings = settings or PassageSettings()
        self.reranker = reranker
        self._rows: tuple[np.ndarray, np.ndarray] | None = None  # each chunk's document and language
        # Like the folded texts and terms, per candidate row, never a pass over every chunk (1M chunks),
        # and bounded: a long-running server sees more and more rows.
        self._continuing: dict[int, bool] = {}
        self._folded: dict[int, str] = {}
        self._terms: dict[int, frozenset[str]] = {}

    def _continues(self, row: int) -> bool:
        """Row ``row`` continues row ``row - 1`` (a long paragraph cut with overlap)."""
        if not 0 < row < len(self.index.chunks):
            return False
        cached = self._continuing.get(row)
        if cached is None:
            _bound(self._continuing)
            c, before = self.index.chunks[row], self.index.chunks[row - 1]
            cached = self._continuing[row] = (before.doc_id == c.doc_id and len(c.text) > 80
                                              and c.text[:80] in before.text)
        return cached

    # -- filters ---------------------------------------------------------------------------------
    def _mask(self, opts: SearchOptions) -> np.ndarray | None:
        if not any((opts.doc, opts.lang, opts.year, opts.doc_type)):
            return None
        if self._rows is None:  # stored with the index (an index built before: computed once, here)
            self._rows = self.index.row_fields()
        row_doc, row_lang = self._rows
        doc_ok = np.array([_doc_matches(d, opts) for d in self.index.documents] + [False], dtype=bool)
        keep = doc_ok[row_doc]  # the last entry: a chunk of an unknown document
        if opts.lang:
            langs = self.index.chunk_languages
            keep &= row_lang == (langs.index(opts.lang) if opts.lang in langs else -2)
        return keep

    # -- ranking ---------------------------------------------------------------------------------
    def _phrase_rows(self, query: Query, rows: list[int]) -> set[int]:
        """The candidate rows holding the query's words verbatim (folded), in order."""
        if len(query.phrase.split()) < 2:
            return set()
        found = phrase_finder(query.phrase)  # searched in each folded text: no splitting into words
        return {r for r in rows if found(self._folded_text(r))}

    def _folded_text(self, row: int) -> str:
        # Folded per candidate, once: never a pass over every chunk (a first query at 1M chunks).
        cached = self._folded.get(row)
        if cached is None:
            _bound(self._folded)
            cached = self._folded[row] = fold(self.index.chunks[row].text)
        return cached

    def rank(self, query: Query, opts: SearchOptions) -> list[tuple[int, float]]:
        """Rows and scores, best first, before diversity (for evaluation and tests)."""
        candidates = self.retriever.retrieve(query, opts.mode, self._mask(opts))
        fused = dict(candidates.fused)
        if self.settings.phrase_bonus and opts.mode != "dense":
            top = max(fused.values(), default=0.0)
            # Checked on the lexical candidates only: a dense-only row shares no query term, or ranks below
            # the lexical top 100 that do (folding every candidate's text was most of a first-seen query's CPU).
            for row in self._phrase_rows(query, [r for r in fused if r in candidates.lexical]):
                fused[row] += top  # verbatim phrase matches first, in fused order
        ranking = [(r, fused[r]) for r in sorted(fused, key=lambda d: (-fused[d], str(d)))]
        if self.reranker is not None and opts.mode == "hybrid":
            ranking = self.reranker.rerank(query, ranking)
        return ranking

    # -- presentation ----------------------------------------------------------------------------
    def _chunk_terms(self, row: int, spans: _Spans) -> frozenset[str]:
        cached = self._terms.get(row)
        if cached is None:
            _bound(self._terms)
            cached = self._terms[row] = frozenset(t for t, _, _ in spans(row))
        return cached

    def _redundant(self, row: int, chosen: list[int], spans: _Spans) -> bool:
        """An overlapping window of a passage already shown, a near-duplicate of one in its document,
        or the same text in another document."""
        nxt = row + 1 in chosen and self._continues(row + 1)
        if (row - 1 in chosen and self._continues(row)) or nxt:
            return True
        doc, terms = self.index.chunks[row].doc_id, self._chunk_terms(row, spans)
        for o in chosen:
            other = self._chunk_terms(o, spans)
            if self.index.chunks[o].doc_id == doc:
                if _overlap(terms, other) >= self.settings.near_duplicate:
                    return True
            elif terms and len(terms & other) >= self.settings.same_text * len(terms | other):
                return True
        return False

    def _diverse(self, order: list[int], k: int, spans: _Spans) -> list[int]:
        chosen: list[int] = []
        per_page: dict[tuple[str, int], int] = {}
        for row in order:
            c = self.index.chunks[row]
            key = (c.doc_id, c.page)
            if per_page.get(key, 0) >= self.settings.max_per_page or self._redundant(row, chosen, spans):
                continue
            chosen.append(row)
            per_page[key] = per_page.get(key, 0) + 1
            if len(chosen) == k:
                break
        return chosen

    def search(self, query: Query, opts: SearchOptions | None = None) -> tuple[Hit, ...]:
        """The ``opts.k`` best passages, diverse, each with its snippet and highlights."""
        opts = opts or SearchOptions()
        ranking = self.rank(query, opts)
        scores = dict(ranking)
        terms = set(query.terms)
        words = set(query.phrase.split()) if query.foreign else ()  # another language: whole words only
        analysed: dict[int, Spans] = {}

        def spans(row: int) -> Spans:
            """A row's terms and spans, analysed once for this query (diversity, snippet, highlights)."""
            if row not in analysed:
                analysed[row] = terms_with_spans(self.index.chunks[row].text)
            return analysed[row]

        hits = []
        for rank, row in enumerate(self._diverse([r for r, _ in ranking], max(opts.k, 0), spans), start=1):
            chunk = self.index.chunks[row]
            snippet = make_snippet(chunk.text, terms, spans=spans(row))
            hits.append(Hit(rank, scores[row], chunk, snippet,
                            tuple(highlight_spans(chunk.text, terms, words, spans(row))),
                            tuple(highlight_spans(snippet, terms, words))))
        return tuple(hits)


_Spans = Callable[[int], Spans]  # a row's terms and spans, analysed once a query
# Per-row caches are emptied past this many rows: about 120 MB at most (a folded text takes about
# 1.7 KB, a term set 4.3 KB on the demo corpus's passages).
_CACHE_ROWS = 20_000


def _bound(cache: dict) -> None:
    """Empty ``cache`` when it is full (before adding a row): memory stays bounded on a server."""
    if len(cache) >= _CACHE_ROWS:
        cache.clear()


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _doc_matches(d, opts: SearchOptions) -> bool:
    """Whether document ``d`` passes the document, year and type filters of ``opts``."""
    name = d.path.rsplit("/", 1)[-1]
    return ((not opts.doc or opts.doc in (d.path, name, name.rsplit(".", 1)[0]))
            and (not opts.year or d.year == opts.year)
            and (not opts.doc_type or d.doc_type == opts.doc_type))
