"""What to show of a passage: highlighted query terms and a short snippet.

Public entry points: :func:`highlight_spans`, :func:`make_snippet`, :func:`highlight_html`.
"""
from __future__ import annotations

import html
import re
from typing import Callable, Collection, Sequence

from .analyzer import fold, terms_with_spans

_SENTENCE_END = frozenset(".!?…»\")")
# A sentence ends at a line break or at . ! ? … (and a closing quote) followed by a space: « 8.3 »,
# « lilypond.org » and « 2.18 » are inside one.
_SENTENCE_STOP = re.compile(r"[.!?…]+[»\")]?(?=\s|$)|\n")


Spans = Sequence[tuple[str, int, int]]  # a text's (term, start, end), as :func:`~kb.analyzer.terms_with_spans` gives


def highlight_spans(text: str, query_terms: Collection[str], words: Collection[str] = (),
                    spans: Spans | None = None) -> list[tuple[int, int]]:
    """Character spans of the words of ``text`` whose term is one of ``query_terms``.

    Matching is stem-aware and accent-blind: « partagee » highlights « partagées ».
    When ``words`` (folded query words) are given, only those very words are
    marked: for a query in another language, where a French stem would mark
    « collecte » for « collective ». ``spans``: the text's terms already analysed.
    """
    wanted = set(query_terms)
    spans = terms_with_spans(text) if spans is None else spans
    if words:
        exact = set(words)
        return [(s, e) for t, s, e in spans if t in wanted and fold(text[s:e]) in exact]
    return [(s, e) for t, s, e in spans if t in wanted]


def _sentences(text: str) -> list[tuple[int, int]]:
    out, cuts = [], [m.end() for m in _SENTENCE_STOP.finditer(text)]
    for s, e in zip([0, *cuts], [*cuts, len(text)]):
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def make_snippet(text: str, query_terms: Collection[str], max_words: int = 40, spans: Spans | None = None) -> str:
    """The sentence matching most query terms, cut to about ``max_words`` around its matches.

    ``spans``: the text's terms already analysed.
    """
    wanted = set(query_terms)
    # Words never cross a sentence's end, so the text is analysed once and its matches bucketed.
    matches = [(s, t) for t, s, _ in (terms_with_spans(text) if spans is None else spans) if t in wanted]
    best, best_key, i = None, (-1, False, False, -1), 0
    for s, e in _sentences(text):
        while i < len(matches) and matches[i][0] < s:
            i += 1
        j = i
        while j < len(matches) and matches[j][0] < e:
            j += 1
        found = [t for _, t in matches[i:j]]
        # On a tie, a real sentence says more than a heading; with no query word at all (a passage
        # found by meaning only), a sentence that ends like one rather than a long title line.
        ended = bool(found) or text[e - 1] in _SENTENCE_END
        key = (len(set(found)), len(text[s:e].split()) >= 8, ended, len(found))
        if key > best_key:
            best, best_key = (s, e, matches[i][0] - s if found else None), key  # and its first match
    if best is None:
        return ""
    s, e, first = best
    sentence = text[s:e]
    words = list(re.finditer(r"\S+", sentence))
    if len(words) <= max_words:
        return sentence
    centre = next((i for i, w in enumerate(words) if first is not None and first < w.end()), 0)
    start = max(0, min(centre - max_words // 3, len(words) - max_words))
    end = start + max_words
    out = sentence[words[start].start():words[end - 1].end()]
    return ("… " if start > 0 else "") + out + (" …" if end < len(words) else "")


def mark_spans(text: str, spans: Sequence[tuple[int, int]], before: str, after: str,
               escape: Callable[[str], str] = lambda s: s) -> str:
    """``text`` with each span wrapped in ``before``/``after`` (overlaps skipped), escaped by ``escape``."""
    out, last = [], 0
    for s, e in sorted(spans):
        if s < last:
            continue
        out.append(escape(text[last:s]))
        out.append(before + escape(text[s:e]) + after)
        last = e
    out.append(escape(text[last:]))
    return "".join(out)


def highlight_html(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` as HTML, escaped, with ``spans`` wrapped in ``<mark>`` and line breaks kept."""
    return mark_spans(text, spans, "<mark>", "</mark>", html.escape).replace("\n", "<br>")
