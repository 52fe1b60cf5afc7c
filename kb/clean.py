"""Lines of a PDF → clean headings and paragraphs that read like the original.

What it does, in order:
- Unicode: NFC, ligatures (``ﬁ`` → ``fi``), no-break spaces → spaces.
- Running headers, footers and page numbers (lines repeating at the top or
  bottom of pages, or sharing the page number's row) are removed.
- Tables of contents and indexes (runs of lines ending with page numbers) and
  bibliographies (a « Bibliographie » section of references) are left out of
  the text, and counted.
- Headings are found from font size (larger than the body text) or from short
  bold lines; paragraphs from vertical gaps, list bullets and page breaks.
- Words hyphenated at a line end are joined (``dévelop-`` + ``pement``), real
  compounds (``Petit-Saguenay``) keep their hyphen.

Public entry point: :func:`clean_document`.
"""
from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .extract import RawDocument
from .records import Block, Line

# PDFium marks a hyphen it inserted at a line break with U+FFFE (older builds: U+0002);
# U+00AD is the soft hyphen of other producers. All three mean "the word continues".
_SOFT_HYPHENS = "\ufffe\u0002\u00ad"
_LIGATURES = {chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)}
_SPACES = {"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\t": " "}
_TRANSLATE = str.maketrans({**_LIGATURES, **_SPACES})
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BULLET = re.compile(r"^(?:[•◦▪‣●○■□–—\-*·]\s|\(?\d{1,2}[.)]\s|\(?[a-z][.)]\s)")
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?(?:\d{1,4}|(?-i:[ivxlc]{1,6}))(?:\s*(?:/|sur|of|de)\s*\d{1,4})?$", re.I)
_TERMINAL = tuple(".!?…:;»”\")")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_JUNK_TITLES = re.compile(r"^(untitled|sans titre|document\d*|microsoft word.*|.*\.(docx?|pdf|indd))$", re.I)

_GAP_RATIO = 1.3  # a baseline gap this much larger than usual starts a paragraph
_HEADING_MAX_WORDS = 14

# Tables of contents and indexes: runs of lines that end with page numbers (« 1.2 Titre . . . 12 »,
# « \\pageref . . . 44, 99 »). Bibliographies: the section under such a heading.
_ROMAN = r"(?=[ivx])x{0,3}(?:ix|iv|v?i{0,3})"  # front-matter page numbers, i to xxxix
_LOCATOR = re.compile(rf"(?<![\w.,])(\d{{1,4}}|{_ROMAN})(?:\s*[,–-]\s*(?:\d{{1,4}}|{_ROMAN}))*\s*$")
_LEADER = re.compile(r"(?:\.\s?){4,}|(?:·\s?){4,}|…{2,}|_{4,}")
_SECTION_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z](?:\.\d+)+\.?|chapitre|chapter|partie|part|annexe|appendix)(?:\s|$)", re.I)
_APPARATUS_TITLE = {
    "toc": re.compile(r"^(?:table des matières|sommaire|contents|table of contents|table des figures"
                      r"|liste des (?:figures|tableaux)|list of (?:figures|tables))$", re.I),
    "index": re.compile(r"^index(?: (?:général|des \w+|of \w+))?$", re.I),
}
_BIBLIOGRAPHY = re.compile(r"^(?:[\dA-Z]+(?:\.\d+)*\.?\s+)?(?:bibliographie|références(?: bibliographiques)?"
                           r"|bibliography|references|ouvrages cités|works cited)$", re.I)
_REFERENCE_ENTRY = re.compile(r"^(?:\[[\w+.-]{1,12}\]|\d{1,3}\.\s)")
_MIN_REFERENCES = 5  # lines ending with a page number in a run, at least


@dataclass(frozen=True)
class CleanDocument:
    """The cleaned content of one PDF and what could be read about it.

    ``dropped`` counts, by kind (``toc``, ``index``, ``bibliography``), the pages
    from which a table of contents, an index or a bibliography was left out.
    """

    blocks: tuple[Block, ...]
    title: str
    year: int | None
    dropped: dict[str, int] = field(default_factory=dict)


