"""Fitting the fusion weights on judgments, honestly: by cross-validation.

Every setting of a small grid (the dense side's weight α, and α for queries in
another language) ranks every query once; the queries are split into folds
(a query's repeats stay in one fold); each fold is scored with the setting
that did best on the *other* folds. That cross-validated figure, never the
in-sample one, is what says whether the fitted weights beat today's.

Public entry points: :func:`tune_fusion`, :class:`TuneReport`.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, replace
from typing import Any, Sequence

from .evaluate import evaluate_search
from .retrieve import FusionSettings
from .session import KnowledgeBase

GRID_ALPHA = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
GRID_FOREIGN = (0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class TuneReport:
    """Today's weights and the fitted ones, on the same judgments."""

    queries: int
    folds: int
    current: FusionSettings
    current_mrr: float  # today's weights on every query
    cross_validated_mrr: float  # each fold scored with weights fitted on the other folds
    chosen: FusionSettings  # fitted on every query (what --apply writes)
    chosen_mrr: float  # in-sample, for information only

    @property
    def better(self) -> bool:
        return self.cross_validated_mrr > self.current_mrr

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["better"] = self.better
        return d


def _reciprocal_ranks(kb: KnowledgeBase, rows: Sequence[dict[str, Any]], fusion: FusionSettings) -> list[float]:
    kb.passages.retriever.fusion = fusion
    report = evaluate_search(kb, rows)
    return [1 / q.first_relevant if q.first_relevant else 0.0 for q in report.queries]


def _folds(rows: Sequence[dict[str, Any]], k: int, seed: int) -> list[int]:
    queries = sorted({r["query"] for r in rows})
    random.Random(seed).shuffle(queries)
    fold_of = {q: i % k for i, q in enumerate(queries)}
    return [fold_of[r["query"]] for r in rows]


def tune_fusion(kb: KnowledgeBase, rows: Sequence[dict[str, Any]], folds: int = 5, seed: int = 2026,
                alphas: Sequence[float] = GRID_ALPHA, foreign: Sequence[float] = GRID_FOREIGN) -> TuneReport:
    """Cross-validated choice of the fusion weights on passage judgments ``rows``."""
    current = kb.passages.retriever.fusion
    grid = [replace(current, method="convex", alpha=a, foreign_alpha=f) for a in alphas for f in foreign]
    try:
        rr = {g: _reciprocal_ranks(kb, rows, g) for g in grid}
        base = _reciprocal_ranks(kb, rows, current)
    finally:
        kb.passages.retriever.fusion = current
    k = max(2, min(folds, len({r["query"] for r in rows})))
    fold = _folds(rows, k, seed)
    held = []
    for f in range(k):
        train = [i for i, x in enumerate(fold) if x != f]
        best = max(grid, key=lambda g: (sum(rr[g][i] for i in train), -abs(g.alpha - current.alpha)))
        held += [rr[best][i] for i, x in enumerate(fold) if x == f]
    chosen = max(grid, key=lambda g: (sum(rr[g]), -abs(g.alpha - current.alpha)))
    n = len(rows)
    return TuneReport(n, k, current, sum(base) / n, sum(held) / n, chosen, sum(rr[chosen]) / n)
