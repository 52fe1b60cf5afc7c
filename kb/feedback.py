"""Practitioners' judgments from the app (« utile » / « pas utile »), kept with the index.

Each mark is one JSON line in ``index/feedback.jsonl`` (beside the versions,
so it survives rebuilds): when, the query, passage or mandate, useful or not.
Nothing personal is stored beyond the query. :func:`as_judgments` turns the
marks into the judgments format of ``kb eval`` (the last mark of a query and
result wins; a query's useful passages from its most-marked document).

Public entry points: :func:`record`, :func:`read_marks`, :func:`as_judgments`.
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from .records import Chunk, Mandate
from .store import feedback_path

_KEY_CHARS = 80  # the start of a passage identifies it in the judgments


def _doc_stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[:-4] if name.lower().endswith(".pdf") else name


def record(index_dir: str | Path, query: str, useful: bool, chunk: Chunk | None = None,
           mandate: Mandate | None = None) -> dict[str, Any]:
    """Append one mark (for a passage or a mandate) and return it."""
    row: dict[str, Any] = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "query": query.strip(),
                           "useful": bool(useful)}
    if chunk is not None:
        row.update(type="passage", chunk_id=chunk.chunk_id, doc=_doc_stem(chunk.path),
                   key=" ".join(chunk.text.split())[:_KEY_CHARS])
    elif mandate is not None:
        row.update(type="mandate", mandate_id=mandate.id, expect=mandate.title.lower())
    else:
        raise ValueError("a mark needs a passage or a mandate")
    path = feedback_path(index_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)  # one write in append mode: concurrent marks never interleave
    finally:
        os.close(fd)
    return row


def read_marks(index_dir: str | Path) -> list[dict[str, Any]]:
    """Every mark, oldest first (unreadable lines are skipped)."""
    path = feedback_path(index_dir)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and row.get("query") and row.get("type") in ("passage", "mandate"):
            out.append(row)
    return out


def as_judgments(marks: list[dict[str, Any]], kind: str = "passage") -> list[dict[str, Any]]:
    """Judgments rows (``kb eval`` format) from the useful marks of one kind (passage or mandate)."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for m in marks:
        if m["type"] == kind:
            last[(m["query"], m.get("chunk_id") or m.get("mandate_id", ""))] = m
    useful: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (query, _), m in last.items():
        if m["useful"]:
            useful[query].append(m)
    rows = []
    for i, (query, ms) in enumerate(sorted(useful.items()), start=1):
        if kind == "mandate":
            rows.append({"id": f"fm{i:03d}", "query": query, "expect": sorted({m["expect"] for m in ms})})
            continue
        doc = Counter(m["doc"] for m in ms).most_common(1)[0][0]
        rows.append({"id": f"f{i:03d}", "query": query, "doc": doc,
                     "any": sorted({m["key"] for m in ms if m["doc"] == doc})})
    return rows