def normalize_text(text: str) -> str:
    """NFC, ligatures expanded, exotic spaces made plain, runs of spaces collapsed."""
    text = unicodedata.normalize("NFC", text.translate(_TRANSLATE))
    text = re.sub(f"[{_SOFT_HYPHENS}]", "", text)
    text = re.sub("[\ud800-\udfff]", "\ufffd", text)  # a lone surrogate cannot be stored or hashed
    text = _CONTROLS.sub("", text)  # extraction maps or drops them; none may reach a passage
    return re.sub(r" {2,}", " ", text).strip()


def _line_key(line: Line) -> str:
    """Text with digits masked, and height on the page: running lines repeat at one place."""
    text = re.sub(r"\s+", " ", re.sub(r"\d+", "#", line.text.lower())).strip()
    return f"{round(line.y / 4)}|{text}"


def _remove_running_lines(pages: list[list[Line]]) -> list[list[Line]]:
    """Drop page numbers and running headers and footers.

    Among the first two and last two lines of each page, a line is running when
    the same text (digits aside) stands at the same height on 3 pages or more (2
    in a short document), or
    when it shares its row with the page number (« 1.5 MESURES … 25 »).
    """
    edge = lambda lines: lines[:2] + lines[-2:]  # noqa: E731
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_line_key(line) for line in edge(lines)})
    threshold = max(2, min(3, round(0.3 * len(pages))))  # 2 pages of a short document, else 3
    running = {k for k, c in counts.items() if len(pages) >= 2 and c >= threshold}
    out = []
    for lines in pages:
        candidates = edge(lines)
        numbers = [ln.y for ln in candidates if _PAGE_NUMBER.match(ln.text)]
        drop = {id(ln) for ln in candidates
                if _line_key(ln) in running or any(abs(ln.y - y) < 0.35 * max(ln.size, 1.0) for y in numbers)}
        out.append([line for line in lines if id(line) not in drop])
    return out


