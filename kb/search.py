"""Hybrid passage search: French BM25 + dense e5, fused, diversified, cited.

Public entry points: :class:`Searcher` (load once, query many times) and
:class:`SearchOptions`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .analyzer import analyze, fold, query_terms, terms_with_spans
from .dense import search_dense
from .errors import QueryError
from .fusion import convex, ranked, rrf
from .index import KbIndex
from .lexical import LEXICAL_DIR, lexical_scores, load_lexical, vocabulary
from .records import Hit
from .snippet import highlight_spans, make_snippet

MODES = ("hybrid", "lexical", "dense")
_FOLDED_WORDS = re.compile(r"[^\W_]+")
_EN_WORDS = frozenset("the of and to for with how what which who why where when among is are be an by from at "
                      "into about between in this that these those do does can should".split())
_FR_WORDS = frozenset("le la les des du de et pour avec dans sur un une en au aux est sont qui que comment par "
                      "ce cette ces son sa ses leur leurs entre".split())


@dataclass(frozen=True)
class FusionSettings:
    """How the lexical and dense rankings are combined (chosen by `benchmarks/bench_search.py`)."""

    method: str = "convex"  # "convex" | "rrf" (see benchmarks/sweep_fusion.py)
    rrf_k: float = 60.0
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    alpha: float = 0.5  # convex: weight of the dense side
    foreign_alpha: float = 0.8  # convex, for a query not in the corpus language (lexical matches are then noise)
    candidates: int = 100  # from each retriever
    phrase_bonus: bool = True
    max_per_page: int = 2
    near_duplicate: float = 0.8  # overlap coefficient of term sets above which a hit is dropped


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


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...]
    related_mandates: tuple[Any, ...] = field(default_factory=tuple)
    unknown_words: tuple[str, ...] = ()  # query words found nowhere in the corpus (typos, other language)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "hits": [h.to_dict() for h in self.hits],
                "related_mandates": [m.to_dict() if hasattr(m, "to_dict") else m for m in self.related_mandates]}


def _phrase(text: str) -> str:
    return " ".join(_FOLDED_WORDS.findall(fold(text)))


class Searcher:
    """Answers queries over one loaded index.

    Args:
        index: a loaded :class:`~kb.index.KbIndex`.
        embedder: the index's embedder; built from the manifest when omitted.
            An embedder of another model raises :class:`~kb.errors.IndexMismatchError`.
        fusion: fusion settings.
    """

    def __init__(self, index: KbIndex, embedder=None, fusion: FusionSettings | None = None) -> None:
        self.index = index
        self.fusion = fusion or FusionSettings()
        self._embedder = embedder
        if embedder is not None:
            index.check_embedder(embedder)
        self.lexical = load_lexical(index.path / LEXICAL_DIR) if index.chunks else None
        docs = {d.doc_id: d for d in index.documents}
        self._chunk_doc = [docs[c.doc_id] for c in index.chunks]
        self._phrases: list[str] | None = None
        self._mandates = None
        self._query_vectors: dict[str, np.ndarray] = {}
        # Row i continues row i-1 when a long paragraph was cut with overlap.
        chunks = index.chunks
        self._continues = [i > 0 and chunks[i - 1].doc_id == c.doc_id and len(c.text) > 80
                           and c.text[:80] in chunks[i - 1].text for i, c in enumerate(chunks)]
        self._terms: list[frozenset[str]] | None = None

    @property
    def embedder(self):
        """The index's own embedder (loaded on first use when none was given)."""
        if self._embedder is None:
            from .embed import load_embedder

            self._embedder = load_embedder(self.index.embedder_spec)
            self.index.check_embedder(self._embedder)
        return self._embedder

    def embed_query(self, query: str) -> np.ndarray:
        """The query's vector (cached: passages and mandates share it)."""
        vec = self._query_vectors.get(query)
        if vec is None:
            if len(self._query_vectors) > 256:
                self._query_vectors.clear()
            vec = self._query_vectors[query] = self.embedder.embed([query], query=True)[0]
        return vec

    def clear_query_cache(self) -> None:
        """Forget the query vectors (a benchmark measures every embedding)."""
        self._query_vectors.clear()

    def warm_up(self) -> None:
        """Load the model and build the lazy caches now, not on a user's first query."""
        if self.index.chunks:
            self.search("développement des communautés")
        self.clear_query_cache()

    @property
    def mandates(self):
        """A :class:`~kb.mandates.MandateSearcher` over the index's mandates (built on first use)."""
        if self._mandates is None:
            from .mandates import MandateSearcher

            f = self.fusion
            self._mandates = MandateSearcher(self.index.mandates, self.index.mandate_vectors, self.embed_query,
                                             alpha=f.alpha, foreign=self.is_foreign, foreign_alpha=f.foreign_alpha)
        return self._mandates

    # -- filters -----------------------------------------------------------------------
    def _mask(self, opts: SearchOptions) -> np.ndarray | None:
        if not any((opts.doc, opts.lang, opts.year, opts.doc_type)):
            return None
        doc = opts.doc
        keep = []
        for chunk, d in zip(self.index.chunks, self._chunk_doc):
            ok = True
            if doc:
                ok = doc in (d.path, d.path.rsplit("/", 1)[-1], d.path.rsplit("/", 1)[-1].rsplit(".", 1)[0])
            if ok and opts.lang:
                ok = chunk.lang == opts.lang
            if ok and opts.year:
                ok = d.year == opts.year
            if ok and opts.doc_type:
                ok = d.doc_type == opts.doc_type
            keep.append(ok)
        return np.asarray(keep, dtype=bool)

    # -- retrievers --------------------------------------------------------------------
    def _lexical(self, terms: list[str], mask: np.ndarray | None, n: int) -> dict[int, float]:
        scores = lexical_scores(self.lexical, terms, len(self.index.chunks))
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:n]
        return {int(i): float(scores[i]) for i in top if scores[i] > 0}

    def _dense(self, query: str, mask: np.ndarray | None, n: int) -> dict[int, float]:
        q = self.embed_query(query)
        if mask is None:
            scores, rows = search_dense(self.index.dense, q, n)
            return {int(r): float(s) for r, s in zip(rows, scores)}
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return {}
        scores = self.index.vectors[rows] @ q
        order = np.argsort(-scores, kind="stable")[:n]
        return {int(rows[i]): float(scores[i]) for i in order}

    def is_foreign(self, query: str) -> bool:
        """Is the query in another language than the corpus (e.g. English over French text)?

        Function words decide when there are any; otherwise the share of the
        query's terms that the corpus vocabulary knows. (langdetect is not
        reliable on queries of two to six words.)
        """
        words = _FOLDED_WORDS.findall(fold(query))
        en = sum(w in _EN_WORDS for w in words)
        fr = sum(w in _FR_WORDS for w in words)
        if en != fr:
            return en > fr
        terms = analyze(query)
        vocab = vocabulary(self.lexical)
        known = sum(t in vocab for t in terms)
        return bool(terms) and known / len(terms) < 0.5

    # -- post-processing ---------------------------------------------------------------
    def _phrase_rows(self, query: str, rows: list[int]) -> set[int]:
        phrase = _phrase(query)
        if len(phrase.split()) < 2:
            return set()
        if self._phrases is None:
            self._phrases = [f" {_phrase(c.text)} " for c in self.index.chunks]
        needle = f" {phrase} "
        return {r for r in rows if needle in self._phrases[r]}

    def _chunk_terms(self, row: int) -> frozenset[str]:
        if self._terms is None:
            self._terms = [None] * len(self.index.chunks)  # type: ignore[list-item]
        cached = self._terms[row]
        if cached is None:
            cached = self._terms[row] = frozenset(analyze(self.index.chunks[row].text))
        return cached

    def _diverse(self, order: list[int], k: int) -> list[int]:
        chosen: list[int] = []
        per_page: dict[tuple[str, int], int] = {}
        for row in order:
            c = self.index.chunks[row]
            key = (c.doc_id, c.page)
            if per_page.get(key, 0) >= self.fusion.max_per_page:
                continue
            if (self._continues[row] and row - 1 in chosen) or (
                    row + 1 < len(self._continues) and self._continues[row + 1] and row + 1 in chosen):
                continue  # an overlapping window of a passage already shown
            terms = self._chunk_terms(row)
            if any(self.index.chunks[o].doc_id == c.doc_id and _overlap(terms, self._chunk_terms(o))
                   >= self.fusion.near_duplicate for o in chosen):
                continue
            chosen.append(row)
            per_page[key] = per_page.get(key, 0) + 1
            if len(chosen) == k:
                break
        return chosen

    # -- the query ---------------------------------------------------------------------
    def rank(self, query: str, opts: SearchOptions) -> list[tuple[int, float]]:
        """Rows and fused scores, best first, before diversity (for evaluation and tests)."""
        query = query.strip()
        terms = query_terms(query)
        if opts.mode not in MODES:
            raise QueryError(f"unknown search mode {opts.mode!r} (use {', '.join(MODES)})", "mode")
        if not self.index.chunks:
            return []
        mask = self._mask(opts)
        f = self.fusion
        lex = self._lexical(terms, mask, f.candidates) if opts.mode != "dense" else {}
        dense = self._dense(query, mask, f.candidates) if opts.mode != "lexical" else {}
        if opts.mode == "lexical":
            fused = lex
        elif opts.mode == "dense":
            fused = dense
        elif f.method == "convex":
            fused = convex(dense, lex, f.foreign_alpha if self.is_foreign(query) else f.alpha)
        else:
            fused = rrf([ranked(dense), ranked(lex)], k=f.rrf_k, weights=[f.dense_weight, f.lexical_weight])
        if f.phrase_bonus and opts.mode != "dense":
            top = max(fused.values(), default=0.0)
            for row in self._phrase_rows(query, list(fused)):
                fused[row] += top  # verbatim phrase matches first, in fused order
        return [(r, fused[r]) for r in ranked(fused)]

    def search(self, query: str, options: SearchOptions | None = None) -> SearchResult:
        """Search passages.

        Raises:
            QueryError: empty query, or only stop words.
        """
        opts = options or SearchOptions()
        ranking = self.rank(query, opts)
        scores = dict(ranking)
        rows = self._diverse([r for r, _ in ranking], max(opts.k, 0))
        terms = set(analyze(query))
        hits = []
        for rank, row in enumerate(rows, start=1):
            chunk = self.index.chunks[row]
            hits.append(Hit(rank, scores[row], chunk, make_snippet(chunk.text, terms),
                            tuple(highlight_spans(chunk.text, terms))))
        related = tuple(self.mandates.related(query.strip(), opts.related)) if opts.related > 0 else ()
        vocab = vocabulary(self.lexical)
        unknown = tuple(dict.fromkeys(query[s:e] for t, s, e in terms_with_spans(query) if t not in vocab))
        return SearchResult(query.strip(), tuple(hits), related, unknown)


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


__all__ = ["Searcher", "SearchOptions", "SearchResult", "FusionSettings"]
