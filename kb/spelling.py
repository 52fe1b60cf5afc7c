"""« Vouliez-vous dire… ? »: corrections from the corpus's own vocabulary.

A query word the corpus never uses is compared, accent- and case-blind, with
the words the corpus does use (Levenshtein distance through rapidfuzz: 1 edit
for words of up to 6 letters, 2 beyond); among the closest, the most frequent
wins, spelled as the documents spell it most often (« gouvernanse » →
« gouvernance »). Short words, numbers and rare corpus words are never offered.

Public entry point: :class:`Speller`.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

from .analyzer import fold

_WORD = re.compile(r"[^\W\d_]{4,}")
_MIN_COUNT = 2  # a word seen once in the corpus may itself be a typo


class Speller:
    """Corrects words against the vocabulary of a set of texts.

    Args:
        texts: the corpus (passages), read once.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        surface: Counter[str] = Counter()
        for text in texts:
            surface.update(w.lower() for w in _WORD.findall(text))
        counts: Counter[str] = Counter()
        spelled: dict[str, tuple[int, str]] = {}
        for word, n in surface.items():
            key = fold(word)
            counts[key] += n
            if n > spelled.get(key, (0, ""))[0]:
                spelled[key] = (n, word)
        self._counts = {w: n for w, n in counts.items() if n >= _MIN_COUNT}
        self._words = list(self._counts)
        self._spelled = {k: v[1] for k, v in spelled.items()}

    def correct(self, word: str) -> str | None:
        """The corpus word closest to ``word``, as the documents spell it; None when nothing is close."""
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        key = fold(word)
        if len(key) < 4 or not key.isalpha() or key in self._counts:
            return None
        limit = 1 if len(key) <= 6 else 2
        found = process.extract(key, self._words, scorer=Levenshtein.distance, score_cutoff=limit, limit=20)
        if not found:
            return None
        best = min(found, key=lambda m: (m[1], -self._counts[m[0]], m[0]))
        return self._spelled[best[0]]
