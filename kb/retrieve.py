"""One hybrid retriever for every collection: passages and mandates alike.

As every searcher in pyserini, it answers ``search(query, k) → [(row, score)]``:
French BM25 and the dense embedding each rank the collection's rows, and the
two rankings are fused (:mod:`kb.fusion`). What a caller adds on top (phrase
bonus, diversity, snippets for passages; « pourquoi » for mandates) and a
later reranking stage work on its :class:`Candidates`, without touching it.

Public entry points: :class:`HybridRetriever`, :class:`FusionSettings`, :class:`Candidates`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from .dense import ExactIndex, search_dense, top_rows
from .errors import QueryError
from .fusion import convex, ranked, rrf
from .lexical import lexical_scores, vocabulary
from .query import Query
from .store import Collection

MODES = ("hybrid", "lexical", "dense")


@dataclass(frozen=True)
class FusionSettings:
    """How the lexical and dense rankings are combined (chosen by `benchmarks/sweep_fusion.py`)."""

    method: str = "convex"  # "convex" | "rrf"
    rrf_k: float = 60.0
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    alpha: float = 0.5  # convex: weight of the dense side
    foreign_alpha: float = 0.8  # convex, for a query not in the corpus language (lexical matches are then noise)
    candidates: int = 100  # from each retriever


@dataclass(frozen=True)
class Candidates:
    """One retrieval: the fused score of each row, and each side's own score."""

    fused: dict[int, float]
    lexical: dict[int, float]
    dense: dict[int, float]

    def ranked(self) -> list[int]:
        """Rows by decreasing fused score (ties by row)."""
        return ranked(self.fused)


