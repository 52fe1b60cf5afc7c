"""Text quality of kb on a corpus of real PDFs nobody here wrote, against pypdf.

    bash scripts/fetch_real_corpus.sh          # ~108 Debian documentation PDFs
    python benchmarks/real_corpus.py [--corpus DIR] [--limit N] [--index DIR] [--json FILE]

kb is run as a black box: ``kb build --model hash --json`` (the hash embedder is
fast and enough for text figures), then ``kb chunks --json``. The same figures
are measured for the obvious pipeline, pypdf ``extract_text`` per page cut into
fixed 200-word chunks. Skips are checked: a « needs OCR » or « unreadable text »
skip is untruthful when PDFium or poppler (``pdftotext``, when installed) find
real words in the file. The detectors below are deliberately independent of
kb's own code (simple regular expressions), so kb is not graded by itself.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_CORPUS = Path(os.environ.get("KB_REAL_CORPUS", Path.home() / ".cache/kb-real-corpus")) / "pdfs"

# A spacing accent (or a combining one left alone) next to a letter: « d´efinition », « fenˆetre »,
# « c¸a ». The ASCII grave and circumflex count only inside a word (`code` and x^2 are not accents).
SPLIT_ACCENT = re.compile(
    r"[A-Za-z][\u00b4\u02c6\u00a8\u02dc\u00b8\u02da\u02c7\u02d8\u02d9\u02dd]"
    r"|[\u00b4\u02c6\u00a8\u02dc\u00b8\u02da\u02c7\u02d8\u02d9\u02dd] ?[A-Za-z]"
    r"|[A-Za-z][`^][A-Za-z]"
    r"|(?:^|[\s\W])[\u0300-\u036f]")
DOT_LEADER = re.compile(r"(?:\.\s?){5,}|(?:·\s?){5,}|(?:…\s?){3,}")
NUMBER = re.compile(r"^[(\[]?\d{1,4}[)\],.;]?$|^[ivxlc]{1,6}$", re.I)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
JUNK_GLYPH = re.compile(r"[\ue000-\uf8ff\ufffd]")
# Five or more one-character tokens in a row, dot leaders aside: « h h h \x05 » glyph trails.
GLYPH_TRAIL = re.compile(r"(?:(?<!\S)[^\s.·…](?=\s|$)\s*){5,}")
WORD = re.compile(r"[^\W\d_]+")
# Very common words of the languages met in such documentation (French, English, Latin
# placeholder text, Basque, Spanish, German, Italian): real text has a few percent of them,
# letter soup (fonts without a Unicode mapping) none.
FUNCTION_WORDS = frozenset("""de la le les des du un une et en à au aux pour par sur dans que qui ne pas est
sont il elle nous vous on ce cette ces son sa ses se plus avec ou the of and to in a is that for it as with
was on be by are this from or an at not ut sed non ac nec eget vel quis sit id eta da ez bat edo du ere dira
el los las del y con por una es lo al der die das und den dem zu ist nicht von mit sich auf di che per""".split())
_VOWELS = set("aeiouyàâäéèêëîïôöùûüÿœæáíóú")


def looks_like_toc(text: str) -> bool:
    """Dot leaders, or a text where page-number-like tokens are a fifth of the words."""
    if len(DOT_LEADER.findall(text)) >= 3:
        return True
    tokens = text.split()
    numbers = sum(bool(NUMBER.match(t)) for t in tokens)
    return numbers >= 10 and numbers >= 0.2 * len(tokens)


def has_real_text(text: str, pages: int) -> bool:
    """Words a reader would recognise: enough letters, vowels as in real words, common words.

    At least 20 letters a page on average (500 in all), a share of vowels among the
    letters usual for Latin-script languages (28–60 %), and at least 3 % of the words
    among very common words of a few languages.
    """
    words = [w.lower() for w in WORD.findall(text)]
    letters = "".join(words)
    if len(letters) < max(500, 20 * pages):
        return False
    vowels = sum(c in _VOWELS for c in letters) / len(letters)
    function = sum(w in FUNCTION_WORDS for w in words if len(w) > 1) / max(len(words), 1)
    return 0.28 <= vowels <= 0.6 and function >= 0.03


@dataclass
class Figures:
    """The text-quality figures of one pipeline on the corpus."""

    files: int = 0
    pages: int = 0
    indexed: int = 0
    crashes: int = 0
    skipped: int = 0
    untruthful_skips: int = 0
    chunks: int = 0
    split_accents: int = 0
    toc_like: int = 0
    control_chars: int = 0
    junk_glyphs: int = 0
    glyph_trails: int = 0
    running_headers: int = 0
    other_lang: int = 0
    seconds: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    langs: dict[str, int] = field(default_factory=dict)


def running_headers(path: Path) -> list[re.Pattern]:
    """Running headers and footers of ``path``, as PDFium reads them: lines found in the top or
    bottom 8 % of at least 3 pages (numbers aside) and at most 3 times elsewhere (a chapter's
    title in its heading and the table of contents; more is a phrase of the text)."""
    import pypdfium2 as pdfium

    counts: Counter[str] = Counter()
    body: list[str] = []
    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError:
        return []
    try:
        for page in pdf:
            width, height = page.get_size()
            textpage = page.get_textpage()
            bands = (textpage.get_text_bounded(0, height * 0.92, width, height),
                     textpage.get_text_bounded(0, 0, width, height * 0.08))
            counts.update({re.sub(r"\d+", "#", ln.strip()) for band in bands for ln in band.splitlines()})
            body.append(textpage.get_text_bounded(0, height * 0.08, width, height * 0.92))
    finally:
        pdf.close()
    text = "\n".join(body)
    found = []
    for key, n in counts.items():
        bare = key.replace("#", "").strip(" .|-–—")
        if n < 3 or sum(c.isalpha() for c in bare) < 10:
            continue
        rx = re.compile(r"\s*".join(r"\d+" if c == "#" else re.escape(c) for c in bare.replace(" ", "")))
        if len(rx.findall(text)) <= 3:
            found.append(rx)
    return found


def score_chunks(fig: Figures, chunks: list[dict], headers: dict[str, list[re.Pattern]]) -> None:
    """Add the per-chunk figures of ``chunks`` (``{"path", "text", "lang"}``) to ``fig``."""
    langs: Counter[str] = Counter()
    for c in chunks:
        text = c["text"]
        langs[str(c.get("lang"))] += 1
        header = next((m for rx in headers.get(c["path"], []) if (m := rx.search(text, 1))), None)
        for name, hit in (("split_accents", SPLIT_ACCENT.search(text)), ("toc_like", looks_like_toc(text)),
                          ("control_chars", CONTROL.search(text)), ("junk_glyphs", JUNK_GLYPH.search(text)),
                          ("glyph_trails", GLYPH_TRAIL.search(text)), ("running_headers", header)):
            if hit:
                setattr(fig, name, getattr(fig, name) + 1)
                sample = fig.examples.setdefault(name, [])
                if len(sample) < 3:
                    at = hit.start() if isinstance(hit, re.Match) else 0
                    sample.append(f"{c['path']}: {text[max(0, at - 30):at + 50]!r}")
    fig.chunks += len(chunks)
    fig.other_lang += sum(n for lang, n in langs.items() if lang not in ("fr", "en"))
    fig.langs = dict(langs.most_common())


def pdfium_text(path: Path) -> tuple[str, int]:
    """All the text PDFium finds in ``path``, and its page count ("" when it cannot open it)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError:
        return "", 0
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in pdf), len(pdf)
    finally:
        pdf.close()


