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
