"""Adding files to the corpus folder (the app's uploader).

Public entry point: :func:`add_pdfs`.
"""
from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable


@dataclass(frozen=True)
class Added:
    """What became of one uploaded file."""

    name: str  # as uploaded
    path: str  # relative to the corpus folder ("" when refused)
    status: str  # "added" | "replaced" | "unchanged" | "renamed" | "refused: …"


def safe_name(name: str) -> str:
    """A file name without folders or odd characters, ending in .pdf."""
    name = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name)
    name = re.sub(r"[^\w.\- ()]+", "_", name).strip(" .") or "document"
    return name if name.lower().endswith(".pdf") else name + ".pdf"


def add_pdfs(corpus: str | Path, files: Iterable[tuple[str, bytes]], replace: bool = False) -> list[Added]:
    """Write uploaded PDFs into ``corpus`` atomically.

    A file whose name exists already is replaced only when ``replace``; otherwise
    it is saved under a new name (``nom (2).pdf``). Identical content is left
    as it is. Nothing that is not a PDF is written.
    """
    corpus = Path(corpus)
    corpus.mkdir(parents=True, exist_ok=True)
    out = []
    for name, data in files:
        if not data.startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
            out.append(Added(name, "", "refused: not a PDF"))
            continue
        target = corpus / safe_name(name)
        status = "added"
        if target.exists():
            if target.read_bytes() == data:
                out.append(Added(name, target.name, "unchanged"))
                continue
            if replace:
                status = "replaced"
            else:
                stem, n = target.stem, 2
                while target.exists():
                    target = corpus / f"{stem} ({n}).pdf"
                    n += 1
                status = "renamed"
        fd, tmp = tempfile.mkstemp(dir=corpus, prefix=".upload-", suffix=".pdf")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
        out.append(Added(name, target.name, status))
    return out
