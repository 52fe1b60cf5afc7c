"""A cited PDF page as an image, with the cited passage marked.

The passage text is clean (hyphenation undone, ligatures expanded) while the
page's text layer is raw, so both are folded the same way (case, accents,
hyphens at line ends, white space) with a map back to the page's characters;
the passage's start and end are located there and their character boxes drawn.

Public entry point: :func:`render_page`.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

from .analyzer import fold

_MARK = (255, 214, 0, 90)  # translucent yellow
_PROBE_WORDS = 6


def _folded_with_map(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` to letters and digits separated by single spaces; map each output char to its source index."""
    out: list[str] = []
    where: list[int] = []
    pending_space = False
    for i, ch in enumerate(text):
        if ch in "\ufffe\u00ad\u0002":
            continue  # a hyphen PDFium marked at a line end: the word continues
        f = fold(ch)
        if f and f.isalnum():
            if pending_space and out:
                out.append(" ")
                where.append(i)
            pending_space = False
            for c in f:
                out.append(c)
                where.append(i)
        else:
            pending_space = True
    return "".join(out), where


def _fold_words(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", fold(text)))


def locate(page_text: str, passage: str) -> tuple[int, int] | None:
    """Character range ``[start, end)`` of ``passage`` in ``page_text``, or None.

    Tries the passage's first and last few words so that a passage that runs
    onto the next page is still marked on this one.
    """
    folded, where = _folded_with_map(page_text)
    words = _fold_words(passage).split()
    if not words or not folded:
        return None
    n = min(_PROBE_WORDS, len(words))
    start = end = None
    for i in range(0, max(1, len(words) - n + 1)):
        pos = folded.find(" ".join(words[i:i + n]))
        if pos >= 0:
            start = pos
            break
    if start is None:
        return None
    for j in range(len(words), n - 1, -1):
        probe = " ".join(words[j - n:j])
        pos = folded.find(probe, start)
        if pos >= 0:
            end = pos + len(probe)
            break
    if end is None:
        end = len(folded)
    return where[start], where[end - 1] + 1


def render_page(pdf_path: str | Path, page: int, mark: str | None = None, scale: float = 1.4) -> bytes:
    """PNG of page ``page`` (1-based) of a PDF, with ``mark`` (a passage) highlighted when found."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        p = pdf[page - 1]
        image = p.render(scale=scale).to_pil().convert("RGBA")
        if mark:
            textpage = p.get_textpage()
            found = locate(textpage.get_text_range(), mark)
            if found:
                start, end = found
                _, height = p.get_size()
                overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
                draw = ImageDraw.Draw(overlay)
                for r in range(textpage.count_rects(start, end - start)):
                    left, bottom, right, top = textpage.get_rect(r)
                    draw.rectangle([left * scale, (height - top) * scale, right * scale, (height - bottom) * scale],
                                   fill=_MARK)
                image = Image.alpha_composite(image, overlay)
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="PNG")
        return buf.getvalue()
    finally:
        pdf.close()
