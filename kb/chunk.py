"""Clean blocks → passages of roughly 60–250 words that keep their citation.

Chunks follow the structure: a chunk never straddles two sections unless the
first was too short to stand alone; paragraphs are packed whole; a paragraph
longer than the limit is cut between sentences with a small overlap. Each
chunk records the first and last page it comes from and the heading trail
(« Section › Sous-section ») it sits under.

Public entry point: :func:`chunk_blocks`.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from .records import Block

CHUNKER_VERSION = 1
_SENTENCE_END = re.compile(r"(?<=[.!?…»])\s+(?=[«\"(•A-ZÀ-ÖØ-Þ0-9])")


@dataclass(frozen=True)
class ChunkSettings:
    """How big chunks are, in words."""

    min_words: int = 60
    max_words: int = 220
    overlap_words: int = 40

    def to_dict(self) -> dict:
        return {**asdict(self), "version": CHUNKER_VERSION}


@dataclass(frozen=True)
class Passage:
    """A chunk before it is given ids: text, pages and section."""

    text: str
    page: int
    page_end: int
    section: str


@dataclass
class _Buffer:
    parts: list[str] = field(default_factory=list)
    words: int = 0
    page: int = 0
    page_end: int = 0
    section: str | None = None
    level: int = 0  # level of the heading whose section the first paragraph sits in (0: none)
    has_text: bool = False

    def add(self, text: str, page: int, page_end: int, section: str | None, level: int = 0) -> None:
        if not self.parts:
            self.page = page
        self.parts.append(text)
        self.words += _words(text)
        self.page_end = max(self.page_end, page_end)
        if self.section is None and section is not None:
            self.section, self.level, self.has_text = section, level, True


def _fold(text: str) -> str:
    return text.replace("’", "'").casefold().strip()


def _words(text: str) -> int:
    return len(text.split())


def split_sentences(text: str) -> list[str]:
    """Split French prose into sentences (keeps the punctuation)."""
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def _windows(text: str, settings: ChunkSettings) -> list[str]:
    """Cut a long paragraph between sentences, with about ``overlap_words`` of overlap."""
    pieces: list[str] = []
    for sentence in split_sentences(text):
        words = sentence.split()
        while len(words) > settings.max_words:  # a "sentence" with no full stop (lists, tables)
            pieces.append(" ".join(words[: settings.max_words - settings.overlap_words]))
            words = words[settings.max_words - settings.overlap_words:]
        pieces.append(" ".join(words))
    windows: list[str] = []
    current: list[str] = []
    for piece in pieces:
        if current and _words(" ".join(current + [piece])) > settings.max_words:
            windows.append(" ".join(current))
            overlap: list[str] = []
            for prev in reversed(current):
                if _words(" ".join([prev] + overlap)) > settings.overlap_words:
                    break
                overlap.insert(0, prev)
            current = overlap
        current.append(piece)
    if current:
        windows.append(" ".join(current))
    return windows


def chunk_blocks(blocks: list[Block] | tuple[Block, ...], settings: ChunkSettings | None = None,
                 skip_headings: tuple[str, ...] = ()) -> list[Passage]:
    """Pack blocks into passages.

    Args:
        blocks: cleaned headings and paragraphs, in reading order.
        settings: size limits.
        skip_headings: headings left out of section trails (document title, author);
            headings without letters (a title page's « 2024 ») are left out too.
    """
    settings = settings or ChunkSettings()
    skipped = {_fold(h) for h in skip_headings if h}
    out: list[Passage] = []
    trail: list[tuple[int, str]] = []
    buf = _Buffer()

    def section() -> str:
        names = [name for _, name in trail if _fold(name) not in skipped and any(c.isalpha() for c in name)]
        return " › ".join(names[-2:])

    def level() -> int:
        return trail[-1][0] if trail else 0

    def flush() -> None:
        nonlocal buf
        if buf.parts:
            out.append(Passage("\n".join(buf.parts), buf.page, buf.page_end,
                               buf.section if buf.section is not None else section()))
        buf = _Buffer()

    for block in blocks:
        if block.kind == "heading":
            # A sibling or parent heading closes the chunk; a child heading (« Description »
            # under a mandate title) only when the chunk is already big enough.
            if buf.words >= settings.min_words or (buf.has_text and block.level <= buf.level):
                flush()
            while trail and trail[-1][0] >= block.level:
                trail.pop()
            trail.append((block.level, block.text))
            buf.add(block.text, block.page, block.page_end, None)
            continue
        words = _words(block.text)
        if buf.words + words > settings.max_words and buf.words >= settings.min_words:
            flush()
        if buf.words + words <= settings.max_words:
            buf.add(block.text, block.page, block.page_end, section(), level())
            continue
        windows = _windows(block.text, settings)
        # Fill the open buffer with the first window when it fits; otherwise give it its own chunk.
        for i, window in enumerate(windows):
            if buf.words + _words(window) > settings.max_words:
                flush()
            buf.add(window, block.page, block.page_end, section(), level())
            if i < len(windows) - 1:
                flush()
    flush()
    return _merge_small(out, settings)


def _merge_small(passages: list[Passage], settings: ChunkSettings) -> list[Passage]:
    """Fold too-short passages into a neighbour.

    A short tail joins the previous passage of its section; a fragment under half
    the minimum (a title page, a lone heading with a line) joins the next passage,
    or the previous one at the end, when the result stays within bounds.
    """
    limit = settings.max_words + settings.min_words

    def join(a: Passage, b: Passage, section: str) -> Passage:
        return Passage(a.text + "\n" + b.text, a.page, max(a.page_end, b.page_end), section)

    merged: list[Passage] = []
    for p in passages:
        prev = merged[-1] if merged else None
        if (prev is not None and _words(p.text) < settings.min_words and prev.section == p.section
                and _words(prev.text) + _words(p.text) <= limit):
            merged[-1] = join(prev, p, prev.section)
        else:
            merged.append(p)
    out: list[Passage] = []
    carry: Passage | None = None
    for p in merged:
        if carry is not None:
            if _words(carry.text) + _words(p.text) <= limit:
                p = join(carry, p, p.section if _words(p.text) >= _words(carry.text) else carry.section)
            else:
                out.append(carry)
            carry = None
        if _words(p.text) < settings.min_words // 2:
            carry = p
        else:
            out.append(p)
    if carry is not None:
        if out and _words(out[-1].text) + _words(carry.text) <= limit:
            out[-1] = join(out[-1], carry, out[-1].section)
        else:
            out.append(carry)
    return out