class Reranker(Protocol):
    """A later stage that re-scores the best candidates with a stronger signal."""

    def rerank(self, query: Query, ranking: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
        """``ranking`` (rows and scores, best first) re-ordered; rows it does not judge keep their order."""
        ...


@dataclass(frozen=True)
class RerankSettings:
    """How the second model re-scores the hybrid ranking."""

    depth: int = 30  # the best ``depth`` candidates are re-scored
    weight: float = 0.5  # share of the second model in their new score (the rest: the hybrid score)


class SecondModelReranker:
    """Re-scores the best candidates with the index's second embedding model.

    Within the top ``depth``, the new score is ``(1 - weight) · hybrid + weight ·
    second`` (both min-max normalised over those candidates); they stay ahead of
    the rest, whose order is unchanged. Without a second vector (the index has
    none, or the query was not embedded by it) the ranking is returned as it is.

    Args:
        collection: the rows, with ``second_vectors``.
        settings: depth and weight.
    """

    def __init__(self, collection: Collection, settings: RerankSettings | None = None) -> None:
        self.collection = collection
        self.settings = settings or RerankSettings()

    def rerank(self, query: Query, ranking: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
        second = self.collection.second_vectors
        if query.second_vector is None or second is None or not ranking:
            return list(ranking)
        head, tail = list(ranking[: self.settings.depth]), list(ranking[self.settings.depth:])
        rows = np.array([r for r, _ in head])
        w = self.settings.weight
        scores = convex({r: float(s) for r, s in zip(rows.tolist(), second[rows] @ query.second_vector)},
                        dict(head), w)
        top = 1.0 + max((s for _, s in tail), default=0.0)  # the re-scored head stays ahead of the tail
        return [(r, top + scores[r]) for r in ranked(scores)] + tail


class HybridRetriever:
    """Ranks the rows of one :class:`~kb.store.Collection` for a :class:`~kb.query.Query`.

    Args:
        collection: records with their vectors, dense index (optional) and BM25 index.
        fusion: fusion settings.
    """

    def __init__(self, collection: Collection, fusion: FusionSettings | None = None) -> None:
        self.collection = collection
        self.fusion = fusion or FusionSettings()
        self.vocabulary = vocabulary(collection.lexical) if collection.lexical is not None else {}

    def is_foreign(self, query: Query) -> bool:
        """Is the query in another language than the collection (e.g. English over French text)?

        Function words decide when there are any; otherwise the share of the
        query's terms that the collection's vocabulary knows.
        """
        if query.foreign is not None:
            return query.foreign
        if query.language is not None:
            return query.language == "en"
        known = sum(t in self.vocabulary for t in query.terms)
        return bool(query.terms) and known / len(query.terms) < 0.5

    def unknown_words(self, query: Query) -> tuple[str, ...]:
        """The query's words whose term the collection never uses (typos, another language)."""
        return tuple(dict.fromkeys(query.text[s:e] for t, s, e in query.spans if t not in self.vocabulary))

    def lexical(self, query: Query, mask: np.ndarray | None = None, n: int | None = None) -> dict[int, float]:
        """BM25 scores of the best ``n`` rows (only rows sharing a term)."""
        c = self.collection
        if c.lexical is None:
            return {}
        scores = lexical_scores(c.lexical, query.terms, len(c))
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        rows = np.flatnonzero(scores > 0)  # only rows sharing a term; their best n without sorting them all
        top = rows[top_rows(scores[rows], n or len(c))]
        return {int(i): float(scores[i]) for i in top}

    def dense(self, query: Query, mask: np.ndarray | None = None, n: int | None = None,
              exclude: int | None = None) -> dict[int, float]:
        """Inner products of the best ``n`` rows with the query's vector."""
        c, n = self.collection, n or len(self.collection)
        if query.vector is None:
            raise ValueError("the query has no vector: embed it first")
        if mask is None and exclude is None:
            index = c.dense if c.dense is not None else ExactIndex(c.vectors)  # the vectors scored in place
            scores, rows = search_dense(index, query.vector, n)
            return {int(r): float(s) for r, s in zip(rows, scores)}
        rows = np.flatnonzero(mask) if mask is not None else np.arange(len(c))
        rows = rows[rows != exclude] if exclude is not None else rows
        if rows.size == 0:
            return {}
        # A large share of rows: score every vector in place rather than copy the kept ones (gigabytes
        # at a million chunks); a small one: gather them.
        scores = (c.vectors @ query.vector)[rows] if rows.size * 8 > len(c) else c.vectors[rows] @ query.vector
        order = top_rows(scores, n)  # best first, ties by row, without sorting every row
        return {int(rows[i]): float(scores[i]) for i in order}

    def retrieve(self, query: Query, mode: str = "hybrid", mask: np.ndarray | None = None,
                 n: int | None = None, exclude: int | None = None) -> Candidates:
        """Both sides' best ``n`` rows (default: the settings' candidates) and their fusion.

        Raises:
            QueryError: an unknown mode.
        """
        if mode not in MODES:
            raise QueryError(f"mode de recherche inconnu {mode!r} (utilisez {', '.join(MODES)})", "mode")
        if not len(self.collection):
            return Candidates({}, {}, {})
        n = n or self.fusion.candidates
        lex = self.lexical(query, mask, n) if mode != "dense" else {}
        if exclude is not None:
            lex.pop(exclude, None)
        dense = self.dense(query, mask, n, exclude) if mode != "lexical" else {}
        return Candidates(self._fuse(query, mode, lex, dense), lex, dense)

    def _fuse(self, query: Query, mode: str, lex: dict[int, float], dense: dict[int, float]) -> dict[int, float]:
        f = self.fusion
        if mode == "lexical":
            return dict(lex)
        if mode == "dense":
            return dict(dense)
        if f.method == "convex":
            return convex(dense, lex, f.foreign_alpha if self.is_foreign(query) else f.alpha)
        return rrf([ranked(dense), ranked(lex)], k=f.rrf_k, weights=[f.dense_weight, f.lexical_weight])

    def search(self, query: Query, k: int = 10) -> list[tuple[int, float]]:
        """The ``k`` best rows and their fused scores."""
        c = self.retrieve(query)
        return [(r, c.fused[r]) for r in c.ranked()[:k]]
