"""French-aware text analysis for lexical search and highlighting.

``l’évaluation`` → ``evalu``: typographic apostrophes are plain ones, elided
articles (``l'``, ``d'``, ``qu'``…) and stop words are dropped, case and accents
are folded, and words are stemmed (Snowball French) *after* folding, so a query
typed without accents (« gouvernance partagee ») finds the accented text. A
light rule then merges the plural and feminine forms Snowball leaves apart on
folded words (« partagée », « partagé », « partage »).

Public entry points: :func:`analyze`, :func:`query_terms`, :func:`terms_with_spans`, :func:`fold`,
:func:`fold_words`, :func:`phrase_finder`.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import Callable

from .errors import QueryError

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SPECIAL = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "’": "'", "‘": "'", "ß": "ss"})

# French function words, then English ones (queries are sometimes in English).
STOP_WORDS = frozenset("""
a à ai aie ainsi alors au aucun aucune aupres auquel aussi autre autres aux auxquels avaient avais avait
avant avec avoir c ça car ce ceci cela celle celles celui cependant certain certaine certains ces cet
cette ceux chacun chacune chaque chez ci comme comment d dans de des desquels deux dont du duquel donc
elle elles en encore entre es est et etaient etait etant ete etre eu eux fait faire fois font ici il
ils j je jusqu l la laquelle le lequel les lesquels leur leurs lors lorsqu lui m ma mais me meme memes
mes moi mon n ne ni non nos notre nous on ont or ou où par parce pas peu peut plus pour pourquoi
puis puisqu qu quand que quel quelle quelles quels qui quoi quoiqu s sa sans se selon ses si sien
son sont sous soi sur t ta te tes toi ton tous tout toute toutes tres un une unes uns vers via vos
votre vous y
veut veulent vouloir souhaite souhaitent doit doivent peuvent faut
the of and or to in on for with by from at as is are was were be been this that these those it its
an how what which who whom why when where do does did not no
""".split())


# Words that tell a query's language apart (langdetect is unreliable on two to six words).
ENGLISH_WORDS = frozenset("the of and to for with how what which who why where when among is are be an by from at "
                          "into about between in this that these those do does can should".split())
FRENCH_WORDS = frozenset("le la les des du de et pour avec dans sur un une en au aux est sont qui que comment par "
                         "ce cette ces son sa ses leur leurs entre".split())


def _strip_marks(text: str) -> str:
    """Compatibility decomposition without combining marks (per character: NFKD never composes)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


@lru_cache(maxsize=8192)
def _fold_run(run: str) -> str:
    return _strip_marks(run.translate(_SPECIAL))


def fold(text: str) -> str:
    """Lower-case, without accents, ligatures spelled out, apostrophes plain.

    Then compatibility-decomposed: a few characters decompose to capitals or to
    other non-ASCII letters (« ᴬ » → « A », « Ǣ » → « æ »), for queries and texts alike.
    """
    text = text.lower()
    # Only the (few, repeated) non-ASCII runs are mapped and decomposed: a long passage is not walked
    # character by character in Python (3.5× faster on real passages than translating the whole text).
    return text if text.isascii() else _NON_ASCII.sub(lambda m: _fold_run(m.group()), text)


def fold_words(text: str) -> str:
    """The folded words of ``text`` joined by single spaces (for verbatim phrase matching)."""
    return " ".join(_WORD.findall(fold(text)))


def phrase_finder(phrase: str) -> Callable[[str], bool]:
    """Whether a :func:`fold` ed text holds the words of ``phrase`` (as :func:`fold_words` gives them), in order.

    ``phrase_finder(fold_words(q))(fold(t))`` is true exactly when `` {fold_words(q)} ``
    is in `` {fold_words(t)} ``, without splitting ``t`` into words.
    """
    # The pattern starts with a literal (the regex engine's fast scan); the word boundary before it is
    # checked here ([^\W_] is str.isalnum), at every occurrence: « xa a a » holds « a a » from its 2nd word.
    pattern = re.compile(r"[\W_]+".join(map(re.escape, phrase.split())) + r"(?![^\W_])")

    def found(folded: str) -> bool:
        m = pattern.search(folded)
        while m is not None:
            if m.start() == 0 or not folded[m.start() - 1].isalnum():
                return True
            m = pattern.search(folded, m.start() + 1)
        return False

    return found


_stemmer_local = threading.local()


def _stemmer():
    stemmer = getattr(_stemmer_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _stemmer_local.stemmer = Stemmer.Stemmer("french")
    return stemmer


def term(word: str) -> str:
    """The index term of one folded word (stop words are handled by the caller)."""
    if word.isdigit():
        return word
    stem = _stemmer().stemWord(word)
    if len(stem) > 3 and stem.endswith("s"):
        stem = stem[:-1]
    for _ in range(2):
        if len(stem) > 4 and stem.endswith("e"):
            stem = stem[:-1]
    return stem


@lru_cache(maxsize=200_000)
def word_term(word: str) -> str | None:
    """The index term of one word as written, or None for a stop word or a lone letter."""
    folded = fold(word)
    if folded in STOP_WORDS or (len(folded) == 1 and not folded.isdigit()):
        return None
    return term(folded)


def terms_with_spans(text: str) -> list[tuple[str, int, int]]:
    """``(term, start, end)`` for every non-stop word of ``text``; spans index ``text``."""
    out = []
    for m in _WORD.finditer(text):
        t = word_term(m.group())
        if t is not None:
            out.append((t, m.start(), m.end()))
    return out


def analyze(text: str) -> list[str]:
    """The index terms of ``text``, in order (stop words removed)."""
    return [t for t, _, _ in terms_with_spans(text)]


def has_words(text: str) -> bool:
    """True if ``text`` holds at least one word (stop word or not)."""
    return bool(_WORD.search(text))


def query_terms(query: str) -> list[str]:
    """The terms of a query (passages or mandates).

    Raises:
        QueryError: the query is empty (kind "empty") or only stop words (kind "stopwords").
    """
    query = query.strip()
    if not query or not has_words(query):
        raise QueryError("la requête est vide : tapez quelques mots")
    terms = analyze(query)
    if not terms:
        raise QueryError(f"« {query} » ne contient que des mots vides : ajoutez un mot significatif", "stopwords")
    return terms