def _gutter(lines: list[Line], width: float) -> float | None:
    """The x of an empty vertical band between two text columns, or None for one column."""
    if len(lines) < 6 or width <= 0:
        return None
    best, best_width = None, 0.0
    step = width / 200
    allowed = max(1, len(lines) // 10)  # titles and captions may span both columns

    def open_at(x: float) -> bool:
        return sum(ln.x0 < x < ln.x1 for ln in lines) <= allowed

    x = width * 0.3
    while x < width * 0.7:
        if open_at(x):
            lo = x
            while x < width * 0.7 and open_at(x):
                x += step
            if x - lo > best_width:
                best, best_width = (lo + x) / 2, x - lo
        x += step
    if best is None or best_width < 8:
        return None
    left = sum(ln.x1 <= best for ln in lines)
    # Page numbers aligned on the right of a table of contents are not a column.
    right = sum(ln.x0 >= best and not _LOCATOR.fullmatch(ln.text) for ln in lines)
    return best if min(left, right) >= 0.25 * len(lines) else None


def _reading_order(lines: list[Line], gutter: float | None) -> list[Line]:
    """Two-column pages read left column then right, band by band between full-width lines."""
    if gutter is None:
        return lines
    ordered: list[Line] = []
    band: list[Line] = []

    def flush() -> None:
        band.sort(key=lambda ln: (ln.x0 >= gutter, -ln.y))
        ordered.extend(band)
        band.clear()

    for ln in sorted(lines, key=lambda ln: -ln.y):
        if ln.x0 < gutter < ln.x1:  # spans both columns: a title, a figure caption
            flush()
            ordered.append(ln)
        else:
            band.append(ln)
    flush()
    return ordered


def _column_edges(lines: list[Line], gutter: float | None) -> dict[int, tuple[float, float]]:
    """``(left, right)`` edges of the column each line sits in (by id): a line is short or
    full-width relative to its own column."""
    groups: dict[str, list[Line]] = {"all": lines} if gutter is None else {
        "left": [ln for ln in lines if ln.x1 <= gutter], "right": [ln for ln in lines if ln.x0 >= gutter],
        "span": [ln for ln in lines if ln.x0 < gutter < ln.x1]}
    edges: dict[int, tuple[float, float]] = {}
    for group in groups.values():
        if group:
            rights = sorted(ln.x1 for ln in group)
            lefts = sorted(ln.x0 for ln in group)
            edge = (lefts[int(0.1 * (len(lefts) - 1))], rights[int(0.9 * (len(rights) - 1))])
            for ln in group:
                edges[id(ln)] = edge
    return edges


def _body_size(pages: list[list[Line]]) -> float:
    weights: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            weights[round(line.size * 2) / 2] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 10.0


def _heading_level(line: Line, body: float, larger: list[float], full_width: float = float("inf")) -> int:
    """0 for body text, else 1 for the largest heading size, 2 for the next...

    A bold line at body size is a heading only when short and not justified to
    the right margin (``full_width``): a full bold line is emphasis in a paragraph.
    """
    tokens = line.text.split()
    words = len(tokens)
    if words > _HEADING_MAX_WORDS * 2 or _not_a_title(line.text, tokens):
        return 0
    size = round(line.size * 2) / 2
    if size > body * 1.05:
        return larger.index(size) + 1 if size in larger else 1
    first = line.text[0]
    if (line.bold and words <= _HEADING_MAX_WORDS and (first.isupper() or first.isdigit())
            and line.x1 < full_width
            and not line.text.endswith((".", ",", ";")) and not _BULLET.match(line.text)):
        return len(larger) + 1
    return 0


def _not_a_title(text: str, tokens: list[str]) -> bool:
    """Large or bold text that is no heading: glyphs of a music example (« S S S b J 0 »),
    a line of code (« AltoMusic = \\relative { a' a a a } »)."""
    if len(tokens) >= 3 and sum(len(t) == 1 for t in tokens) * 2 >= len(tokens):
        return True
    return "=" in text and "{" in text


# First elements of French compounds that keep their hyphen (« vice-présidente »).
COMPOUND_PREFIXES = frozenset("""
vice ex non sous semi demi mi pré post anti contre arrière avant après bien mal grand grande
petit petite nord sud est ouest saint sainte franco néo pseudo quasi extra ultra auto inter
""".split())


def dehyphenate(head: str, tail: str, vocab: Counter[str]) -> bool:
    """Should ``head-`` at a line end and ``tail`` on the next line be one word without hyphen?

    The document is its own dictionary: whichever form it uses elsewhere wins.
    Without evidence, a capitalised second part (« Petit-Saguenay ») or a known
    compound prefix (« vice-présidente ») keeps the hyphen; anything else was
    hyphenated by the typesetter and is joined.
    """
    joined, hyphenated = (head + tail).lower(), f"{head}-{tail}".lower()
    if vocab[hyphenated] != vocab[joined]:
        return vocab[joined] > vocab[hyphenated]
    if tail[:1].isupper():
        return False
    return head.lower() not in COMPOUND_PREFIXES


def _join(left: str, right: str, vocab: Counter[str]) -> str:
    """Join two lines of one paragraph, undoing end-of-line hyphenation.

    PDFium reports every hyphen at a line end as U+FFFE, whether the typesetter
    added it or the word has one, so both are decided by :func:`dehyphenate`.
    """
    if not left:
        return right
    if left[-1] == "\u00ad":  # an explicit soft hyphen: always a typesetting break
        return left[:-1] + right
    if left[-1] in "\ufffe\u0002-" and len(left) >= 2 and left[-2].isalpha() and right[:1].isalpha():
        head = _WORD.findall(left[:-1])
        tail = _WORD.findall(right)
        if head and tail and dehyphenate(head[-1].split("-")[-1], tail[0].split("-")[0], vocab):
            return left[:-1] + right
        return left[:-1] + "-" + right
    if left[-1] in _SOFT_HYPHENS:
        return left[:-1] + right
    last = left.rsplit(" ", 1)[-1]
    if "://" in last and last[-1] in "/-_.=?&#" and right[:1] not in (" ", ""):
        return left + right  # a URL broken at the line end
    return f"{left} {right}"


def _vocabulary(pages: list[list[Line]]) -> Counter[str]:
    vocab: Counter[str] = Counter()
    for lines in pages:
        for line in lines:
            vocab.update(w.lower() for w in _WORD.findall(line.text.strip(_SOFT_HYPHENS)))
    return vocab


def _line_gaps(pages: list[list[Line]]) -> float:
    """The usual distance between two lines of one paragraph.

    The smallest gap that is frequent (at least a tenth of all gaps), not the
    median: in a form or a portfolio most paragraphs are one line long, and the
    median gap is the gap *between* paragraphs.
    """
    gaps = [round((a.y - b.y) * 2) / 2 for lines in pages for a, b in zip(lines, lines[1:])
            if 0 < a.y - b.y < 3 * a.size]
    if not gaps:
        return 14.0
    counts = Counter(gaps)
    frequent = [g for g, c in counts.items() if c >= 0.1 * len(gaps)]
    return min(frequent) if frequent else statistics.median(gaps)


def _paragraphs(pages: list[list[Line]], page_numbers: list[int], gutters: list[float | None]) -> list[Block]:
    body = _body_size(pages)
    larger = sorted({round(ln.size * 2) / 2 for lines in pages for ln in lines
                     if round(ln.size * 2) / 2 > body * 1.05}, reverse=True)
    usual_gap = _line_gaps(pages)
    vocab = _vocabulary(pages)
    edges: dict[int, tuple[float, float]] = {}
    for lines, gutter in zip(pages, gutters):
        edges.update(_column_edges(lines, gutter))

    def width_marks(line: Line) -> tuple[float, float]:
        """x beyond which ``line`` is full-width, and x before which it stops short, in its column."""
        left, right = edges.get(id(line), (line.x0, line.x1))
        span = max(right - left, 1.0)
        return right - 0.08 * span, right - 0.2 * span

    blocks: list[Block] = []
    cur: list[str] = []  # text of the open block
    cur_kind, cur_level, cur_page, last_page = "", 0, 0, 0
    prev: Line | None = None

    def flush() -> None:
        nonlocal cur
        if cur:
            text = normalize_text(cur[0])
            if text:
                blocks.append(Block(cur_kind, text, cur_page, last_page, cur_level))
        cur = []

    for number, lines in zip(page_numbers, pages):
        for i, line in enumerate(lines):
            level = _heading_level(line, body, larger, width_marks(line)[0])
            kind = "heading" if level else "paragraph"
            new_page = i == 0
            if not cur:
                start = True
            elif kind != cur_kind or level != cur_level:
                start = True
            elif kind == "heading":
                start = new_page or (prev is not None and prev.y - line.y > 2.2 * line.size)
            elif new_page:
                # A paragraph continues over a page break when the last line did not end a sentence.
                start = cur[0].rstrip().endswith(_TERMINAL)
            else:
                gap = prev.y - line.y if prev is not None else 0
                ended = (prev is not None and prev.x1 < width_marks(prev)[1]
                         and prev.text[-1:] not in _SOFT_HYPHENS + "-"
                         and (line.text[0].isupper() or line.text[0].isdigit()))
                start = (gap > _GAP_RATIO * usual_gap or gap < 0 or ended or bool(_BULLET.match(line.text)))
            if start:
                flush()
                cur, cur_kind, cur_level, cur_page = [line.text], kind, level, number
            else:
                sep_left = cur[0]
                cur[0] = _join(sep_left, line.text, vocab)
            last_page = number
            prev = line
    flush()
    return [b if b.kind == "paragraph" else Block(b.kind, b.text.rstrip(" :"), b.page, b.page_end, b.level)
            for b in blocks]


def _title(raw: RawDocument, blocks: list[Block], path: Path) -> str:
    meta = normalize_text(raw.metadata.get("Title", ""))
    if meta and not _JUNK_TITLES.match(meta):
        return meta
    first = [b for b in blocks if b.page == 1 and b.kind == "heading"]
    if first:
        return min(first, key=lambda b: b.level).text
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def _year(raw: RawDocument, blocks: list[Block], path: Path, title: str) -> int | None:
    for block in blocks:
        if block.page != 1:
            break
        if len(block.text) <= 30:  # a title page's "2017" or "SEPTEMBRE 2024"
            found = _YEAR.findall(block.text)
            if found:
                return int(found[0])
    for text in (path.stem, title):
        found = _YEAR.findall(text.replace("_", " ").replace("-", " "))
        if found:
            return int(found[-1])
    return None


def clean_document(raw: RawDocument, path: str | Path) -> CleanDocument:
    """Turn extracted lines into headings and paragraphs, and find title and year.

    Tables of contents, indexes and bibliographies are left out (and counted).
    """
    path = Path(path)
    pages = _remove_running_lines([list(p.lines) for p in raw.pages])
    gutters = [_gutter(lines, p.width) for lines, p in zip(pages, raw.pages)]
    pages = [_reading_order(lines, gutter) for lines, gutter in zip(pages, gutters)]
    numbers = [p.number for p in raw.pages]
    pages, dropped = _drop_reference_lists(pages, numbers)
    blocks, bibliography = _drop_bibliography(_join_split_headings(_paragraphs(pages, numbers, gutters)))
    counts = {kind: len(found) for kind, found in dropped.items() if found}
    if bibliography:
        counts["bibliography"] = len(bibliography)
    title = _title(raw, blocks, path)
    return CleanDocument(tuple(blocks), title, _year(raw, blocks, path, title), counts)


def _join_split_headings(blocks: list[Block]) -> list[Block]:
    """A heading set on several lines (« Les retombées de / nos activités et services… ») is one heading.

    The rest of such a heading comes out as a short paragraph that starts in lower case right
    after a heading that does not end a sentence; a real paragraph never starts that way.
    """
    out: list[Block] = []
    for block in blocks:
        prev = out[-1] if out else None
        if (prev is not None and prev.kind == "heading" and block.kind == "paragraph"
                and block.page == prev.page_end and block.text[:1].islower()
                and len(block.text.split()) <= _HEADING_MAX_WORDS and not prev.text.rstrip().endswith(_TERMINAL)):
            out[-1] = Block("heading", f"{prev.text} {block.text}", prev.page, block.page_end, prev.level)
        else:
            out.append(block)
    return out


def _entries(pages: list[list[Line]]) -> list[tuple[int, list[Line]]]:
    """The lines of all pages as ``(page index, lines)`` entries: a page number that stands
    apart on the row of the previous line (a table of contents without dot leaders) joins it."""
    entries: list[tuple[int, list[Line]]] = []
    for p, lines in enumerate(pages):
        for line in lines:
            prev = entries[-1][1][-1] if entries and entries[-1][0] == p else None
            if (prev is not None and _LOCATOR.fullmatch(_LEADER.sub("", line.text).strip())
                    and abs(prev.y - line.y) < 0.35 * max(line.size, 1.0) and line.x0 > prev.x1):
                entries[-1][1].append(line)
            else:
                entries.append((p, [line]))
    return entries


def _entry_text(lines: list[Line]) -> str:
    return " ".join(line.text for line in lines)


def _is_reference(text: str) -> bool:
    """Does a line end with page numbers after some words (« Titre . . . 12 », « mot, 4, 17 »)?"""
    m = _LOCATOR.search(text)
    if m is None:  # a dot leader whose page number stood at the page's foot (removed with page numbers)
        return bool(_LEADER.search(text[-12:])) and any(c.isalpha() for c in text)
    before = text[:m.start()]
    return any(c.isalpha() for c in before) or bool(_LEADER.search(before))


def _fold_word(text: str) -> str:
    word = text.lstrip("\\").split(" ", 1)[0]
    return unicodedata.normalize("NFKD", word.casefold()).encode("ascii", "ignore").decode()


def _run_kind(texts: list[str], title: str | None) -> str | None:
    """``toc``, ``index`` or None (not a reference list) for a run of entries."""
    refs = [t for t in texts if _is_reference(t)]
    leaders = sum(bool(_LEADER.search(t)) for t in refs) / max(len(refs), 1)
    # Under a « Sommaire » title, or with dot leaders, a short list is enough (a part's own contents).
    least = 2 if title else 3 if leaders >= 0.5 else _MIN_REFERENCES
    with_numbers = sum(bool(_LOCATOR.search(t)) for t in refs)  # a form's « Nom : ....... » has none
    if with_numbers < least or len(refs) < 0.6 * len(texts):
        return None
    pairs = max(len(refs) - 1, 1)
    firsts = [int(m.group(1)) for t in refs if (m := _LOCATOR.search(t)) and m.group(1).isdigit()]
    ascending = sum(b >= a for a, b in zip(firsts, firsts[1:])) / max(len(firsts) - 1, 1)
    words = [_fold_word(t) for t in refs]
    alphabetical = sum(b >= a for a, b in zip(words, words[1:])) / pairs
    numbered = sum(bool(_SECTION_NUMBER.match(t)) for t in refs) / len(refs)
    if title == "index" or (alphabetical >= 0.8 and alphabetical > ascending):
        return "index" if title == "index" or leaders >= 0.3 or len(refs) >= 8 else None
    if title == "toc" or leaders >= 0.3 or (ascending >= 0.8 and numbered >= 0.5):
        return "toc"
    return None


def _runs(entries: list[tuple[int, list[Line]]]) -> list[tuple[int, int]]:
    """``[start, end)`` spans of entries where lines ending with page numbers cluster.

    A run may hold up to two other short lines in a row (a wrapped title, an index
    head word, a letter heading) and crosses page breaks.
    """
    spans: list[tuple[int, int]] = []
    start, last_ref, others = None, None, 0
    for k, (_, lines) in enumerate(entries):
        text = _entry_text(lines)
        if _is_reference(text):
            start = k if start is None else start
            last_ref, others = k, 0
        elif start is not None:
            others += 1
            if others > 2 or len(text.split()) > 15:
                spans.append((start, last_ref + 1))
                start, others = None, 0
    if start is not None:
        spans.append((start, last_ref + 1))
    return spans


def _drop_reference_lists(pages: list[list[Line]], numbers: list[int]) -> tuple[list[list[Line]], dict[str, set[int]]]:
    """Leave out tables of contents and indexes (with their title line).

    Returns:
        The pages without them, and the page numbers they were found on, by kind.
    """
    entries = _entries(pages)
    texts = [_entry_text(lines) for _, lines in entries]
    drop: set[int] = set()
    found: dict[str, set[int]] = {"toc": set(), "index": set()}
    for start, end in _runs(entries):
        title = None
        if start > 0:
            title = next((kind for kind, rx in _APPARATUS_TITLE.items()
                          if rx.match(_LOCATOR.sub("", texts[start - 1]).strip())), None)
        kind = _run_kind(texts[start:end], title)
        if kind is None:
            continue
        span = range(start - 1 if title else start, end)
        drop.update(span)
        found[kind].update(numbers[entries[k][0]] for k in span)
    if not drop:
        return pages, found
    gone = {id(line) for k in drop for line in entries[k][1]}
    return [[line for line in lines if id(line) not in gone] for lines in pages], found


def _looks_like_references(blocks: list[Block]) -> bool:
    """Most paragraphs are bibliographic entries: « [3] Auteur, Titre, 2004 », « 12. Auteur… »."""
    paragraphs = [b.text for b in blocks if b.kind == "paragraph"]
    entries = sum(bool(_REFERENCE_ENTRY.match(t) or _YEAR.search(t)) for t in paragraphs)
    return len(paragraphs) >= 1 and entries >= 0.6 * len(paragraphs)


def _drop_bibliography(blocks: list[Block]) -> tuple[list[Block], set[int]]:
    """Leave out the sections under a « Bibliographie » / « References » heading that list references.

    A section so named that explains something (« Références bibliographiques » in a
    LaTeX manual) stays.

    Returns:
        The other blocks, and the pages the bibliographies were on.
    """
    out: list[Block] = []
    pages: set[int] = set()
    k = 0
    while k < len(blocks):
        block = blocks[k]
        if block.kind != "heading" or not _BIBLIOGRAPHY.match(block.text):
            out.append(block)
            k += 1
            continue
        end = k + 1
        while end < len(blocks) and not (blocks[end].kind == "heading" and blocks[end].level <= block.level):
            end += 1
        section = blocks[k:end]
        if _looks_like_references(section):
            pages.update(p for b in section for p in range(b.page, b.page_end + 1))
        else:
            out.extend(section)
        k = end
    return out, pages
