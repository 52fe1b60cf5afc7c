"""Language of a text (langdetect, seeded) and whether it is language at all.

A PDF whose fonts have no Unicode mapping extracts as "letter soup": strings of
letters that langdetect will still label with some language. Real text, in any
of the languages a Québec organisation files, is about one third function words
(« de », « la », « the », « of »); letter soup has almost none. That ratio,
with the share of word-like tokens, is the test.

Public entry points: :func:`detect_language`, :func:`is_language`.
"""
from __future__ import annotations

import re
import threading

_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
_VOWELS = set("aeiouyàâäéèêëîïôöùûüÿœæáíóúãõ")

# Function words of the languages one may meet in such a corpus.
FUNCTION_WORDS = frozenset("""
de la le les des du un une et en à au aux pour par sur dans que qui ne pas est sont
il elle ils elles nous vous on ce cette ces son sa ses leur leurs se plus avec ou
qu
the of and to in a is that for it as with was on be by are this from or an at not
el los las del y con por para una es se lo al
der die das und den dem zu ist nicht von mit sich auf für
il di che per con non una sono della
o os da do em um uma com não
""".split())

_lock = threading.Lock()


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def is_language(text: str, min_tokens: int = 30) -> bool:
    """True when ``text`` reads as natural language rather than letter soup.

    Texts with fewer than ``min_tokens`` words are given the benefit of the doubt
    unless most of their tokens are not word-like at all.
    """
    tokens = _tokens(text)
    if not tokens:
        return False
    wordlike = sum(1 for t in tokens if len(t) <= 25 and (len(t) <= 3 or _VOWELS & set(t))) / len(tokens)
    if len(tokens) < min_tokens:
        return wordlike >= 0.5
    longer = [t for t in tokens if len(t) > 1]  # elided "l", "d" say little either way
    function = sum(1 for t in longer if t in FUNCTION_WORDS) / max(len(longer), 1)
    return function >= 0.12 and wordlike >= 0.7


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the main language of ``text``, deterministic; None if unknown."""
    if len(_tokens(text)) < 3:
        return None
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    with _lock:  # langdetect keeps global state; the seed makes it deterministic
        DetectorFactory.seed = 0
        try:
            return detect(text[:5000])
        except LangDetectException:
            return None