def poppler_text(path: Path) -> str | None:
    """What ``pdftotext`` finds, or None when poppler is not installed."""
    if shutil.which("pdftotext") is None:
        return None
    run = subprocess.run(["pdftotext", "-q", str(path), "-"], capture_output=True, timeout=600)
    return run.stdout.decode("utf-8", "replace")


def check_skip(path: Path, reason: str) -> tuple[bool | None, str]:
    """Is ``reason`` true of ``path``? None when this benchmark cannot tell."""
    if "OCR" not in reason and "unreadable" not in reason:
        return None, ""
    text, pages = pdfium_text(path)
    poppler = poppler_text(path)
    found = [name for name, t in (("pdfium", text), ("pdftotext", poppler)) if t and has_real_text(t, pages)]
    letters = f"pdfium {len(WORD.findall(text))} words" + (
        f", pdftotext {len(WORD.findall(poppler))} words" if poppler is not None else "")
    return not found, letters


def run_kb(kb: list[str], corpus: Path, index: Path) -> tuple[dict | None, list[dict], float, str]:
    """Build ``corpus`` with the kb CLI (the command ``kb``): its report, chunks, wall seconds and stderr.

    Wall time, with the load average printed beside it: kb reads documents in worker processes
    forked by a server process that the build never waits for, so their CPU time is not counted
    in this process's children.
    """
    start = time.perf_counter()
    build = subprocess.run([*kb, "build", "--corpus", str(corpus), "--index", str(index), "--model", "hash",
                            "--full", "--json"], capture_output=True, text=True, cwd=corpus.parent)
    seconds = round(time.perf_counter() - start, 1)
    if build.returncode != 0:
        return None, [], seconds, f"kb build exited {build.returncode}:\n{build.stderr[-3000:]}"
    out = subprocess.run([*kb, "chunks", "--json", "--index", str(index)], capture_output=True, text=True,
                         check=True, cwd=corpus.parent)
    chunks = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return json.loads(build.stdout), chunks, seconds, build.stderr


