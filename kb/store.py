"""The index folder on disk: plain files, a JSON manifest, atomic swaps.

Layout::

    index/
      CURRENT                 name of the live version folder (one line)
      v-20261122T110501Z-3f2a/
        manifest.json         model, dimensions, chunker settings, file hashes, build time
        documents.jsonl       one document record a line
        chunks.jsonl          one chunk a line, row-aligned with the vectors
        vectors.npy           float32 (n, dim), L2-normalised (no pickle)
        dense.faiss           FAISS index over the same rows
        lexical/              BM25 (bm25s: JSON + .npy files)
        mandates.jsonl        past mandates read from the documents
        mandate_vectors.npy   their embeddings, row-aligned

A build writes a new version folder beside the live one and only then replaces
``CURRENT`` (``os.replace`` is atomic), so a failed or interrupted build leaves
the previous index intact, and a reader never sees a half-written index. Old
versions are removed after the swap, keeping the previous one for readers that
were opening it at that moment.

Public entry points: :func:`current_version`, :class:`VersionWriter`,
:func:`build_lock`, :func:`read_jsonl`, :func:`write_jsonl`.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import IndexCorruptError, IndexMissingError, KbError

FORMAT_VERSION = 3
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
_KEEP_PREVIOUS = 1


def current_version(index_dir: str | Path) -> Path:
    """The live version folder of an index.

    Raises:
        IndexMissingError: no index was ever built there.
        IndexCorruptError: the pointer or the folder it names is broken.
    """
    index_dir = Path(index_dir)
    pointer = index_dir / CURRENT
    if not pointer.exists():
        raise IndexMissingError(f"no index in {index_dir}: run `kb build` first")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise IndexCorruptError(f"cannot read {pointer}: {exc}") from None
    version = index_dir / name
    if not name or "/" in name or not (version / MANIFEST).is_file():
        raise IndexCorruptError(f"index in {index_dir} is corrupt ({CURRENT} names a missing "
                                f"version {name!r}): run `kb build --full`")
    return version


def read_manifest(version: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"index manifest {version / MANIFEST} is unreadable ({exc}): "
                                "run `kb build --full`") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(f"index in {version.parent} has format "
                                f"{manifest.get('format_version') if isinstance(manifest, dict) else '?'}, "
                                f"this kb reads format {FORMAT_VERSION}: run `kb build --full`")
    return manifest


def write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False))
            f.write("\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"index file {path} is unreadable ({exc}): run `kb build --full`") from None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class VersionWriter:
    """Write a new index version; it becomes live only on :meth:`commit`.

    Use as a context manager: leaving the block without committing (an
    exception, Ctrl-C) deletes the partial folder and leaves ``CURRENT`` alone.
    """

    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=".partial-", dir=self.index_dir))
        self.committed: Path | None = None

    def __enter__(self) -> "VersionWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.committed is None:
            shutil.rmtree(self.path, ignore_errors=True)

    def commit(self) -> Path:
        for f in self.path.iterdir():
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        final = self.index_dir / f"v-{stamp}-{self.path.name[-6:]}"
        os.rename(self.path, final)
        tmp = self.index_dir / f".{CURRENT}.tmp"
        tmp.write_text(final.name + "\n", encoding="utf-8")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.index_dir / CURRENT)
        _fsync_dir(self.index_dir)
        self.committed = final
        self._prune(final)
        return final

    def _prune(self, live: Path) -> None:
        versions = sorted((p for p in self.index_dir.glob("v-*") if p.is_dir() and p != live),
                          key=lambda p: p.stat().st_mtime, reverse=True)
        for old in versions[_KEEP_PREVIOUS:]:
            shutil.rmtree(old, ignore_errors=True)


def remove_stale_partials(index_dir: Path) -> None:
    """Delete folders left by builds that were killed (only call under the build lock)."""
    for p in index_dir.glob(".partial-*"):
        shutil.rmtree(p, ignore_errors=True)


@contextmanager
def build_lock(index_dir: str | Path) -> Iterator[None]:
    """Only one build at a time per index folder (readers never wait)."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise KbError(f"another build is already running on {index_dir}") from None
        try:
            remove_stale_partials(index_dir)
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
