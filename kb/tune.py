"""Fitting the fusion weights on judgments, honestly: by cross-validation.

Every setting of a small grid (the dense side's weight α, and α for queries in
another language) ranks every query once; the queries are split into folds
(a query's repeats stay in one fold); each fold is scored with the setting
that did best on the *other* folds. That cross-validated figure, never the
in-sample one, is what says whether the fitted weights beat today's.

The app's Index page and `kb tune` share the whole loop: :func:`tune_on_feedback`
fits on the practitioners' « utile » marks, :func:`apply_tuning` keeps the
fitted weights only when they beat today's on the folds never used to fit them.

Public entry points: :func:`tune_fusion`, :func:`tune_on_feedback`, :func:`apply_tuning`,
:class:`TuneReport`.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from .errors import KbError
from .evaluate import evaluate_search
from .feedback import as_judgments, read_marks
from .retrieve import FusionSettings
from .session import KnowledgeBase
from .store import write_tuning

GRID_ALPHA = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
GRID_FOREIGN = (0.6, 0.7, 0.8, 0.9)
MIN_FEEDBACK_QUERIES = 3  # fewer distinct queries cannot be split into folds that say anything


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
    report = evaluate_search(kb, rows, ndcg=False)  # only the first relevant rank counts here
    return [1 / q.first_relevant if q.first_relevant else 0.0 for q in report.queries]


def _folds(rows: Sequence[dict[str, Any]], k: int, seed: int) -> list[int]:
    queries = sorted({r["query"] for r in rows})
    random.Random(seed).shuffle(queries)
    fold_of = {q: i % k for i, q in enumerate(queries)}
    return [fold_of[r["query"]] for r in rows]


def tune_fusion(kb: KnowledgeBase, rows: Sequence[dict[str, Any]], folds: int = 5, seed: int = 2026,
                alphas: Sequence[float] = GRID_ALPHA, foreign: Sequence[float] = GRID_FOREIGN) -> TuneReport:
    """Cross-validated choice of the fusion weights on passage judgments ``rows``.

    ``kb`` itself is never changed: the settings are tried on a detached copy, so
    the app's shared knowledge base keeps answering with today's weights meanwhile.
    """
    current = kb.passages.retriever.fusion
    kb = kb.detached()
    grid = [replace(current, method="convex", alpha=a, foreign_alpha=f) for a in alphas for f in foreign]
    rr = {g: _reciprocal_ranks(kb, rows, g) for g in grid}
    base = rr[current] if current in rr else _reciprocal_ranks(kb, rows, current)  # today's is often on the grid
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


def tune_on_feedback(kb: KnowledgeBase, index_dir: str | Path, folds: int = 5) -> TuneReport:
    """:func:`tune_fusion` on the « utile » marks given to passages in the app for this index.

    Raises:
        KbError: (in French) fewer than :data:`MIN_FEEDBACK_QUERIES` queries have a useful passage.
    """
    rows = as_judgments(read_marks(index_dir), "passage")
    n = len({r["query"] for r in rows})
    if n < MIN_FEEDBACK_QUERIES:
        raise KbError(f"il faut des avis « utile » sur au moins {MIN_FEEDBACK_QUERIES} requêtes différentes "
                      f"pour ajuster les poids (il y en a {n})")
    return tune_fusion(kb, rows, folds=folds)


def apply_tuning(index_dir: str | Path, report: TuneReport) -> bool:
    """Keep the fitted weights for this index when they beat today's on unseen folds; say whether they were."""
    if not report.better:
        return False
    f = report.chosen
    write_tuning(index_dir, {"alpha": f.alpha, "foreign_alpha": f.foreign_alpha, "queries": report.queries,
                             "cv_mrr": round(report.cross_validated_mrr, 4),
                             "previous_mrr": round(report.current_mrr, 4)})
    return True
