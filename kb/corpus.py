"""Changing the corpus folder from the app: adding uploaded PDFs, retiring one.

Every write is exclusive: an upload is written to a hidden temporary file in
the corpus folder, checked (the extractor's own checks, and no copy of a
corpus file under another name), then hard-linked to its name, which fails if
the name exists, so two uploads of one name at once both survive (the second
as ``nom (2).pdf``). A file is replaced only when asked. A retired PDF is
moved into the hidden folder ``.retires/``, which the build ignores; nothing
is deleted.

Public entry points: :func:`add_pdfs`, :func:`retire_pdf`, :func:`corpus_pdfs`.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .digest import file_sha256
from .errors import ExtractionError, KbError
from .extract import extract_pdf

RETIRED = ".retires"  # hidden: the build does not read it
MAX_COPIES = 10_000  # « nom (2).pdf » … « nom (10000).pdf »
_PDFIUM = threading.Lock()  # PDFium is not thread-safe: one check at a time in this process


@dataclass(frozen=True)
class Added:
    """What became of one uploaded file.

    ``status`` is "added", "renamed" (saved under ``path`` because the name was
    taken), "replaced", "unchanged" (same name, same bytes) or "refused", then
    with ``reason``: an extraction reason (``empty file``, ``truncated PDF …``,
    ``encrypted: …``) or ``duplicate of OTHER.pdf``.
    """

    name: str  # as uploaded
    path: str  # relative to the corpus folder ("" when refused)
    status: str
    reason: str = ""


def safe_name(name: str) -> str:
    """A file name without folders or odd characters, ending in .pdf."""
    name = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name)
    name = re.sub(r"[^\w.\- ()]+", "_", name).strip(" .") or "document"
    return name if name.lower().endswith(".pdf") else name + ".pdf"


def corpus_pdfs(corpus: str | Path) -> list[str]:
    """Relative POSIX paths of the PDFs the build reads (hidden files and folders left out)."""
    corpus, found = Path(corpus), []
    for root, dirs, files in os.walk(corpus):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [(Path(root) / f).relative_to(corpus).as_posix() for f in files
                  if f.lower().endswith(".pdf") and not f.startswith(".")]
    return sorted(found)


def _copy_of(corpus: Path, data: bytes, skip: str) -> str | None:
    """The corpus PDF (other than ``skip``) holding exactly ``data``, if any: sizes first, then SHA-256."""
    digest = None
    for rel in corpus_pdfs(corpus):
        path = corpus / rel
        try:
            if rel == skip or path.stat().st_size != len(data):
                continue
            digest = digest or hashlib.sha256(data).hexdigest()
            if file_sha256(path) == digest:
                return rel
        except OSError:
            continue
    return None


def _link_free_name(src: Path, folder: Path, name: str) -> Path:
    """Hard-link ``src`` as ``folder/name``, or ``nom (2).pdf``… when taken; never overwrites."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, MAX_COPIES + 1):
        target = folder / (name if n == 1 else f"{stem} ({n}){suffix}")
        try:
            _link_exclusive(src, target)
            return target
        except FileExistsError:
            continue
    raise KbError(f"no free name for {name} in {folder}")


def _link_exclusive(src: Path, target: Path) -> None:
    """Give ``src`` the name ``target`` unless it exists (FileExistsError)."""
    try:
        os.link(src, target)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # A file system without hard links: claim the name exclusively, then swap the content in.
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        os.replace(src, target)


def check_pdf(path: Path) -> None:
    """The extractor's own checks on an upload: empty, not a PDF, truncated, encrypted, corrupt.

    Raises:
        ExtractionError: with the reason the build would give.
    """
    with _PDFIUM:
        extract_pdf(path)


def _add_one(corpus: Path, name: str, data: bytes, replace: bool, check: Callable[[Path], None]) -> Added:
    target = corpus / safe_name(name)
    fd, tmp_name = tempfile.mkstemp(dir=corpus, prefix=".upload-", suffix=".pdf")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        check(tmp)
        same = target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data
        if same:
            return Added(name, target.name, "unchanged")
        copy = _copy_of(corpus, data, skip=target.name if replace else "")
        if copy:
            return Added(name, "", "refused", f"duplicate of {copy}")
        if replace and target.exists():
            os.replace(tmp, target)
            return Added(name, target.name, "replaced")
        final = _link_free_name(tmp, corpus, target.name)
        return Added(name, final.name, "added" if final == target else "renamed")
    except ExtractionError as exc:
        return Added(name, "", "refused", exc.reason)
    finally:
        tmp.unlink(missing_ok=True)


def add_pdfs(corpus: str | Path, files: Iterable[tuple[str, bytes]], replace: bool = False,
             check: Callable[[Path], None] = check_pdf) -> list[Added]:
    """Write uploaded PDFs into ``corpus``, each checked and never losing another file.

    A file whose name exists already is replaced only when ``replace``; otherwise
    it is saved under a free name (``nom (2).pdf``). The same bytes under the
    same name are left as they are. A file the build could not read, or a copy
    of another corpus PDF, is refused with its reason and nothing is written.
    A scanned PDF (no text layer) is accepted. ``check`` raises
    :class:`~kb.errors.ExtractionError` for a file to refuse (default: :func:`check_pdf`).
    """
    corpus = Path(corpus)
    corpus.mkdir(parents=True, exist_ok=True)
    return [_add_one(corpus, name, data, replace, check) for name, data in files]


def retire_pdf(corpus: str | Path, rel: str) -> str:
    """Move the corpus PDF ``rel`` into ``.retires/`` (never overwriting); return its new relative path.

    Raises:
        KbError: ``rel`` is not a PDF of the corpus.
    """
    corpus = Path(corpus)
    src = corpus / rel
    if rel not in corpus_pdfs(corpus) or not src.is_file():
        raise KbError(f"{rel} is not a PDF of the corpus")
    folder = corpus / RETIRED
    folder.mkdir(exist_ok=True)
    final = _link_free_name(src, folder, src.name)
    src.unlink(missing_ok=True)  # gone already when the file system has no hard links
    return final.relative_to(corpus).as_posix()
