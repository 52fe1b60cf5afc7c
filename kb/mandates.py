"""Past mandates as records, read from the documents that describe them.

A mandate block, in any document that has them: a title (a heading, or a short
line just before the fields), fields such as ``Année : 2022–2024 (en cours)``
and ``Mandataire : Ville de Joliette`` (or ``Client :``), in any order, then a
description, sometimes a ``Livrable`` and links. A block ends at the next
heading of its level, at the next mandate's fields, or at an unstyled heading
line (short, capitalised, no final punctuation) that starts something else.

Ranking them is :mod:`kb.mandate_search`'s job.

Public entry points: :func:`extract_mandates`, :func:`derive_themes`, :func:`mandate_text`.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Sequence

from .analyzer import analyze, fold
from .records import Block, Mandate

_LABELS = {
    "année": "years", "années": "years", "annee": "years", "annees": "years", "période": "years",
    "periode": "years", "dates": "years",
    "mandataire": "client", "mandataires": "client", "client": "client", "cliente": "client",
    "clients": "client", "partenaire": "client",
    "livrable": "deliverables", "livrables": "deliverables",
    "description": "description",
}
_FIELD = re.compile(r"(?:(?<=\s)|^)(" + "|".join(sorted(_LABELS, key=len, reverse=True)) + r")\s*:\s*", re.I)
_URL = re.compile(r"https?://[^\s<>\"»)]+")
_YEAR = re.compile(r"(?:19|20)\d{2}")
_ONGOING = re.compile(r"en cours|aujourd|présent|present|ongoing", re.I)
_BULLET = re.compile(r"^[•◦▪‣●○■□–—\-*·]\s")

# Practice themes of collective development, each with the phrases that signal it.
THEMES: dict[str, tuple[str, ...]] = {
    "gouvernance": ("gouvernance", "gouvernance partagée", "instance", "comité de pilotage",
                    "mécanisme de collaboration", "cadre de gouvernance"),
    "développement social": ("développement social", "politique sociale", "politiques sociales",
                             "développement communautaire", "sociocommunautaire"),
    "culture": ("culture", "culturel", "culturelle", "politique culturelle"),
    "immigration": ("immigration", "immigrantes", "immigrants", "ethnoculturelles", "accueil et intégration"),
    "climat et environnement": ("changements climatiques", "climat", "environnement", "transition socioécologique",
                                "développement durable"),
    "participation citoyenne": ("participation citoyenne", "citoyens", "citoyennes", "citoyen·ne·s",
                                "consultation", "consultations", "démarche participative"),
    "planification stratégique": ("planification stratégique", "plan d'action", "plans d'action", "priorités",
                                  "vision commune", "planification"),
    "concertation et mobilisation": ("concertation", "concerté", "mobilisation", "collaboration intersectorielle",
                                     "table de concertation"),
    "revitalisation et aménagement": ("revitalisation", "aménagement", "urbain", "urbains", "cœur villageois",
                                      "quartiers"),
    "enfance, jeunesse et famille": ("enfance", "jeunesse", "famille", "familles", "réussite éducative", "jeunes"),
    "inclusion et équité": ("inclusion", "inclusif", "inclusifs", "inclusive", "équité", "équitables",
                            "inégalités", "pauvreté"),
    "évaluation et apprentissages": ("évaluation", "apprentissages", "indicateurs"),
}
_THEME_TERMS = {name: [analyze(p) for p in phrases] for name, phrases in THEMES.items()}


def _contains(seq: list[str], sub: list[str]) -> int:
    """How many times ``sub`` occurs as a contiguous run in ``seq``."""
    if not sub:
        return 0
    n = len(sub)
    return sum(seq[i:i + n] == sub for i in range(len(seq) - n + 1))


def derive_themes(title: str, text: str, max_themes: int = 4) -> tuple[str, ...]:
    """Themes whose phrases the text uses (title counts double); strongest first."""
    t_title, t_text = analyze(title), analyze(text)
    scores = {}
    for name, phrases in _THEME_TERMS.items():
        score = sum(2 * _contains(t_title, p) + _contains(t_text, p) for p in phrases)
        if score >= 2:
            scores[name] = score
    return tuple(sorted(scores, key=lambda k: (-scores[k], k))[:max_themes])


def parse_years(years: str) -> tuple[int | None, int | None, bool]:
    found = [int(y) for y in _YEAR.findall(years)]
    start, end = (min(found), max(found)) if found else (None, None)
    return start, end, bool(_ONGOING.search(years))


def _slug(title: str, start: int | None) -> str:
    words = [w for w in re.findall(r"[a-z0-9]+", fold(title)) if len(w) > 2 and w not in _SLUG_STOP][:6]
    base = "-".join(words) or "mandat"
    return f"{base}-{start}" if start else base


_SLUG_STOP = frozenset("les des une dans pour avec sur aux par entre autour vers cadre".split())


def _is_untyped_heading(text: str) -> bool:
    words = text.split()
    return (len(words) <= 10 and text[:1].isupper() and not text.rstrip().endswith(tuple(".!?:;,…»)"))
            and not _URL.search(text) and not _BULLET.match(text) and not _FIELD.search(text))


@dataclass
class _Draft:
    title: str
    level: int
    page: int
    page_end: int
    fields: dict[str, str] = field(default_factory=dict)
    description: list[str] = field(default_factory=list)
    deliverables: list[str] = field(default_factory=list)
    mode: str = "description"


def _segments(text: str) -> list[tuple[str | None, str]]:
    """Split a paragraph into ``(field, value)`` runs; ``None`` for text before any label."""
    out: list[tuple[str | None, str]] = []
    pos, current = 0, None
    for m in _FIELD.finditer(text):
        before = text[pos:m.start()].strip()
        if before or current is not None:
            out.append((current, before))
        current, pos = _LABELS[m.group(1).lower()], m.end()
    tail = text[pos:].strip()
    if tail or current is not None:
        out.append((current, tail))
    return out


def extract_mandates(blocks: Sequence[Block], doc_id: str, path: str) -> list[Mandate]:
    """Every mandate block of one document, in reading order."""
    drafts, _ = _read(blocks)
    return _records(drafts, doc_id, path)


def with_mandate_endings(blocks: Sequence[Block]) -> list[Block]:
    """The blocks, with each plain line that ends a mandate made a heading of that mandate's level.

    What follows a portfolio's last mandate (a back cover, an annex) then starts a
    section of its own for the chunker, instead of being cited under the mandate.
    """
    _, ends = _read(blocks)
    out = list(blocks)
    for i, level in ends.items():
        out[i] = replace(out[i], kind="heading", level=level)
    return out


def _read(blocks: Sequence[Block]) -> tuple[list[_Draft], dict[int, int]]:
    """Mandate drafts, and ``{block index: level}`` of the plain lines that end a mandate."""
    drafts: list[_Draft] = []
    ends: dict[int, int] = {}
    current: _Draft | None = None
    title: tuple[str, int, int] | None = None  # (text, page, level) of the last heading not yet used
    last_para: tuple[str, int] | None = None  # a short line that may be a title in bold-less layouts

    for i, block in enumerate(blocks):
        text = block.text.strip()
        if block.kind == "heading":
            label = _LABELS.get(fold(text).rstrip(" :"))
            if label in ("description", "deliverables") and current is not None:
                current.mode = label
                continue
            if current is not None and block.level <= current.level:
                current = None
            if current is not None:  # a sub-heading inside the mandate
                current.description.append(text)
                current.page_end = max(current.page_end, block.page_end)
                continue
            title, last_para = (text, block.page, block.level), None
            continue
        segments = _segments(text)
        fields = [(f, v) for f, v in segments if f in ("years", "client")]
        if fields:
            if current is None or any(f in current.fields for f, _ in fields):
                if title is not None:
                    t_text, t_page, t_level = title
                elif last_para is not None:
                    t_text, t_page, t_level = last_para[0], last_para[1], 99
                else:
                    t_text, t_page, t_level = "", block.page, 99
                current = _Draft(t_text, t_level, t_page, block.page_end)
                drafts.append(current)
                title = last_para = None
        if current is None:
            last_para = (text, block.page) if len(text.split()) <= 30 and not _BULLET.match(text) else None
            continue
        if not fields and current.description and _is_untyped_heading(text):
            ends[i] = min(current.level, 9)
            current = None  # something else starts (an annex, a back cover…)
            last_para = (text, block.page)
            continue
        current.page_end = max(current.page_end, block.page_end)
        for f, value in segments:
            if f in ("years", "client"):
                current.fields.setdefault(f, value.strip(" ·|–—-,;"))
            elif f in ("description", "deliverables"):
                current.mode = f
                if value:
                    getattr(current, f).append(value)
            elif value:
                (current.deliverables if current.mode == "deliverables" else current.description).append(value)
    return drafts, ends


def _records(drafts: Sequence[_Draft], doc_id: str, path: str) -> list[Mandate]:
    """Complete drafts (a title and a plausible client) become records with unique ids."""
    mandates: list[Mandate] = []
    seen: set[str] = set()
    for d in drafts:
        if not d.title or not _plausible_client(d.fields.get("client", "")):
            continue
        years = d.fields.get("years", "")
        start, end, ongoing = parse_years(years)
        description = "\n".join(d.description)
        mid = _slug(d.title, start)
        while mid in seen:
            mid += "-" + hashlib.sha1(f"{d.title}{d.fields}".encode()).hexdigest()[:4]
        seen.add(mid)
        links = tuple(dict.fromkeys(u.rstrip(".,;") for u in _URL.findall(description + "\n" + "\n".join(d.deliverables))))
        mandates.append(Mandate(mid, d.title, d.fields["client"].strip(), years.strip(), start, end, ongoing,
                                description, tuple(d.deliverables), links,
                                derive_themes(d.title, description), path, d.page, d.page_end, doc_id))
    return mandates


_CODE = re.compile(r"[\\{}<>$=]|\S{40,}")


def _plausible_client(client: str) -> bool:
    """A client names an organisation: a few words, no markup or code (a manual's « Client : » in a
    code listing, a LaTeX macro, or a label followed by a whole paragraph is not a mandate's)."""
    client = client.strip()
    return bool(client) and len(client.split()) <= 20 and not _CODE.search(client)


def mandate_text(m: Mandate) -> str:
    """What is embedded and indexed for a mandate."""
    return f"{m.title} — {m.client}\n{m.description}"


def mandate_lexical_text(m: Mandate) -> str:
    """What BM25 indexes for a mandate: the title counts twice, then client, themes and description."""
    return f"{m.title}\n{m.title}\n{m.client}\n{' '.join(m.themes)}\n{m.description}"


def with_path(mandates: Sequence[Mandate], path: str) -> list[Mandate]:
    """The same mandates, read from a file that was renamed."""
    return [replace(m, path=path) for m in mandates]
