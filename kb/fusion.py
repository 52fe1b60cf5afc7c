"""Combining rankings: pure functions over ``{id: score}`` maps, no I/O.

Public entry points: :func:`rrf`, :func:`convex`, :func:`normalise`.
"""
from __future__ import annotations

from typing import Hashable, Mapping, Sequence

Id = Hashable


def rrf(rankings: Sequence[Sequence[Id]], k: float = 60.0,
        weights: Sequence[float] | None = None) -> dict[Id, float]:
    """Reciprocal-rank fusion: ``sum_i w_i / (k + rank_i(d))``, ranks from 1.

    Args:
        rankings: lists of ids, best first.
        k: damping constant (60 in Cormack et al., 2009).
        weights: one per ranking (default 1 each).
    """
    weights = weights if weights is not None else [1.0] * len(rankings)
    scores: dict[Id, float] = {}
    for ranking, w in zip(rankings, weights):
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + w / (k + rank)
    return scores


def normalise(scores: Mapping[Id, float]) -> dict[Id, float]:
    """Min-max scale to [0, 1]; all equal → all 1 (or 0 if all are 0)."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi == lo:
        return {d: (1.0 if hi > 0 else 0.0) for d in scores}
    return {d: (s - lo) / (hi - lo) for d, s in scores.items()}


def convex(a: Mapping[Id, float], b: Mapping[Id, float], alpha: float) -> dict[Id, float]:
    """``alpha * norm(a) + (1 - alpha) * norm(b)``; an id missing from one side scores 0 there."""
    na, nb = normalise(a), normalise(b)
    return {d: alpha * na.get(d, 0.0) + (1 - alpha) * nb.get(d, 0.0) for d in set(na) | set(nb)}


def ranked(scores: Mapping[Id, float]) -> list[Id]:
    """Ids by decreasing score, ties broken by id for determinism."""
    return sorted(scores, key=lambda d: (-scores[d], str(d)))
