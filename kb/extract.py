"""PDF → pages of lines with layout cues, using PDFium (pypdfium2).

PDFium was chosen after measuring both extractors on the demo corpus
(``benchmarks/bench_extract.py``): pypdf glues the words of some lines of these
LaTeX-made PDFs together, PDFium does not, and it is about ten times faster.
PDFium also marks words hyphenated at a line end with U+FFFE, which makes
de-hyphenation exact, and gives each character's font size and weight, which
is how headings are found.

Public entry point: :func:`extract_pdf`.
"""
from __future__ import annotations

import ctypes
import statistics
from dataclasses import dataclass
from pathlib import Path

from .errors import ExtractionError
from .records import Line, Page

# A character this much smaller than its line is a superscript (footnote call).
_SUPERSCRIPT_RATIO = 0.85
_BOLD_WEIGHT = 500
_PLACEHOLDER = "\x00"  # the second UTF-16 unit of a character outside the BMP


@dataclass(frozen=True)
class RawDocument:
    """What extraction yields for one PDF."""

    pages: tuple[Page, ...]
    metadata: dict[str, str]


def _check_header(path: Path) -> bytes:
    data = path.read_bytes()
    if not data:
        raise ExtractionError("empty file")
    if b"%PDF-" not in data[:1024]:
        raise ExtractionError("not a PDF (no %PDF header)")
    if b"%%EOF" not in data[-2048:]:
        raise ExtractionError("truncated PDF (no end-of-file marker)")
    return data


def _open(data: bytes):  # -> pdfium.PdfDocument
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code == raw.FPDF_ERR_PASSWORD:
            raise ExtractionError("encrypted: needs a password to open") from None
        if code == raw.FPDF_ERR_SECURITY:
            raise ExtractionError("encrypted with an unsupported security handler") from None
        raise ExtractionError("corrupt PDF: PDFium cannot parse it") from None


def _page_lines(textpage) -> list[Line]:
    import pypdfium2.raw as raw

    handle = textpage.raw
    n = raw.FPDFText_CountChars(handle)
    text = _char_text(handle, n, textpage)
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    ox, oy = ctypes.c_double(), ctypes.c_double()

    def box(i: int) -> tuple[float, float]:
        raw.FPDFText_GetCharBox(handle, i, ctypes.byref(left), ctypes.byref(right),
                                ctypes.byref(bottom), ctypes.byref(top))
        return left.value, right.value

    lines: list[Line] = []
    start = 0
    while start < n:
        end = text.find("\n", start)
        end = n if end < 0 else end
        for row in _rows(handle, text, start, end, ox, oy):
            line = _make_line(handle, text, row, box, ox, oy)
            if line is not None:
                lines.append(line)
        start = end + 1
    return _merge_same_row(lines)


def _char_text(handle, n: int, textpage=None) -> str:
    """One character per PDFium character index, so ``text[i]`` is character ``i``.

    PDFium counts a character outside the Basic Multilingual Plane (𝑥, an emoji)
    as two indices, its UTF-16 surrogates. The pair becomes one character at the
    first index and a NUL placeholder (dropped later) at the second; a lone
    surrogate becomes U+FFFD, so no unencodable text ever leaves extraction.
    """
    import pypdfium2.raw as raw

    if textpage is not None:
        text = textpage.get_text_range()
        if len(text) == n:  # the common case: nothing outside the BMP
            return text
    units = [raw.FPDFText_GetUnicode(handle, i) for i in range(n)]
    out: list[str] = []
    i = 0
    while i < n:
        u = units[i]
        if 0xD800 <= u <= 0xDBFF and i + 1 < n and 0xDC00 <= units[i + 1] <= 0xDFFF:
            out.append(chr(0x10000 + ((u - 0xD800) << 10) + (units[i + 1] - 0xDC00)))
            out.append(_PLACEHOLDER)
            i += 2
            continue
        if u == 0x2:  # the hyphen PDFium inserts at a line break, as get_text_range spells it
            u = 0xFFFE
        out.append("\ufffd" if 0xD800 <= u <= 0xDFFF else chr(u or 32))
        i += 1
    return "".join(out)


