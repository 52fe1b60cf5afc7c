"""French for what a person reads: reasons, languages, numbers, and document text made inert.

Display only: the library's reason codes and language codes stay as they are
in the index and the CLI; they are translated here when shown. Text that comes
from a document (titles, headings, passages) is never interpreted: HTML is
escaped and every Markdown, math or emoji marker is turned into a character
reference, so ``![x](http://…)`` shows as those characters and loads nothing.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Sequence

from kb.snippet import mark_spans

LANGUAGES = {"fr": "français", "en": "anglais", "es": "espagnol", "de": "allemand", "it": "italien",
             "pt": "portugais", "nl": "néerlandais", "ca": "catalan", "ar": "arabe", "zh-cn": "chinois",
             "ru": "russe", "ja": "japonais", "ht": "créole haïtien", "la": "latin",
             # the rest of what langdetect names
             "af": "afrikaans", "bg": "bulgare", "bn": "bengali", "cs": "tchèque", "cy": "gallois", "da": "danois",
             "el": "grec", "et": "estonien", "fa": "persan", "fi": "finnois", "gu": "goudjarati", "he": "hébreu",
             "hi": "hindi", "hr": "croate", "hu": "hongrois", "id": "indonésien", "kn": "kannada", "ko": "coréen",
             "lt": "lituanien", "lv": "letton", "mk": "macédonien", "ml": "malayalam", "mr": "marathi",
             "ne": "népalais", "no": "norvégien", "pa": "pendjabi", "pl": "polonais", "ro": "roumain",
             "sk": "slovaque", "sl": "slovène", "so": "somali", "sq": "albanais", "sv": "suédois", "sw": "swahili",
             "ta": "tamoul", "te": "télougou", "th": "thaï", "tl": "tagalog", "tr": "turc", "uk": "ukrainien",
             "ur": "ourdou", "vi": "vietnamien", "zh-tw": "chinois (traditionnel)"}

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")

# Markdown, math ($) and emoji/directive (:) markers, and the characters HTML needs escaped.
_INERT = {c: f"&#{ord(c)};" for c in "\\`*_{}[]()#+-.!|~<>$:&\"'="}


def language(code: str | None) -> str:
    """« français » for "fr"; an unknown code as it is."""
    return LANGUAGES.get(code or "", code or "")


def count(n: int, singular: str, plural: str | None = None) -> str:
    """« 1 texte vectorisé », « 0 texte », « 3 textes vectorisés » (French: the plural from 2)."""
    return f"{n} {singular if abs(n) < 2 else (plural or singular + 's')}"


def number(value: float, decimals: int = 2) -> str:
    """French number format: 1,92 · 12 345,6 (narrow no-break space between thousands)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def date_time(iso: str) -> str:
    """« 23 novembre 2026 à 16 h 05 (EST) » in the server's time zone; the text as it is if unreadable."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return iso
    return (f"{moment.day} {MONTHS[moment.month - 1]} {moment.year} à {moment.hour} h {moment.minute:02d} "
            f"({moment.tzname()})")


def size(n_bytes: int) -> str:
    """A file size in French units: 812 o, 12,4 Ko, 3,1 Mo."""
    for unit, factor in (("Go", 1 << 30), ("Mo", 1 << 20), ("Ko", 1 << 10)):
        if n_bytes >= factor:
            return f"{number(n_bytes / factor, 1)} {unit}"
    return f"{n_bytes} o"


def inert(text: str) -> str:
    """``text`` for an HTML-enabled Markdown block, shown exactly as written and interpreting nothing."""
    return "".join(_INERT.get(c, c) for c in text)


def inert_lines(text: str) -> str:
    """:func:`inert`, line breaks kept."""
    return inert(text).replace("\n", "<br>")


def highlighted(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Document text, inert, with the query's words in ``<mark>`` and line breaks kept."""
    return mark_spans(text, spans, "<mark>", "</mark>", inert).replace("\n", "<br>")


def md_label(text: str) -> str:
    """Text for a Markdown-only string (labels, captions, alerts): every inline marker backslash-escaped.

    Line-start markers (``#``, ``>``, ``-``, ``+``, ``1.``) are escaped where they start the text.
    """
    text = re.sub(r"([\\`*_{}\[\]<>$:~|!])", r"\\\1", " ".join(text.split()))
    text = re.sub(r"^(\d+)([.)])", r"\1\\\2", text)  # « 1. » would start a list
    return re.sub(r"^([#>+\-])", r"\\\1", text)


def document_html(inner: str) -> str:
    """HTML built from document text, in a block the interface translator (french.js) leaves alone."""
    return f'<div data-kb-document="1">{inner}</div>'
