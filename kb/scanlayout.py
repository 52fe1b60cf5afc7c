"""Layout cues for OCR'd pages: font sizes as the original had them, and bold found in the ink.

The text layer OCRmyPDF gives a scanned page has one invisible font at one
weight: no bold, and a line's size is the height from its baseline to the top
of its tallest glyph (about 0.73 of the printed size, more on a line with an
accented capital, less on one without ascenders). The cleaner finds headings
by relative size and by short bold lines, so on such pages it found almost
none. This module restores what it needs, page by page, from the OCR'd copy:

- sizes are divided by the ascent ratio (a larger one for a line with an
  accented capital), then snapped: a line within ``SIZE_TOLERANCE`` of the
  body size (``BOLD_TOLERANCE`` for a bold line), or set between two body
  lines of its paragraph, is body text; larger lines of close sizes share one
  size (one heading level, not one per line). In a mixed PDF they take the
  sizes of the born-digital pages' body and headings when close to them;
- a line is bold when its x-height band is ``BOLD_INK`` times darker than the
  page's usual line or more (bold strokes are thicker). Measured on fair scans
  of the fiche and the portfolio: nine bold lines in ten over 1.16, 95 regular
  lines in 100 under 1.12 (weighting by character width, as bold letters are
  also wider, separated them no better on the tuning queries);
- pieces of one visual line that Tesseract split at a wide gap (a run-in
  heading followed by its justified text) are joined, as PDFium joins them;
- a « + » that starts a line is the bullet Tesseract read as a plus.

Public entry point: :func:`restyle_ocr_pages`.
"""
from __future__ import annotations

import math
import re
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from .extract import RawDocument, _check_header, _merge_same_row, _open
from .records import Line, Page

ASCENT = 0.725  # OCR size / printed size, median over the lines of fair scans of the demo corpus
ACCENTED_ASCENT = 0.92  # the same for a line with an accented capital (« É » stands above the ascenders)
_ACCENTED_CAPITAL = re.compile("[ÀÂÄÉÈÊËÎÏÔÖÙÛÜŸ]")
SIZE_TOLERANCE = 0.12  # OCR sizes of body lines vary by about ±5 % (two standard deviations: 10 %)
BOLD_TOLERANCE = 0.05  # bold lines: body 10.4–11.4 (rescaled) for 10.9 printed, 12-point headings 11.4–12.4
LEVEL_TOLERANCE = 0.08  # larger sizes this close are one heading size
BOLD_INK = 1.15  # a line this much darker than the page's usual line is bold
_RENDER_DPI = 100
_X_BAND = (0.05, 0.45)  # from just above the baseline to the x-height, in ems
_MIN_REFERENCE_LINES = 5  # lines of 20 characters or more a page needs for its own ink reference


def restyle_ocr_pages(raw: RawDocument, pdf_path: Path, pages: Sequence[int]) -> RawDocument:
    """``raw`` with the lines of its OCR'd ``pages`` (1-based) given sizes and weights as printed.

    Args:
        raw: the lines extracted from the OCR'd copy.
        pdf_path: that copy (its page images tell bold from regular).
        pages: the pages whose text comes from OCR; the others are kept as they are.
    """
    wanted = set(pages)
    if not wanted:
        return raw
    pdf = _open(_check_header(Path(pdf_path)))
    try:
        restyled = {p.number: _restyle_page(p, pdf[p.number - 1]) for p in raw.pages if p.number in wanted}
    finally:
        pdf.close()
    body = _body_size([ln for p in restyled.values() for ln in p])
    printed = [ln for p in raw.pages if p.number not in wanted for ln in p.lines]
    # In a mixed PDF, OCR'd text takes the sizes of the born-digital pages' text when close.
    target = _printed_body(printed)
    if target is None or abs(target - body) > SIZE_TOLERANCE * body:
        target = _half(body)
    restyled = {n: _snap_body(lines, body, target) for n, lines in restyled.items()}
    levels = _level_sizes([ln.size for p in restyled.values() for ln in p], target,
                          {_half(ln.size) for ln in printed if ln.size > target})
    out = []
    for page in raw.pages:
        if page.number in restyled:
            lines = [replace(ln, size=levels.get(ln.size, ln.size)) for ln in restyled[page.number]]
            page = Page(page.number, tuple(lines), page.width, page.height)
        out.append(page)
    return RawDocument(tuple(out), raw.metadata)


