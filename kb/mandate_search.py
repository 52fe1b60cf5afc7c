"""Finding past mandates: similar to a situation, related to a passage query, or like another one.

Mandates are ranked by the same :class:`~kb.retrieve.HybridRetriever` as
passages (French BM25 over title, client, themes and description, fused with
the mandate's embedding); this module adds « pourquoi » (shared themes and
words) and the cut that keeps related mandates free of noise.

Public entry points: :class:`MandateSearcher`, :func:`filter_mandates`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .analyzer import fold, terms_with_spans
from .snippet import make_snippet
from .errors import KbError
from .mandates import derive_themes
from .query import Query
from .records import Mandate, RankedMandate
from .retrieve import Candidates, FusionSettings, HybridRetriever
from .store import Collection


class MandateSearcher:
    """Ranks the mandates of one index.

    Args:
        collection: the index's mandates with their vectors and BM25 index.
        fusion: fusion settings (shared with passages).
    """

    def __init__(self, collection: Collection, fusion: FusionSettings | None = None) -> None:
        self.retriever = HybridRetriever(collection, fusion)
        self.mandates: tuple[Mandate, ...] = collection.records
        self._by_id = {m.id: i for i, m in enumerate(self.mandates)}

    def get(self, mandate_id: str) -> Mandate:
        """The mandate with this id.

        Raises:
            KbError: no such mandate.
        """
        if mandate_id not in self._by_id:
            raise KbError(f"aucun mandat n'a l'identifiant {mandate_id!r} : voyez `kb mandates --list`")
        return self.mandates[self._by_id[mandate_id]]

    def _retrieve(self, query: Query, exclude: int | None = None) -> Candidates:
        return self.retriever.retrieve(query, n=len(self.mandates), exclude=exclude)

    def _why(self, query: Query, m: Mandate, dense_score: float, like: Mandate | None = None) -> str:
        """Why a mandate came up, for a person: the themes it shares, and the words of its own
        description that match (a short quotation), else that it is close in meaning."""
        q_themes = set(like.themes) if like else set(derive_themes(query.text, ""))
        shared = [t for t in m.themes if t in q_themes]
        parts = []
        if shared:
            parts.append(("Mêmes thèmes : " if like else "Thèmes en commun : ") + ", ".join(shared) + ".")
        quote = _quotation(m, set(query.terms))
        if quote:
            parts.append(f"« {quote} »")
        if not parts:
            parts.append("Proche par le sens.")
        return " ".join(parts)

    def _ranked(self, rows: Sequence[int], c: Candidates, why_query: Query,
                like: Mandate | None = None) -> list[RankedMandate]:
        return [RankedMandate(r + 1, c.fused[i], self.mandates[i], self._why(why_query, self.mandates[i], c.dense[i], like))
                for r, i in enumerate(rows)]

    def search(self, query: Query, k: int = 5) -> list[RankedMandate]:
        """Mandates ranked for a situation description (the query carries its vector)."""
        if not self.mandates:
            return []
        c = self._retrieve(query)
        return self._ranked(c.ranked()[:max(k, 0)], c, query)

    def related(self, query: Query, k: int = 3) -> list[RankedMandate]:
        """Mandates worth showing beside passages: some shared vocabulary or an unusually close meaning."""
        if not self.mandates or k <= 0:
            return []
        c = self._retrieve(query)
        values = np.array(list(c.dense.values()))
        cut = values.mean() + 1.5 * values.std() if len(values) > 2 else -1.0
        keep = [i for i in c.ranked() if c.lexical.get(i, 0.0) > 0 or c.dense[i] >= cut][:k]
        return self._ranked(keep, c, query)

    def like(self, mandate_id: str, k: int = 5) -> list[RankedMandate]:
        """The mandates most similar to one of them (never itself)."""
        me = self.get(mandate_id)
        row = self._by_id[mandate_id]
        probe = Query.parse(f"{me.title} {' '.join(me.themes)} {me.description}", strict=False)
        probe = probe.with_vector(self.retriever.collection.vectors[row]).with_foreign(False)
        c = self._retrieve(probe, exclude=row)
        why = Query.parse(f"{me.title} {me.description}", strict=False)
        return self._ranked(c.ranked()[:max(k, 0)], c, why, like=me)

    def listing(self) -> list[RankedMandate]:
        """Every mandate, in reading order, unscored."""
        return [RankedMandate(i + 1, None, m, "") for i, m in enumerate(self.mandates)]


def _quotation(m: Mandate, terms: set[str], max_words: int = 24) -> str:
    """The sentence of the mandate's description that holds the most query terms, cut short; "" when it
    holds fewer than two of them (one shared common word is no reason)."""
    best = make_snippet(m.description, terms, max_words) if terms and m.description else ""
    return best if len({t for t, _, _ in terms_with_spans(best)} & terms) >= min(2, len(terms)) else ""


def filter_mandates(mandates: Sequence[Mandate], themes: Sequence[str] = (), client: str = "",
                    years: tuple[int, int] | None = None, ongoing: bool | None = None) -> list[Mandate]:
    """Mandates having all ``themes``, whose client contains ``client`` (accent-blind),
    active at some point in ``years`` (inclusive), and ongoing or not."""
    want_client = fold(client).strip()
    out = []
    for m in mandates:
        if themes and not set(themes) <= set(m.themes):
            continue
        if want_client and want_client not in fold(m.client):
            continue
        if years and m.start is not None:
            first, last = m.start, m.end or m.start
            if last < years[0] or first > years[1]:
                continue
        if ongoing is not None and m.ongoing != ongoing:
            continue
        out.append(m)
    return out
