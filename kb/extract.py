"""PDF → pages of lines with layout cues, using PDFium (pypdfium2).

PDFium was chosen after measuring both extractors on the demo corpus
(``benchmarks/bench_extract.py``): pypdf glues the words of some lines of these
LaTeX-made PDFs together, PDFium does not, and it is about ten times faster.
PDFium also marks words hyphenated at a line end with U+FFFE, which makes
de-hyphenation exact, and gives each character's font size and weight, which
is how headings are found.

What PDFium reports is repaired where real PDFs need it (measured on 108
Debian documentation PDFs, ``benchmarks/real_corpus.py``):

- TeX's old fonts draw « é » as a separate accent glyph over « e »: the accent
  is put back on the letter it is drawn over (by position), « d´efinition » →
  « définition »;
- fonts without a Unicode mapping give raw codes: a dvips Type 3 font's T1
  codes become guillemets, dashes and ligatures; other control and private-use
  characters are dropped, and so are the glyphs of music and icon fonts;
- PDFium keeps at most 32,767 bytes of one string of a content stream: a
  longer line (16,383 two-byte characters) is read whole with pypdf.

Public entry point: :func:`extract_pdf`.
"""
from __future__ import annotations

import ctypes
import io
import logging
import re
import statistics
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import ExtractionError
from .records import Line, Page

# A character this much smaller than its line is a superscript (footnote call).
_SUPERSCRIPT_RATIO = 0.85
_BOLD_WEIGHT = 500
_PLACEHOLDER = "\x00"  # no character at this index (a surrogate's second half, a dropped glyph)

log = logging.getLogger(__name__)

# TeX's spacing accents, drawn as glyphs of their own over (or under) a letter, and the
# combining mark each stands for; combining marks (U+0300–U+036F) stand for themselves.
_ACCENTS = {"\u00b4": "\u0301", "`": "\u0300", "\u02c6": "\u0302", "^": "\u0302", "\u00a8": "\u0308",
            "\u02dc": "\u0303", "~": "\u0303", "\u00b8": "\u0327", "\u02da": "\u030a", "\u02c7": "\u030c",
            "\u02d8": "\u0306", "\u02d9": "\u0307", "\u02dd": "\u030b", "\u00af": "\u0304", "\u02db": "\u0328"}
_BELOW = ("\u0327", "\u0328")  # cedilla, ogonek: drawn under the letter
_DOTLESS = {"\u0131": "i", "\u0237": "j"}  # TeX puts accents on a dotless i (« \\^{\\i} » → î)
# A space PDFium generated next to an accent is dropped when the letters either side are closer than this.
_WORD_GAP_EM = 0.18

# Characters that are not text as they stand: C0/C1 controls (save the line breaks and
# PDFium's U+0002 hyphen) and the Private Use Area.
_SUSPECT = re.compile("[\x01\x03-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")
# Fonts without a Unicode mapping give their raw codes. In a Type 3 font from dvips (no name)
# they are T1 (Cork) codes: « \x13 bac à sable \x14 » is « « bac à sable » ».
_CORK = ("`\u00b4\u02c6\u02dc\u00a8\u02dd\u02da\u02c7\u02d8\u00af\u02d9\u00b8\u02db\u201a\u2039\u203a"
         "\u201c\u201d\u201e\u00ab\u00bb\u2013\u2014" + _PLACEHOLDER * 2 + "\u0131\u0237\ufb00\ufb01\ufb02\ufb03\ufb04")
_FONT_CODES = {
    "": dict(enumerate(_CORK)),
    "LinLibertineT": {0x1B: "\ufb01", 0x1C: "\ufb03", 0x1D: "\ufb00", 0x1E: "\ufb02", 0x1F: "\ufb04"},
}
_PUA = {0xF0B7: "•", 0xF0A7: "▪", 0xF06E: "■", 0xF0D8: "➢", 0xF076: "❖", 0xF0FC: "✓", 0xF0E0: "→"}  # Symbol/Wingdings bullets
# Music and icon fonts: their glyphs (note heads, rests, icons) are not words.
_SYMBOL_FONTS = ("emmentaler", "feta", "parmesan", "bravura", "musisync", "fontawesome", "wingdings", "webdings")
# PDFium's content parser keeps at most 32,767 bytes of one string: 16,383 two-byte glyph codes.
_PDFIUM_STRING_LIMIT = 16_383


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
    text = _compose_accents(handle, _repair_glyphs(handle, _char_text(handle, n, textpage)))
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

    row = _drop_symbol_glyphs(handle, text, [i for i in row if text[i] != _PLACEHOLDER])
    idx = [i for i in row if not text[i].isspace()]
    if not idx:
        return None
    sizes = [raw.FPDFText_GetFontSize(handle, i) for i in idx]
    size = statistics.median(sizes)
    bold = sum(raw.FPDFText_GetFontWeight(handle, i) >= _BOLD_WEIGHT for i in idx)
    keep = []
    for i in row:
        ch = text[i]
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