def _restyle_page(page: Page, pdf_page) -> list[Line]:  # pdf_page: pdfium.PdfPage
    """One page's lines: sizes rescaled, split rows joined, bullets read, bold from the ink."""
    lines = [replace(ln, text=_bullet(ln.text), size=round(ln.size / _ascent(ln.text), 2), bold=False)
             for ln in page.lines]
    lines = _merge_same_row(lines)
    # A page turned upright by /Rotate renders turned while its characters keep the unrotated
    # coordinates: the bands would miss their lines, so such a page gets no bold rather than wrong bold.
    ink = _ink(pdf_page, page.height, lines) if pdf_page.get_rotation() == 0 else [0.0] * len(lines)
    reference = [d for ln, d in zip(lines, ink) if len(ln.text) >= 20]
    if len(reference) < _MIN_REFERENCE_LINES:
        reference = ink
    usual = statistics.median(reference) if reference else 0.0
    return [replace(ln, bold=usual > 0 and d >= BOLD_INK * usual) for ln, d in zip(lines, ink)]


def _ascent(text: str) -> float:
    """OCR size / printed size of a line: its tallest glyph sets its OCR size."""
    return ACCENTED_ASCENT if _ACCENTED_CAPITAL.search(text) else ASCENT


def _bullet(text: str) -> str:
    return "• " + text[2:] if text.startswith("+ ") else text


def _ink(pdf_page, height: float, lines: list[Line]) -> list[float]:
    """Mean darkness (0–1) of each line's x-height band on the page image.

    The band between baseline and x-height holds the strokes of every letter,
    capital or not, so a line in capitals is not taken for bold, as it is when
    the empty space above lower-case letters counts.
    """
    import numpy as np

    scale = _RENDER_DPI / 72
    image = pdf_page.render(scale=scale, grayscale=True).to_pil().convert("L")
    dark = 1.0 - np.asarray(image, dtype=np.float32) / 255.0
    out = []
    for ln in lines:
        top = int((height - ln.y - _X_BAND[1] * ln.size) * scale)
        bottom = int((height - ln.y - _X_BAND[0] * ln.size) * scale) + 1
        box = dark[max(top, 0):max(bottom, 0), max(int(ln.x0 * scale), 0):max(int(ln.x1 * scale) + 1, 0)]
        out.append(float(box.mean()) if box.size else 0.0)
    return out


def _half(size: float) -> float:
    return round(size * 2) / 2


def _body_size(lines: list[Line]) -> float:
    """The size of the body text: the median size of all characters (OCR sizes come in steps
    of a scan pixel, so the most frequent step is not precise enough)."""
    sizes = sorted((ln.size, len(ln.text)) for ln in lines)
    half, seen = sum(n for _, n in sizes) / 2, 0
    for size, n in sizes:
        seen += n
        if seen >= half:
            return size
    return 10.0


def _printed_body(lines: list[Line]) -> float | None:
    """The body size of born-digital lines as the cleaner finds it (most characters, half points)."""
    weights: dict[float, int] = {}
    for ln in lines:
        weights[_half(ln.size)] = weights.get(_half(ln.size), 0) + len(ln.text)
    return max(weights, key=weights.__getitem__) if weights else None


def _level_sizes(sizes: list[float], body: float, printed: set[float] = frozenset()) -> dict[float, float]:
    """Each size larger than the ``body`` size → one size for its group of close sizes.

    A group's size is the closest ``printed`` size (of born-digital pages of the same PDF)
    within ``LEVEL_TOLERANCE``; else its median, in half points, and at least 10 % above
    the body so that the cleaner, which wants 5 % more, sees a heading.
    """
    larger = sorted({s for s in sizes if s > body})
    least = math.ceil(body * 1.1 * 2) / 2
    out: dict[float, float] = {}
    group: list[float] = []
    for size in larger + [float("inf")]:
        if group and size > group[0] * (1 + LEVEL_TOLERANCE):
            middle = statistics.median(group)
            near = [p for p in printed if abs(p - middle) <= LEVEL_TOLERANCE * middle]
            chosen = min(near, key=lambda p: abs(p - middle)) if near else max(_half(middle), least)
            out.update({s: chosen for s in group})
            group = []
        group.append(size)
    return out


def _snap_body(lines: list[Line], body: float, target: float) -> list[Line]:
    """Lines of about the ``body`` size are set in the ``target`` size; so is a line between two
    close body lines (an accented capital made it tall). Other sizes are kept.

    A bold line needs less to be larger than the body (``BOLD_TOLERANCE``): bold
    sizes vary less, and a bold line a size above the body is a heading's.
    """
    def is_body(ln: Line) -> bool:
        return abs(ln.size - body) <= (BOLD_TOLERANCE if ln.bold else SIZE_TOLERANCE) * body

    out = []
    for i, ln in enumerate(lines):
        prev, nxt = (lines[i - 1] if i else None), (lines[i + 1] if i + 1 < len(lines) else None)
        inside = (prev is not None and nxt is not None and is_body(prev) and is_body(nxt)
                  and 0 < prev.y - ln.y < 2 * body and 0 < ln.y - nxt.y < 2 * body)
        out.append(replace(ln, size=target if is_body(ln) or inside else ln.size))
    return out
