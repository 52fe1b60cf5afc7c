"""Language of a text (langdetect, seeded) and whether it is language at all.

A PDF whose fonts have no Unicode mapping extracts as "letter soup": strings of
letters that langdetect will still label with some language. Real prose, in any
of the languages a Québec organisation files, is about one third function words
(« de », « la », « the », « of »); letter soup has almost none. Text that is not
prose (a manual full of code, a form, Latin placeholder text, Basque) has few
function words too, so the second test is whether its letter trigrams are those
of some language: over 95 % of them are among the trigrams of langdetect's 55
language profiles in real text, under 80 % in letter soup.

Langdetect is confidently wrong on passages that are not prose (a table of
numbers is « Portuguese », code « Catalan »): a passage gets its own language
only when it is prose and the detection is sure, else its document's.

Public entry points: :func:`detect_language`, :func:`is_language`,
:func:`passage_language`.
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
_TRIGRAM_COVERAGE = 0.88  # share of a text's letter trigrams known to some language profile
_PROSE_FUNCTION_SHARE = 0.12
_CONFIDENT = 0.99  # langdetect probability a passage needs to differ from its document


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _function_share(tokens: list[str]) -> float:
    longer = [t for t in tokens if len(t) > 1]  # elided "l", "d" say little either way
    return sum(1 for t in longer if t in FUNCTION_WORDS) / max(len(longer), 1)


def _profile_ngrams() -> dict:
    """Langdetect's n-grams of all its language profiles (loaded once, shared)."""
    from langdetect import detector_factory

    with _lock:
        if detector_factory._factory is None:
            detector_factory.init_factory()
        return detector_factory._factory.word_lang_prob_map


def trigram_coverage(tokens: list[str], limit: int = 5000) -> float:
    """Share of the letter trigrams of ``tokens`` (word edges included) known to some language."""
    known = _profile_ngrams()
    grams = [g for t in tokens[:limit] for g in (f" {t} "[i:i + 3] for i in range(len(t))) if len(g) == 3]
    return sum(g in known for g in grams) / len(grams) if grams else 0.0


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
    if _function_share(tokens) >= _PROSE_FUNCTION_SHARE and wordlike >= 0.7:
        return True
    return trigram_coverage(tokens) >= _TRIGRAM_COVERAGE


def is_prose(text: str) -> bool:
    """Sentences of a natural language (function words), not code, a table or a list of names."""
    return _function_share(_tokens(text)) >= _PROSE_FUNCTION_SHARE


def detect_language(text: str, min_confidence: float = 0.0) -> str | None:
    """ISO 639-1 code of the main language of ``text``, deterministic.

    None if unknown, or if langdetect's probability is under ``min_confidence``.
    """
    if len(_tokens(text)) < 3:
        return None
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    with _lock:  # langdetect keeps global state; the seed makes it deterministic
        DetectorFactory.seed = 0
        try:
            best = detect_langs(text[:5000])[0]
        except LangDetectException:
            return None
    return best.lang if best.prob >= min_confidence else None


def passage_language(text: str, document_lang: str | None, min_words: int = 25) -> str | None:
    """The language of a passage: its own when it is prose of ``min_words`` words or more
    detected with confidence, else its document's."""
    if len(text.split()) < min_words or not is_prose(text):
        return document_lang
    return detect_language(text, _CONFIDENT) or document_lang