def _is_accent(ch: str) -> bool:
    return ch in _ACCENTS or "\u0300" <= ch <= "\u036f"


def _char_box(handle, i: int) -> tuple[float, float, float, float]:
    """``(left, right, bottom, top)`` of character ``i``."""
    import pypdfium2.raw as raw

    edges = [ctypes.c_double() for _ in range(4)]
    raw.FPDFText_GetCharBox(handle, i, *(ctypes.byref(e) for e in edges))
    return edges[0].value, edges[1].value, edges[2].value, edges[3].value


def _base_letter(text: str, line: range, accent: int, taken: set[int], box) -> int | None:
    """The letter the accent at index ``accent`` is drawn over (or under), if any.

    TeX draws « é » as « ´ » then « e » (or « e » then « ´ », in slanted fonts), the
    accent's box over the letter's; PDFium sometimes puts the accent far away in
    its reading order (over a capital that starts the line), so the whole line is
    searched, by position.
    """
    left, right, bottom, top = box(accent)
    centre_x, centre_y = (left + right) / 2, (bottom + top) / 2
    below = _ACCENTS.get(text[accent], text[accent]) in _BELOW
    best, best_dist = None, 0.0
    for i in line:
        if i == accent or i in taken or not text[i].isalpha():
            continue
        l, r, b, t = box(i)
        if not l - 0.5 <= centre_x <= r + 0.5:
            continue
        h = t - b
        if below:  # a cedilla or an ogonek hangs under the letter's baseline
            placed = b - h < centre_y < b + 0.3 * h
        else:  # the others sit just above its middle (a capital's accent, higher)
            placed = (b + t) / 2 < centre_y < t + h
        dist = abs((l + r) / 2 - centre_x)
        if placed and (best is None or dist < best_dist):
            best, best_dist = i, dist
    return best


def _compose_accents(handle, text: str) -> str:
    """Put TeX's separate accent glyphs back on their letters (« d´efinition » → « définition »).

    The accent becomes a placeholder and its letter the accented letter, so
    ``text[i]`` stays character ``i``; spaces PDFium generated beside the accent
    go too where the letters either side touch (« C¸ a » → « Ça »).
    """
    if not any(_is_accent(ch) for ch in text):
        return text
    chars = list(text)
    boxes: dict[int, tuple[float, float, float, float]] = {}

    def box(i: int) -> tuple[float, float, float, float]:
        if i not in boxes:
            boxes[i] = _char_box(handle, i)
        return boxes[i]

    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = range(start, end)
        removed: set[int] = set()
        for i in line:
            if not _is_accent(text[i]) or (base := _base_letter(text, line, i, removed, box)) is None:
                continue
            letter = chars[base]
            merged = unicodedata.normalize("NFC", _DOTLESS.get(letter, letter) + _ACCENTS.get(text[i], text[i]))
            if len(merged) == 1:  # else there is no such accented letter: leave the text as it was
                chars[base], chars[i] = merged, _PLACEHOLDER
                removed.add(i)
        for i in _spaces_beside(handle, text, line, removed, box):
            chars[i] = _PLACEHOLDER
        start = end + 1
    return "".join(chars)


def _spaces_beside(handle, text: str, line: range, removed: set[int], box) -> list[int]:
    """PDFium's generated spaces next to a removed accent, where the letters either side touch."""
    import pypdfium2.raw as raw

    out: list[int] = []
    for i in line:
        if text[i] != " " or not ({i - 1, i + 1} & removed) or not raw.FPDFText_IsGenerated(handle, i):
            continue
        before = next((j for j in range(i - 1, line.start - 1, -1) if j not in removed and not text[j].isspace()), None)
        after = next((j for j in range(i + 1, line.stop) if j not in removed and not text[j].isspace()), None)
        if before is None or after is None:
            continue
        size = raw.FPDFText_GetFontSize(handle, before)
        if box(after)[0] - box(before)[1] < _WORD_GAP_EM * size:
            out.append(i)
    return out


