"""Build real PDFs for the tests (fpdf2, DejaVu fonts), with exact control of lines."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


@dataclass
class Para:
    """A paragraph given as its visual lines (so tests choose where lines break)."""

    lines: list[str]
    bold: bool = False


@dataclass
class Heading:
    text: str
    size: float = 15.0


@dataclass
class PageSpec:
    items: list = field(default_factory=list)


def make_pdf(path: Path, pages: list[list], title: str | None = None, header: str | None = None,
             page_numbers: bool = True, body_size: float = 11.0, author: str | None = None) -> Path:
    """Write a PDF whose pages hold ``Heading`` and ``Para`` items, in order.

    A running ``header`` and page numbers at the foot are drawn on every page when asked.
    """
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSerif.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSerif-Bold.ttf"))
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    for number, items in enumerate(pages, start=1):
        pdf.add_page()
        y = 60.0
        if header:
            pdf.set_font("DejaVu", "", 9)
            pdf.text(72, 40, header)
        for item in items:
            if isinstance(item, Heading):
                y += 10
                pdf.set_font("DejaVu", "B", item.size)
                pdf.text(72, y, item.text)
                y += item.size * 1.6
            else:
                pdf.set_font("DejaVu", "B" if item.bold else "", body_size)
                for line in item.lines:
                    pdf.text(72, y, line)
                    y += body_size * 1.3
                y += body_size * 0.9  # paragraph gap
        if page_numbers:
            pdf.set_font("DejaVu", "", 9)
            pdf.text(290, 800, str(number))
    pdf.output(str(path))
    return path


def image_only_pdf(path: Path) -> Path:
    """A 'scanned' page: an image and no text layer."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (600, 800), "white")
    draw = ImageDraw.Draw(img)
    for y in range(50, 750, 20):
        draw.line((40, y, 560, y), fill="black", width=3)
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    pdf.image(buf, x=30, y=30, w=500)
    pdf.output(str(path))
    return path


def encrypt_pdf(src: Path, dst: Path, user_password: str = "", owner_password: str = "owner") -> Path:
    """Encrypt ``src`` with pypdf (an empty user password = only an owner password)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(src))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-128")
    with open(dst, "wb") as f:
        writer.write(f)
    return dst


FRENCH = [
    "La gouvernance partagée est un mode de décision où les partenaires d’un territoire",
    "choisissent ensemble les priorités de leur communauté et le partage des responsabilités.",
    "Elle demande du temps, de la confiance et une animation rigoureuse des rencontres entre",
    "les élus, les organismes communautaires et les citoyens qui participent à la démarche.",
]


def prose(topic: str, n_lines: int = 4) -> Para:
    """A French paragraph about ``topic``, long enough to pass the language checks."""
    base = [
        f"Le thème {topic} est au cœur de la démarche collective menée avec les partenaires.",
        "Les membres du comité se rencontrent chaque mois pour faire le point sur les actions",
        "et pour décider ensemble des prochaines étapes de leur plan de développement social.",
        "Cette façon de faire renforce la mobilisation et la participation de la communauté.",
        "Les apprentissages sont partagés avec les autres territoires de la région et du Québec.",
        "Une évaluation continue permet d’ajuster les moyens et de mesurer les retombées.",
    ]
    return Para((base * 2)[:n_lines])


def tex_accents_pdf(path: Path, lines: list[list[tuple[str, str | None]]], size: float = 11.0) -> Path:
    """Words typeset as TeX does with its old fonts: a separate accent glyph over (or, for
    the cedilla, under) a letter. Each line is a list of ``(text, accent)``; the accent,
    when given, is drawn over the first character of ``text``."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSerif.ttf"))
    pdf.set_font("DejaVu", "", size)
    y = 80.0
    for parts in lines:
        x = 72.0
        for text, accent in parts:
            if accent:
                first, width = pdf.get_string_width(text[0]), pdf.get_string_width(accent)
                raise_by = -0.22 * size if text[0].isupper() else 0.0  # the glyph has its own height
                pdf.text(x + (first - width) / 2, y + raise_by, accent)
            pdf.text(x, y, text)
            x += pdf.get_string_width(text)
        y += size * 1.3
    pdf.output(str(path))
    return path


def _pdf_string(data: bytes) -> bytes:
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def raw_fonts_pdf(path: Path, runs: list[tuple[str, float, bytes]]) -> Path:
    """A one-page PDF written by hand, for fonts fpdf2 cannot make: each run is
    ``(font, size, bytes)`` on its own line, the font being ``Helvetica`` (body text),
    ``Emmentaler-20`` (LilyPond's music font, not embedded) or ``Type3`` (a font without
    a name nor Unicode mapping, as dvips makes them: PDFium reports its raw codes)."""
    names = " ".join(f"/a{i}" for i in range(256))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /Helvetica 5 0 R /Emmentaler-20 6 0 R /Type3 7 0 R >> >> >>",
        None,  # the content stream, below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Emmentaler-20 /Encoding /WinAnsiEncoding >>",
        (b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 500 700] /FontMatrix [0.001 0 0 0.001 0 0] "
         b"/CharProcs << " + " ".join(f"/a{i} 8 0 R" for i in range(256)).encode() + b" >> "
         b"/Encoding << /Type /Encoding /Differences [0 " + names.encode() + b"] >> "
         b"/FirstChar 0 /LastChar 255 /Widths [" + b"500 " * 256 + b"] /Resources << >> >>"),
        b"<< /Length 9 >>\nstream\n500 0 d0\n\nendstream",
    ]
    content = b""
    y = 780.0
    for font, size, data in runs:
        content += b"BT /%s %.1f Tf 60 %.1f Td %s Tj ET\n" % (font.encode(), size, y, _pdf_string(data))
        y -= size * 1.6
    objects[3] = b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream"
    return write_pdf(path, objects)


def write_pdf(path: Path, objects: list[bytes]) -> Path:
    """A PDF file of these objects (numbered from 1, the first being the catalog) with its cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path
