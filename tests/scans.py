"""Make "scanned" PDFs from born-digital ones, for the OCR tests and benchmark.

A page is rendered with PDFium, then given what a flatbed scanner and its
software add: greyscale, a slight rotation (the sheet is never quite straight),
a little blur and sensor noise, and lossy JPEG compression. The result is saved
as an image-only PDF (one JPEG per page, at the page's original size), which is
what kb meets in real archives. :func:`mixed_pdf` keeps some pages born-digital
and replaces the others by their scans, as happens when a signed page or an
annex is scanned into a report.

Deterministic: the same arguments give the same page images (the noise is seeded).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFilter


@dataclass(frozen=True)
class ScanSettings:
    """What the simulated scanner does to a page.

    Attributes:
        dpi: resolution of the scan.
        angle: rotation in degrees (positive is counter-clockwise), the page's skew.
        noise: standard deviation of the grey-level noise (0–255 scale).
        blur: radius of the Gaussian blur, in pixels (optics and paper).
        jpeg_quality: JPEG quality of the stored image (lower is more artefacts).
        seed: seed of the noise, so scans are reproducible.
    """

    dpi: int = 200
    angle: float = 1.0
    noise: float = 12.0
    blur: float = 0.6
    jpeg_quality: int = 60
    seed: int = 0


def scan_image(pdf_path: Path, page_number: int, settings: ScanSettings = ScanSettings()) -> Image.Image:
    """Render one page (1-based) and degrade it as a scanner would; a greyscale image."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        page = pdf[page_number - 1]
        image = page.render(scale=settings.dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        pdf.close()
    return degrade(image, settings, page_number)


def degrade(image: Image.Image, settings: ScanSettings, salt: int = 0) -> Image.Image:
    """Skew, blur and add noise to a greyscale page image."""
    import numpy as np

    image = image.rotate(settings.angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    if settings.blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(settings.blur))
    if settings.noise > 0:
        rng = np.random.default_rng(settings.seed * 1000 + salt)
        pixels = np.asarray(image, dtype=np.float32)
        pixels = pixels + rng.normal(0.0, settings.noise, pixels.shape)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")
    return image


def images_to_pdf(images: list[Image.Image], dst: Path, dpi: int, jpeg_quality: int) -> Path:
    """Write an image-only PDF, one JPEG-compressed page per image, sized from ``dpi``.

    No title (Pillow would use the file name): like most scans, the PDF says nothing of its text.
    """
    first, rest = images[0], images[1:]
    first.save(dst, format="PDF", save_all=True, append_images=rest, resolution=float(dpi),
               quality=jpeg_quality, title="")
    return dst


def scanned_pdf(src: Path, dst: Path, pages: list[int] | None = None,
                settings: ScanSettings = ScanSettings()) -> Path:
    """Write an image-only PDF of ``src``'s pages (all, or the 1-based ``pages``), as scanned."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(src))
    count = len(pdf)
    pdf.close()
    numbers = pages or list(range(1, count + 1))
    images = [scan_image(src, n, settings) for n in numbers]
    return images_to_pdf(images, dst, settings.dpi, settings.jpeg_quality)


def mixed_pdf(src: Path, dst: Path, scanned: set[int],
              settings: ScanSettings = ScanSettings()) -> Path:
    """Write ``src`` with the 1-based pages in ``scanned`` replaced by their scans.

    The other pages are copied unchanged, text layer included.
    """
    import pypdfium2 as pdfium

    scans = scanned_pdf(src, dst.with_suffix(".scans.pdf"), sorted(scanned), settings)
    original = pdfium.PdfDocument(str(src))
    images = pdfium.PdfDocument(str(scans))
    out = pdfium.PdfDocument.new()
    try:
        order = sorted(scanned)
        for number in range(1, len(original) + 1):
            if number in scanned:
                out.import_pages(images, [order.index(number)])
            else:
                out.import_pages(original, [number - 1])
        out.save(str(dst))
    finally:
        out.close()
        images.close()
        original.close()
    scans.unlink()
    return dst


def stray_text_scan(src: Path, dst: Path, page_number: int = 1,
                    stamp: str = "Numérisé le 12/03/2019 — Archives — p. 1",
                    settings: ScanSettings = ScanSettings()) -> Path:
    """A one-page scan of ``src``'s page with a line of real text stamped over the image.

    Scanner software often stamps such a line (date, batch, page number) as text;
    the page still has no text layer worth keeping and needs OCR.
    """
    from fpdf import FPDF
    from pdfs import FONT_DIR

    image = scan_image(src, page_number, settings)
    width, height = (v * 72 / settings.dpi for v in image.size)
    pdf = FPDF(unit="pt", format=(width, height))
    pdf.add_page()
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=settings.jpeg_quality)
    pdf.image(buf, x=0, y=0, w=width, h=height)
    pdf.set_font("DejaVu", size=7)
    pdf.text(20, height - 10, stamp)
    pdf.output(str(dst))
    return dst


def unmapped_font_pdf(dst: Path) -> Path:
    """A born-digital French page whose fonts lost their Unicode mapping (/ToUnicode).

    The page looks right but its text layer extracts as control characters, the
    "letter soup" of real PDFs made by some old printers' drivers; OCR reads it.
    """
    from pdfs import FRENCH, Heading, Para, make_pdf, prose
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    make_pdf(dst, [[Heading("La gouvernance partagée"), Para(FRENCH), prose("culture", 6)]])
    writer = PdfWriter(clone_from=PdfReader(dst))
    for page in writer.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if "/ToUnicode" in font:
                del font[NameObject("/ToUnicode")]
    with open(dst, "wb") as f:
        writer.write(f)
    return dst