def score_kb(fig: Figures, report: dict | None, chunks: list[dict], stderr: str, corpus: Path,
             headers: dict[str, list[re.Pattern]], skips: list[dict]) -> None:
    """The figures of one kb build: crashes, skips checked against the files, chunk quality."""
    if report is None or "Traceback" in stderr:
        fig.crashes += 1
        print(stderr[-3000:], file=sys.stderr)
    if report is None:
        return
    for s in report["skipped"]:
        truthful, evidence = check_skip(corpus / s["path"], s["reason"])
        if s["reason"].startswith("unexpected error"):
            fig.crashes += 1
        fig.untruthful_skips += truthful is False
        skips.append({**s, "truthful": truthful, "evidence": evidence})
    fig.skipped = len(report["skipped"])
    fig.indexed = report["documents"]
    fig.dropped = report.get("dropped", {})
    score_chunks(fig, chunks, headers)


def run_pypdf(files: list[Path], fig: Figures, headers: dict[str, list[re.Pattern]], words_per_chunk: int = 200) -> None:
    """pypdf ``extract_text`` per page, fixed 200-word chunks, langdetect per chunk."""
    import logging

    import pypdf
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    DetectorFactory.seed = 0
    chunks: list[dict] = []
    t = time.perf_counter()
    for path in files:
        try:
            text = "\n".join(p.extract_text() or "" for p in pypdf.PdfReader(path).pages)
        except Exception as exc:  # noqa: BLE001 - the baseline's crashes are a figure, not an error
            fig.crashes += 1
            fig.examples.setdefault("crash", []).append(f"{path.name}: {type(exc).__name__}: {exc}"[:200])
            continue
        words = text.split()
        if not words:
            fig.skipped += 1
            continue
        fig.indexed += 1
        for i in range(0, len(words), words_per_chunk):
            chunks.append({"path": path.name, "text": " ".join(words[i:i + words_per_chunk])})
    fig.seconds = round(time.perf_counter() - t, 1)
    for c in chunks:
        try:
            c["lang"] = detect(c["text"])
        except LangDetectException:
            c["lang"] = None
    score_chunks(fig, chunks, headers)