def _font_name(handle, i: int, buf) -> str:
    """The font of character ``i``, without its subset prefix (« ABCDEF+CMR10 » → « CMR10 »)."""
    import pypdfium2.raw as raw

    raw.FPDFText_GetFontInfo(handle, i, buf, len(buf), None)
    return buf.value.decode("latin-1").split("+", 1)[-1]


def _is_symbol_font(font: str) -> bool:
    return font.lower().startswith(_SYMBOL_FONTS)


def _repair_glyphs(handle, text: str) -> str:
    """Control and private-use characters, read with their font: mapped when the font's
    codes are known (T1 guillemets and ligatures, Symbol bullets), else dropped."""
    if not _SUSPECT.search(text):
        return text
    chars = list(text)
    buf = ctypes.create_string_buffer(256)
    for m in _SUSPECT.finditer(text):
        i, code = m.start(), ord(m.group())
        font = _font_name(handle, i, buf)
        codes = next((table for name, table in _FONT_CODES.items() if font == name or (name and font.startswith(name))), {})
        chars[i] = _PLACEHOLDER if _is_symbol_font(font) else codes.get(code) or _PUA.get(code, _PLACEHOLDER)
    return "".join(chars)


def _drop_symbol_glyphs(handle, text: str, row: list[int]) -> list[int]:
    """Leave out the glyphs of music and icon fonts (« h h h » note heads).

    Only rows of short tokens are checked, as a music example is: prose never is.
    """
    tokens = "".join(text[i] for i in row).split()
    if not tokens or sum(map(len, tokens)) >= 3 * len(tokens):
        return row
    buf = ctypes.create_string_buffer(256)
    return [i for i in row if text[i].isspace() or not _is_symbol_font(_font_name(handle, i, buf))]


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


def _complete_long_lines(data: bytes, reader: list, number: int, lines: list[Line]) -> list[Line]:
    """Read whole, with pypdf, the lines PDFium cut at its string limit.

    PDFium's content parser keeps the first 32,767 bytes of a string (16,383
    characters of a two-byte font): a longer line is silently cut there. pypdf
    has no such limit; its text for the page gives the whole line, found by its
    beginning.
    """
    import pypdf

    if not reader:
        reader.append(pypdf.PdfReader(io.BytesIO(data)))
    try:
        page_text = reader[0].pages[number].extract_text() or ""
    except Exception as exc:  # noqa: BLE001 - pypdf fails in many ways on odd files; the line stays cut, said so
        log.warning("page %d: a line over %d characters may be cut (%s)", number + 1, _PDFIUM_STRING_LIMIT, exc)
        return lines
    candidates = [" ".join(t.split()) for t in page_text.splitlines()]
    out = []
    for line in lines:
        if len(line.text) >= _PDFIUM_STRING_LIMIT - 1:
            head = " ".join(line.text.split())[:200]
            whole = next((t for t in candidates if t.startswith(head) and len(t) > len(line.text)), None)
            if whole is None:
                log.warning("page %d: a line of %d characters may be cut (PDFium's string limit)",
                            number + 1, len(line.text))
            else:
                line = replace(line, text=whole)
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
        reader: list = []  # pypdf's reader of this file, opened only if a line is too long for PDFium
        for number in range(len(pdf)):
            try:
                page = pdf[number]
                textpage = page.get_textpage()
                width, height = page.get_size()
                lines = _page_lines(textpage)
            except Exception as exc:  # PDFium raises bare errors on broken pages
                raise ExtractionError(f"corrupt PDF: page {number + 1} cannot be read ({exc})") from None
            if any(len(line.text) >= _PDFIUM_STRING_LIMIT - 1 for line in lines):
                lines = _complete_long_lines(data, reader, number, lines)
            pages.append(Page(number + 1, tuple(lines), round(width, 1), round(height, 1)))
        return RawDocument(tuple(pages), meta)
    finally:
        pdf.close()