def _rows(handle, text: str, start: int, end: int, ox, oy) -> list[list[int]]:
    """Split one PDFium line into visual rows.

    PDFium joins the two halves of a word hyphenated at a line end into one
    "line"; the baseline tells where the second visual line starts.
    """
    import pypdfium2.raw as raw

    rows: list[list[int]] = [[]]
    last_y = last_right = None
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    for i in range(start, end):
        ch = text[i]
        if ch == "\r" or ch == _PLACEHOLDER:
            continue
        if not ch.isspace():
            raw.FPDFText_GetCharOrigin(handle, i, ctypes.byref(ox), ctypes.byref(oy))
            size = raw.FPDFText_GetFontSize(handle, i)
            raw.FPDFText_GetCharBox(handle, i, ctypes.byref(left), ctypes.byref(right),
                                    ctypes.byref(bottom), ctypes.byref(top))
            new_row = last_y is not None and last_y - oy.value > 0.8 * size
            # A gap wider than 1.5 em on one baseline is a column gutter or a table cell border.
            gutter = (last_right is not None and left.value - last_right > 1.5 * size
                      and sum(not text[j].isspace() for j in rows[-1]) > 1)  # not right after a bullet
            if (new_row or gutter) and rows[-1]:
                rows.append([])
            last_y, last_right = oy.value, right.value
        rows[-1].append(i)
    return [r for r in rows if r]


def _make_line(handle, text: str, row: list[int], box, ox, oy) -> Line | None:
    import pypdfium2.raw as raw

    idx = [i for i in row if not text[i].isspace() and text[i] != _PLACEHOLDER]
    if not idx:
        return None
    sizes = [raw.FPDFText_GetFontSize(handle, i) for i in idx]
    size = statistics.median(sizes)
    bold = sum(raw.FPDFText_GetFontWeight(handle, i) >= _BOLD_WEIGHT for i in idx)
    keep = []
    for i in row:
        ch = text[i]
        if ch == _PLACEHOLDER:
            continue
        if ch.isdigit() and raw.FPDFText_GetFontSize(handle, i) < size * _SUPERSCRIPT_RATIO:
            continue  # footnote call such as "chantiers²"
        keep.append(ch)
    raw.FPDFText_GetCharOrigin(handle, idx[0], ctypes.byref(ox), ctypes.byref(oy))
    x0, _ = box(idx[0])
    _, x1 = box(idx[-1])
    line_text = "".join(keep).strip()
    if not line_text:
        return None
    return Line(line_text, round(size, 2), bold * 2 > len(idx), round(x0, 1), round(x1, 1), round(oy.value, 1))


def _merge_same_row(lines: list[Line]) -> list[Line]:
    """Join pieces PDFium split off a visual line (e.g. the "." after a superscript)."""
    out: list[Line] = []
    for line in lines:
        prev = out[-1] if out else None
        if (prev is not None and abs(prev.y - line.y) < 0.35 * max(prev.size, 1.0)
                and prev.x1 - 1.0 <= line.x0 <= prev.x1 + 1.5 * max(prev.size, 1.0)):
            sep = "" if not line.text[0].isalnum() else " "
            out[-1] = Line(prev.text + sep + line.text, prev.size, prev.bold,
                           prev.x0, line.x1, prev.y)
        else:
            out.append(line)
    return out


def extract_pdf(path: str | Path) -> RawDocument:
    """Extract the lines of every page of a PDF.

    Raises:
        ExtractionError: the file is empty, not a PDF, truncated, corrupt or
            encrypted with a user password. A PDF with only an owner password
            (printing/copying restrictions) opens and is extracted.
    """
    path = Path(path)
    data = _check_header(path)
    pdf = _open(data)
    try:
        if len(pdf) == 0:
            raise ExtractionError("PDF has no pages")
        meta = {k: v for k, v in pdf.get_metadata_dict(skip_empty=True).items()}
        pages = []
        for number in range(len(pdf)):
            try:
                page = pdf[number]
                textpage = page.get_textpage()
                width, height = page.get_size()
                lines = _page_lines(textpage)
            except Exception as exc:  # PDFium raises bare errors on broken pages
                raise ExtractionError(f"corrupt PDF: page {number + 1} cannot be read ({exc})") from None
            pages.append(Page(number + 1, tuple(lines), round(width, 1), round(height, 1)))
        return RawDocument(tuple(pages), meta)
    finally:
        pdf.close()
