"""A query, analysed once per request and shared by every stage that needs it.

Public entry point: :meth:`Query.parse`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .analyzer import ENGLISH_WORDS, FRENCH_WORDS, fold_words, query_terms, terms_with_spans


@dataclass(frozen=True)
class Query:
    """What the retrievers, the phrase bonus, the snippets and the highlights read of a query.

    Attributes:
        text: the query as typed, stripped.
        terms: its index terms in order (stop words removed).
        spans: ``(term, start, end)`` of each term's word in ``text``.
        phrase: its folded words joined by spaces.
        language: "en" or "fr" when its function words say so, else None.
        foreign: whether it is in another language than the corpus, once a retriever decided.
        vector: its embedding, once computed.
        second_vector: its embedding by the index's second model, when the index has one.
    """

    text: str
    terms: tuple[str, ...]
    spans: tuple[tuple[str, int, int], ...]
    phrase: str
    language: str | None = None
    foreign: bool | None = None
    vector: np.ndarray | None = None
    second_vector: np.ndarray | None = None

    @classmethod
    def parse(cls, text: str, strict: bool = True) -> "Query":
        """Analyse ``text``.

        Args:
            text: the query.
            strict: raise when the query has no meaningful word (a user's query);
                False for texts made by the program (a mandate's description).

        Raises:
            QueryError: (``strict`` only) the query is empty or only stop words.
        """
        text = text.strip()
        spans = tuple(terms_with_spans(text))
        if strict and not spans:
            query_terms(text)  # raises, saying whether the query is empty or only stop words
        phrase = fold_words(text)
        words = phrase.split()
        en, fr = sum(w in ENGLISH_WORDS for w in words), sum(w in FRENCH_WORDS for w in words)
        language = None if en == fr else ("en" if en > fr else "fr")
        return cls(text, tuple(t for t, _, _ in spans), spans, phrase, language)

    def with_vector(self, vector: np.ndarray) -> "Query":
        return replace(self, vector=vector)

    def with_second_vector(self, vector: np.ndarray) -> "Query":
        return replace(self, second_vector=vector)

    def with_foreign(self, foreign: bool) -> "Query":
        return replace(self, foreign=foreign)
