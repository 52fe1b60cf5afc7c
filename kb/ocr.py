"""OCR of scanned pages: find the pages that need it, and give them a text layer.

Detection is cheap and page by page (PDFium): a page needs OCR when it has no
text layer, when its text is a few stray characters over a full-page image (a
scanner's stamp), or when its text is letter soup (a font without Unicode
mapping, a bad earlier OCR). The other pages of the same PDF keep their text.

OCR is OCRmyPDF driving Tesseract's French model (Debian ``tesseract-ocr-fra``,
nothing downloaded at run time). It writes a copy of the PDF in which exactly
those pages are rasterised, deskewed, turned upright and given an invisible,
positioned text layer, so kb's usual PDFium extraction, cleaning, citations and
page previews work unchanged on the copy. Tesseract's word confidences are read
from its hOCR output by a small OCRmyPDF plugin, giving a confidence per page:
:func:`ocr_pdf` loads this very module as the plugin, whose hooks are the
module-level ``get_ocr_engine`` and ``validate`` (names OCRmyPDF dictates).

Public entry points: :func:`ocr_available`, :func:`pages_needing_ocr`
(:func:`inspect_pages` for the reasons), :func:`ocr_pdf`.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import ExtractionError
from .files import write_atomic
from .extract import _check_header, _open
from .language import is_language

try:  # pluggy comes with OCRmyPDF; without it there is no OCR (ocr_available() says so)
    import pluggy
except ModuleNotFoundError:
    pluggy = None

# Bump when detection or OCR settings change what an OCR'd PDF contains (cache key).
OCR_VERSION = 1
MIN_CHARS = 10  # fewer non-blank characters than this on a page: no text layer
STRAY_CHARS = 200  # at most this many over a full-page image: a stamp, not a text layer
FULL_PAGE_IMAGE = 0.85  # share of the page an image must cover to be a scan
SOUP_MIN_WORDS = 30  # letter soup is judged only on pages with this many words
# Mean Tesseract word confidence (0–100) of a page, measured on scans of the demo corpus:
# 91–94 for fair scans (≥ 97 % of the words right), 60–69 for bad ones (68–76 %),
# 15–32 for unreadable or sideways pages (almost no word right).
LOW_CONFIDENCE = 75.0  # below: the page's text is doubtful
ROTATE_RETRY_BELOW = 50.0  # below: maybe sideways, OCR again with orientation detection
_CONFIDENCE_DIR = "kb_confidence_dir"  # the OCRmyPDF option our plugin reads
_HOCR_PAGE = re.compile(r"^(\d+)_")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OcrSettings:
    """How to OCR.

    Attributes:
        language: Tesseract language(s), e.g. ``"fra"`` or ``"fra+eng"``.
        timeout: seconds Tesseract may spend on one page before the page is left
            without text (a warning says so).
        jobs: pages OCR'd at once (worker threads, each running one Tesseract).
        deskew: straighten pages scanned askew (the straightened image replaces the page's).
        rotate: when to detect pages scanned sideways or upside down and turn them
            upright: ``"retry"`` (only pages first read with a confidence under
            ``ROTATE_RETRY_BELOW`` are OCR'd again with orientation detection, which
            costs about 0.6 s of CPU a page), ``"always"`` or ``"never"``.
    """

    language: str = "fra"
    timeout: float = 180.0
    jobs: int = 1
    deskew: bool = True
    rotate: str = "retry"

    def __post_init__(self) -> None:
        if self.rotate not in ("retry", "always", "never"):
            raise ValueError(f"rotate must be 'retry', 'always' or 'never', not {self.rotate!r}")

    def fingerprint(self) -> str:
        """What changes the OCR'd PDF, for a cache key, e.g. ``v1-fra-deskew-retry``."""
        return f"v{OCR_VERSION}-{self.language}-{'deskew' if self.deskew else 'asis'}-{self.rotate}"


@dataclass(frozen=True)
class PageCheck:
    """What detection saw on one page (1-based ``number``); ``reason`` is None when its text is kept."""

    number: int
    chars: int
    image_coverage: float
    reason: str | None


@dataclass(frozen=True)
class PageOcr:
    """One OCR'd page: words read and their mean Tesseract confidence (0–100, None if no word)."""

    number: int
    words: int
    confidence: float | None


@dataclass(frozen=True)
class OcrResult:
    """What :func:`ocr_pdf` did: the pages it OCR'd, in order, and how long it took."""

    pages: tuple[PageOcr, ...]
    seconds: float
    warnings: tuple[str, ...] = ()

    @property
    def pages_ocred(self) -> tuple[int, ...]:
        """The 1-based numbers of the OCR'd pages."""
        return tuple(p.number for p in self.pages)

    @property
    def mean_confidence(self) -> float | None:
        """Mean word confidence over all OCR'd pages (each word counts once)."""
        words = sum(p.words for p in self.pages if p.confidence is not None)
        if not words:
            return None
        return sum(p.confidence * p.words for p in self.pages if p.confidence is not None) / words

    def low_confidence_pages(self, threshold: float = LOW_CONFIDENCE) -> tuple[int, ...]:
        """Pages whose text is doubtful: read with a mean confidence under ``threshold``, or no word read."""
        return tuple(p.number for p in self.pages if p.confidence is None or p.confidence < threshold)

    def to_json(self) -> str:
        """The result as JSON (to cache it beside the OCR'd PDF)."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> OcrResult:
        """Read back :meth:`to_json`."""
        data = json.loads(text)
        pages = tuple(PageOcr(**p) for p in data["pages"])
        return cls(pages, data["seconds"], tuple(data["warnings"]))


# ---------------------------------------------------------------- engine check

def ocr_available(language: str = "fra") -> str | None:
    """Whether OCR can run here: None if it can, else a one-line reason.

    The reason reads « needs OCR: install … » and names what is missing
    (the OCRmyPDF package, Tesseract, or Tesseract's model for ``language``),
    so a build without OCR can still report scanned files clearly.
    """
    return _probe(language, os.environ.get("PATH", ""), os.environ.get("TESSDATA_PREFIX", ""))


@functools.lru_cache(maxsize=8)
def _probe(language: str, path: str, tessdata: str) -> str | None:  # noqa: ARG001 (a cache key only)
    """:func:`ocr_available` for one environment (``path`` and ``tessdata`` are the cache key)."""
    import importlib.util

    if pluggy is None or importlib.util.find_spec("ocrmypdf") is None:
        return "needs OCR: install the Python package ocrmypdf"
    tesseract = shutil.which("tesseract", path=path)
    if tesseract is None:
        return f"needs OCR: install tesseract-ocr and {_debian_package(language)} (Tesseract not found)"
    try:
        out = subprocess.run([tesseract, "--list-langs"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"needs OCR: Tesseract does not run ({exc})"
    installed = set(out.split()[1:] if out.startswith("List of") else out.split())
    missing = [lang for lang in language.split("+") if lang not in installed]
    if missing:
        return f"needs OCR: install {_debian_package('+'.join(missing))} (Tesseract has no '{missing[0]}' model)"
    return None


def _debian_package(language: str) -> str:
    return " ".join(f"tesseract-ocr-{lang.lower().replace('_', '-')}" for lang in language.split("+"))


# ------------------------------------------------------------------ detection

def pages_needing_ocr(pdf_path: str | Path) -> list[int]:
    """The 1-based numbers of the pages that need OCR (see :func:`inspect_pages`).

    Raises:
        ExtractionError: the file is not a PDF that PDFium can open.
    """
    return [page.number for page in inspect_pages(pdf_path) if page.reason]


def inspect_pages(pdf_path: str | Path) -> list[PageCheck]:
    """Look at every page's text layer and images, and say which pages need OCR and why.

    A page needs OCR when it has content but fewer than ``MIN_CHARS`` characters
    of text (« no text layer »), when a full-page image carries at most
    ``STRAY_CHARS`` characters (« stray characters over a full-page image »), or
    when its text has ``SOUP_MIN_WORDS`` words or more that do not read as
    language (« letter soup »). A page with nothing on it needs nothing.

    Raises:
        ExtractionError: the file is not a PDF that PDFium can open.
    """
    pdf = _open(_check_header(Path(pdf_path)))
    try:
        return [_inspect_page(pdf[i], i + 1) for i in range(len(pdf))]
    finally:
        pdf.close()


def _inspect_page(page, number: int) -> PageCheck:  # page: pdfium.PdfPage
    import pypdfium2.raw as raw

    text = page.get_textpage().get_text_range()
    chars = sum(not c.isspace() for c in text)
    left, bottom, right, top = page.get_bbox()
    area = max((right - left) * (top - bottom), 1.0)
    covered, drawings = 0.0, 0
    for obj in page.get_objects(max_depth=2):
        if obj.type == raw.FPDF_PAGEOBJ_IMAGE:
            x0, y0, x1, y1 = obj.get_bounds()
            covered += max(0.0, min(x1, right) - max(x0, left)) * max(0.0, min(y1, top) - max(y0, bottom))
        elif obj.type in (raw.FPDF_PAGEOBJ_PATH, raw.FPDF_PAGEOBJ_SHADING):
            drawings += 1
    coverage = min(covered / area, 1.0)
    reason = None
    if chars < MIN_CHARS and (covered > 0 or drawings):
        reason = "no text layer"
    elif coverage >= FULL_PAGE_IMAGE and chars <= STRAY_CHARS:
        reason = "stray characters over a full-page image"
    elif len(text.split()) >= SOUP_MIN_WORDS and not is_language(text):
        reason = "letter soup"
    return PageCheck(number, chars, round(coverage, 3), reason)


# ------------------------------------------------------------------------ OCR

def ocr_pdf(src: str | Path, dst: str | Path, pages: list[int] | None = None,
            settings: OcrSettings = OcrSettings()) -> OcrResult:
    """Write ``dst``: ``src`` with a text layer on the pages that need OCR.

    Only the given 1-based ``pages`` (by default :func:`pages_needing_ocr`) are
    touched: each is rasterised (its old text, stray or garbled, goes with it),
    deskewed and turned upright as the settings ask, and OCR'd; every other
    page is copied as it is. With no page to OCR, ``dst`` is a plain copy.

    Args:
        src: the PDF to read (never modified).
        dst: where to write the copy with a text layer.
        pages: 1-based numbers of the pages to OCR; None to detect them.
        settings: language, time-out, jobs, deskew and rotation.

    Returns:
        The OCR'd pages with their word counts and confidences, and the time taken.

    Raises:
        ExtractionError: ``src`` is not a readable PDF, OCR is not available (the
            reason of :func:`ocr_available`), or Tesseract could not read the
            document (no word on any page, time-outs, a failing engine); ``dst``
            is then not written.
        ValueError: ``dst`` is ``src``, or ``pages`` names a page ``src`` does not have.
    """
    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise ValueError("ocr_pdf writes a copy: dst must differ from src")
    pages = _pages_to_ocr(src, pages)
    if not pages:
        shutil.copyfile(src, dst)
        return OcrResult((), 0.0)
    missing = ocr_available(settings.language)
    if missing:
        raise ExtractionError(missing)
    turned = dst.with_name(dst.name + ".rotated.pdf")
    try:
        result = _ocr_pass(src, dst, pages, settings, rotate=settings.rotate == "always")
        retry = [p.number for p in result.pages if p.words and p.confidence < ROTATE_RETRY_BELOW]
        if settings.rotate == "retry" and retry:
            second = _ocr_pass(dst, turned, retry, settings, rotate=True)
            os.replace(turned, dst)
            result = _merge(result, second)
        _check_readable(result, settings)
    except BaseException:
        dst.unlink(missing_ok=True)
        turned.unlink(missing_ok=True)
        raise
    return result


def _pages_to_ocr(src: Path, pages: list[int] | None) -> list[int]:
    """``pages`` sorted and checked against the page count, or the pages that need OCR."""
    if pages is None:
        return pages_needing_ocr(src)
    pdf = _open(_check_header(src))
    count = len(pdf)
    pdf.close()
    wrong = [p for p in pages if not 1 <= p <= count]
    if wrong:
        raise ValueError(f"no page {wrong[0]} in {src.name} ({count} pages)")
    return sorted(set(pages))


def _ocr_pass(src: Path, dst: Path, pages: list[int], settings: OcrSettings, rotate: bool) -> OcrResult:
    """One OCRmyPDF run over ``pages``, with page orientation detection or not."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kb-ocr-") as conf_dir, _warnings() as warnings:
        _run_ocrmypdf(src, dst, pages, settings, rotate, Path(conf_dir))
        records = _read_confidences(Path(conf_dir), pages)
    return OcrResult(records, round(time.perf_counter() - start, 3), tuple(warnings))


def _merge(first: OcrResult, second: OcrResult) -> OcrResult:
    """``first`` with the pages that ``second`` OCR'd again replaced by their new records."""
    again = {p.number: p for p in second.pages}
    pages = tuple(again.get(p.number, p) for p in first.pages)
    return OcrResult(pages, round(first.seconds + second.seconds, 3), first.warnings + second.warnings)


def _run_ocrmypdf(src: Path, dst: Path, pages: list[int], settings: OcrSettings, rotate: bool,
                  conf_dir: Path) -> None:
    """Run OCRmyPDF with kb's choices; its errors become :class:`ExtractionError`."""
    import ocrmypdf
    import pikepdf

    try:
        code = ocrmypdf.ocr(
            src, dst, language=settings.language.split("+"), pages=",".join(map(str, pages)),
            mode="force",  # the listed pages only: drop their stray or garbled text, OCR the image
            deskew=settings.deskew, rotate_pages=rotate, jobs=settings.jobs,
            tesseract_timeout=settings.timeout, tesseract_non_ocr_timeout=min(settings.timeout, 60.0),
            output_type="pdf", optimize=0, progress_bar=False,
            invalidate_digital_signatures=True,  # dst is kb's working copy; the original keeps its signature
            plugins=[__name__], **{_CONFIDENCE_DIR: str(conf_dir)})
    except ocrmypdf.exceptions.MissingDependencyError as exc:
        raise ExtractionError(f"needs OCR: {_first_line(exc) or 'a program OCRmyPDF needs is missing'}") from exc
    except ocrmypdf.exceptions.EncryptedPdfError as exc:
        raise ExtractionError("encrypted: needs a password to open") from exc
    except ocrmypdf.exceptions.ExitCodeException as exc:
        raise ExtractionError(f"OCR failed: {_first_line(exc) or type(exc).__name__}") from exc
    except pikepdf.PdfError as exc:  # a PDF that PDFium opens but pikepdf (OCRmyPDF's writer) cannot
        raise ExtractionError(f"OCR failed: the PDF cannot be rewritten ({_first_line(exc)})") from exc
    if code != ocrmypdf.ExitCode.ok:
        raise ExtractionError(f"OCR failed: OCRmyPDF exit code {int(code)} ({code.name})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _read_confidences(conf_dir: Path, pages: list[int]) -> tuple[PageOcr, ...]:
    """The per-page records our engine left in ``conf_dir``; a page without one read no word."""
    out = []
    for number in pages:
        path = conf_dir / f"{number}.json"
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            out.append(PageOcr(number, data["words"], data["confidence"]))
        else:
            out.append(PageOcr(number, 0, None))
    return tuple(out)


def _check_readable(result: OcrResult, settings: OcrSettings) -> None:
    """Raise when Tesseract read no word at all: the document stays unreadable."""
    if any(p.words for p in result.pages):
        return
    n = len(result.pages)
    what = f"{n} page{'s' if n > 1 else ''}"
    if any("took too long" in w for w in result.warnings):
        raise ExtractionError(f"OCR timed out: Tesseract read no word in {settings.timeout:g} s a page ({what})")
    raise ExtractionError(f"OCR found no text: Tesseract read no word on the {what} scanned")


class _WarningCollector(logging.Handler):
    """Keeps the messages of WARNING and above in a list."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage().strip())


@contextmanager
def _warnings() -> Iterator[list[str]]:
    """Collect OCRmyPDF's warnings (instead of letting them reach stderr) while OCR runs."""
    sink: list[str] = []
    handler = _WarningCollector(sink)
    logger = logging.getLogger("ocrmypdf")
    logger.addHandler(handler)
    try:
        yield sink
    finally:
        logger.removeHandler(handler)
    for message in sink:
        log.info("OCRmyPDF: %s", message)


# ------------------------------------------- OCRmyPDF plugin: page confidences

def _confidence_engine():  # -> a TesseractOcrEngine that also records word confidences
    from ocrmypdf.builtin_plugins.tesseract_ocr import TesseractOcrEngine

    class ConfidenceEngine(TesseractOcrEngine):
        """Tesseract as OCRmyPDF runs it, plus one JSON record per page of its word confidences."""

        @staticmethod
        def generate_hocr(input_file, output_hocr, output_text, options):
            TesseractOcrEngine.generate_hocr(input_file, output_hocr, output_text, options)
            folder = options.extra_attrs.get(_CONFIDENCE_DIR)
            if folder:
                _record_confidence(Path(output_hocr), Path(folder))

    return ConfidenceEngine()


def _record_confidence(hocr: Path, folder: Path) -> None:
    """Write ``folder/<page>.json`` with the number of words in ``hocr`` and their mean confidence."""
    from ocrmypdf.hocrtransform import HocrParser

    match = _HOCR_PAGE.match(hocr.name)
    if match is None:
        raise ExtractionError(f"OCR failed: unexpected hOCR file name {hocr.name}")
    words: list[float] = []
    if hocr.stat().st_size:  # OCRmyPDF leaves an empty file when Tesseract timed out
        for word in HocrParser(hocr).parse().words:
            if word.text and word.text.strip() and word.confidence is not None:
                words.append(word.confidence * 100)
    record = {"words": len(words), "confidence": round(sum(words) / len(words), 2) if words else None}
    (folder / f"{int(match.group(1))}.json").write_text(json.dumps(record), encoding="utf-8")


def _get_ocr_engine(options):  # noqa: ARG001 (the hook's signature)
    """OCRmyPDF hook: the engine of :func:`ocr_pdf` (Tesseract, recording confidences)."""
    return _confidence_engine()


def _validate(pdfinfo, options) -> None:  # noqa: ARG001 (the hook's signature)
    """OCRmyPDF hook, run after its own: one thread per Tesseract, always.

    OCRmyPDF lets Tesseract use OpenMP threads when a PDF has fewer pages than
    jobs; on a shared 2-core machine those threads spin against each other
    (measured: 3 to 10 times the CPU for the same page).
    """
    options.tesseract.omp_thread_limit = 1
    log.debug("Tesseract OpenMP thread limit set to 1")


# OCRmyPDF loads this module as a plugin (``plugins=["kb.ocr"]``) and calls these hooks.
if pluggy is not None:
    get_ocr_engine = pluggy.HookimplMarker("ocrmypdf")(_get_ocr_engine)
    validate = pluggy.HookimplMarker("ocrmypdf")(trylast=True)(_validate)


# -- the build's use: one OCR'd copy per content, cached beside the index -------------------------
@dataclass(frozen=True)
class OcrOptions:
    """Whether and where a build OCRs scanned pages.

    Attributes:
        enabled: False for ``kb build --no-ocr``: scanned pages are reported, not read.
        cache_dir: where OCR'd copies are kept by content hash (``index/ocr/``, set by the build).
        settings: language, deskew, rotation, time-out.
    """

    enabled: bool = True
    cache_dir: Path | None = None
    settings: OcrSettings = OcrSettings()
    announce: Callable[[int], None] | None = field(default=None, compare=False)  # told the pages to OCR


def cached_ocr(src: Path, sha: str, pages: list[int], options: OcrOptions) -> tuple[Path, OcrResult]:
    """The OCR'd copy of ``src`` (content hash ``sha``), made once per content and settings.

    Returns:
        The copy's path and what OCR found.

    Raises:
        ExtractionError: as :func:`ocr_pdf`.
    """
    if options.cache_dir is None:
        raise ValueError("OCR needs a cache folder")
    key = f"{sha}-{options.settings.fingerprint()}"
    pdf, meta = options.cache_dir / f"{key}.pdf", options.cache_dir / f"{key}.json"
    if pdf.exists() and meta.exists():
        try:
            return pdf, OcrResult.from_json(meta.read_text(encoding="utf-8"))
        except (ValueError, KeyError, TypeError):
            pass  # a damaged cache entry is made again
    if options.announce is not None:
        options.announce(len(pages))
    options.cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = options.cache_dir / f".{key}.{os.getpid()}.pdf"
    try:
        result = ocr_pdf(src, tmp, pages, options.settings)
        os.replace(tmp, pdf)
    finally:
        tmp.unlink(missing_ok=True)
    write_atomic(meta, lambda f: f.write(result.to_json().encode("utf-8")))
    return pdf, result


def cached_copy(cache_dir: Path, sha: str) -> Path | None:
    """The OCR'd copy of a content in the cache, if any (for the page preview)."""
    found = sorted(cache_dir.glob(f"{sha}-*.pdf")) if cache_dir.is_dir() else []
    return found[-1] if found else None


def prune_cache(cache_dir: Path, keep: set[str]) -> None:
    """Delete OCR'd copies of contents no longer in the corpus (``keep``: content hashes)."""
    if not cache_dir.is_dir():
        return
    for p in cache_dir.iterdir():
        if p.is_file() and p.name.split("-", 1)[0].lstrip(".") not in keep:
            p.unlink(missing_ok=True)