def pick(corpus: Path, limit: int | None) -> list[Path]:
    """The corpus files, or ``limit`` of them spread evenly over the sorted list."""
    files = sorted(p for p in corpus.rglob("*.pdf") if p.is_file())
    if limit and limit < len(files):
        step = len(files) / limit
        files = [files[int(i * step)] for i in range(limit)]
    return files


def count_pages(files: list[Path]) -> int:
    import pypdfium2 as pdfium

    total = 0
    for f in files:
        try:
            pdf = pdfium.PdfDocument(f)
        except pdfium.PdfiumError:
            continue
        total += len(pdf)
        pdf.close()
    return total


ROWS = (("files", "files"), ("pages", "pages"), ("indexed", "indexed files"), ("crashes", "crashes"),
        ("skipped", "skipped files"), ("untruthful_skips", "untruthful skips"), ("chunks", "chunks"),
        ("split_accents", "split accents"), ("toc_like", "TOC/index-like"), ("control_chars", "control characters"),
        ("junk_glyphs", "private-use/U+FFFD glyphs"), ("glyph_trails", "trails of 1-char tokens"),
        ("running_headers", "running headers left"), ("other_lang", "lang not fr/en"),
        ("seconds", "extraction wall seconds"))


def cell(fig: Figures, key: str) -> str:
    value = getattr(fig, key)
    if key in ("split_accents", "toc_like", "control_chars", "junk_glyphs", "glyph_trails", "running_headers",
               "other_lang") and fig.chunks:
        return f"{value} ({100 * value / fig.chunks:.1f} %)"
    return str(value)


def report(kb: Figures, base: Figures, skips: list[dict]) -> None:
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n")
    print(f"{'figure':<28}{'kb':>20}{'pypdf + 200 words':>22}")
    for key, label in ROWS:
        print(f"{label:<28}{cell(kb, key):>20}{cell(base, key):>22}")
    if kb.dropped:
        print("\nkb left out:", ", ".join(f"{k} {v}" for k, v in kb.dropped.items()))
    print("\nkb chunk languages:", ", ".join(f"{k} {v}" for k, v in list(kb.langs.items())[:12]))
    print("\nkb skipped files:")
    for s in skips:
        verdict = {True: "true", False: "UNTRUE", None: "not checked"}[s["truthful"]]
        print(f"  [{verdict}] {s['path']}: {s['reason']}" + (f"  ({s['evidence']})" if s["evidence"] else ""))
    for name, sample in kb.examples.items():
        print(f"\nkb {name}, e.g.:")
        for line in sample:
            print("  " + line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--limit", type=int, default=None, help="use N files spread over the corpus")
    ap.add_argument("--index", type=Path, default=None, help="index folder (default: a temporary one)")
    ap.add_argument("--kb", default=None,
                    help='the kb command (default: kb beside this Python), e.g. "python -m kb.cli"')
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    ap.add_argument("--no-baseline", action="store_true", help="skip the pypdf pipeline")
    args = ap.parse_args(argv)
    files = pick(args.corpus, args.limit)
    if not files:
        print(f"no PDF in {args.corpus}: run scripts/fetch_real_corpus.sh first", file=sys.stderr)
        return 2
    kb, base, skips = Figures(len(files)), Figures(len(files)), []
    kb.pages = base.pages = count_pages(files)
    headers = {f.name: running_headers(f) for f in files}
    with tempfile.TemporaryDirectory(prefix="kb-real-") as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for f in files:
            (corpus / f.name).symlink_to(f.resolve())
        kb_cmd = shlex.split(args.kb) if args.kb else [shutil.which("kb") or str(Path(sys.executable).with_name("kb"))]
        report_, chunks, kb.seconds, stderr = run_kb(kb_cmd, corpus, args.index or Path(tmp) / "index")
        score_kb(kb, report_, chunks, stderr, corpus, headers, skips)
        if not args.no_baseline:
            run_pypdf(files, base, headers)
    report(kb, base, skips)
    if args.json:
        args.json.write_text(json.dumps({"kb": asdict(kb), "pypdf": asdict(base), "skips": skips},
                                        ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
