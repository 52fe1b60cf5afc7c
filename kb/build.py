"""Corpus folder → index folder, incrementally and atomically (`kb build`).

Public entry point: :func:`build_index`.

Incremental rules:
- a file is identified by the SHA-256 of its bytes; a file whose size and
  modification time did not change is not even re-read;
- an unchanged file reuses its document record, chunks and vectors; a renamed
  file too (only its path changes);
- a new or changed file is extracted, cleaned and chunked again, and only the
  chunks whose text was never embedded with this model are embedded;
- the same bytes under two names are indexed once, the second name reported;
- when nothing changed, nothing is written.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import __version__
from .chunk import ChunkSettings
from .dense import EXACT_MAX, build_dense, save_dense
from .errors import ExtractionError, IndexCorruptError, IndexMissingError, KbError
from .index import KbIndex, load_index
from .document import PIPELINE_VERSION, read_document
from .lexical import BM25_B, BM25_K1, LEXICAL_DIR, build_lexical, save_lexical
from .mandates import mandate_text, with_path
from .records import Chunk, Document, Mandate, Skipped
from .store import FORMAT_VERSION, VersionWriter, build_lock, current_version, read_manifest, write_json, write_jsonl

log = logging.getLogger(__name__)


Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BuildOptions:
    """Settings of a build."""

    full: bool = False  # ignore everything the previous index holds
    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    exact_max: int = EXACT_MAX  # above this many chunks, an approximate (HNSW) index
    batch_size: int = 16


@dataclass(frozen=True)
class BuildReport:
    """What a build did; ``to_dict`` is the `kb build --json` contract."""

    documents: int
    chunks: int
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    skipped: tuple[Skipped, ...]
    seconds: float
    model: str
    embedded: int  # chunks and mandates embedded by this build (0 when everything was cached)
    written: bool  # False when nothing changed and the index was left as it was
    version: str
    notes: tuple[str, ...] = ()
    mandates: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "chunks": self.chunks,
            "added": list(self.added),
            "updated": list(self.updated),
            "removed": list(self.removed),
            "unchanged": self.unchanged,
            "skipped": [asdict(s) for s in self.skipped],
            "seconds": round(self.seconds, 3),
            "model": self.model,
            "embedded": self.embedded,
            "written": self.written,
            "version": self.version,
            "notes": list(self.notes),
            "mandates": self.mandates,
        }


def passage_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its text under its document title and section."""
    head = chunk.title if not chunk.section else f"{chunk.title} — {chunk.section}"
    return f"{head}\n{chunk.text}"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def scan_corpus(corpus: Path) -> list[str]:
    """Relative POSIX paths of the PDFs under ``corpus`` (sub-folders included, hidden ones not)."""
    found = []
    for root, dirs, files in os.walk(corpus):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.lower().endswith(".pdf") and not name.startswith("."):
                found.append((Path(root) / name).relative_to(corpus).as_posix())
    return sorted(found)


def _previous(index_dir: Path, full: bool, notes: list[str]) -> KbIndex | None:
    if full:
        return None
    try:
        return load_index(index_dir)
    except IndexMissingError:
        return None
    except IndexCorruptError as exc:
        notes.append(f"previous index unreadable, rebuilding everything ({exc})")
        return None


def embedder_spec_for(index_dir: str | Path, requested: str | None = None) -> str | None:
    """Which model a build should use: the one asked for (option or ``KB_EMBEDDER``), else the
    model the existing index was built with, else None (the default)."""
    if requested or os.environ.get("KB_EMBEDDER"):
        return requested or os.environ["KB_EMBEDDER"]
    try:
        return read_manifest(current_version(index_dir))["embedder"]["spec"]
    except (KbError, KeyError):
        return None


def _pipeline_fingerprint(options: BuildOptions) -> dict[str, Any]:
    return {"version": PIPELINE_VERSION, "chunking": options.chunking.to_dict()}


def build_index(corpus_dir: str | Path, index_dir: str | Path, embedder,
                options: BuildOptions | None = None, progress: Progress | None = None) -> BuildReport:
    """Index every PDF under ``corpus_dir`` into ``index_dir``.

    Args:
        corpus_dir: folder of PDFs (sub-folders included).
        index_dir: index folder; created if needed.
        embedder: an :class:`~kb.embed.Embedder`.
        options: build settings.
        progress: called as ``progress(stage, done, total)``.

    Returns:
        A :class:`BuildReport`. Files that cannot be indexed are in ``skipped``
        with their reason; they never make the build fail.
    """
    options = options or BuildOptions()
    corpus, index_dir = Path(corpus_dir), Path(index_dir)
    if not corpus.is_dir():
        raise IndexMissingError(f"corpus folder not found: {corpus}")
    started = time.perf_counter()
    tick = progress or (lambda stage, done, total: None)
    notes: list[str] = []

    with build_lock(index_dir):
        prev = _previous(index_dir, options.full, notes)
        prev_files: dict[str, dict[str, Any]] = prev.manifest.get("files", {}) if prev else {}
        same_pipeline = bool(prev) and prev.manifest.get("pipeline") == _pipeline_fingerprint(options)
        same_model = bool(prev) and prev.model_id == embedder.model_id
        if prev and not same_model:
            notes.append(f"model changed ({prev.model_id} → {embedder.model_id}): every chunk is embedded again")
        if prev and not same_pipeline:
            notes.append("extraction or chunking settings changed: every file is read again")

        # 1. Hash the files (skipping unchanged ones by size and modification time).
        rels = scan_corpus(corpus)
        files: dict[str, dict[str, Any]] = {}
        for i, rel in enumerate(rels):
            st = (corpus / rel).stat()
            old = prev_files.get(rel)
            if old and old.get("size") == st.st_size and old.get("mtime_ns") == st.st_mtime_ns:
                sha = old["sha256"]
            else:
                sha = _sha256(corpus / rel)
            files[rel] = {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
            tick("scan", i + 1, len(rels))

        # 2. One canonical path per content; the others are duplicates.
        by_sha: dict[str, list[str]] = defaultdict(list)
        for rel in rels:
            by_sha[files[rel]["sha256"]].append(rel)
        prev_docs = {d.sha256: d for d in prev.documents} if prev and same_pipeline else {}
        prev_skips = {f["sha256"]: f["reason"] for f in prev_files.values()
                      if f.get("status") == "skipped" and not f.get("reason", "").startswith("duplicate of")
                      } if same_pipeline else {}
        prev_chunks: dict[str, list[int]] = defaultdict(list)
        prev_mandates: dict[str, list[Mandate]] = defaultdict(list)
        if prev:
            for row, c in enumerate(prev.chunks):
                prev_chunks[c.doc_id].append(row)
            for m in prev.mandates:
                prev_mandates[m.doc_id].append(m)

        documents: list[Document] = []
        chunks: list[Chunk] = []
        mandates: list[Mandate] = []
        cached_vectors: dict[str, np.ndarray] = {}
        if prev and same_model:
            for row, h in enumerate(prev.text_hashes):
                if h:
                    cached_vectors[h] = prev.vectors[row]
            for row, m in enumerate(prev.mandates):
                cached_vectors[text_hash(mandate_text(m))] = prev.mandate_vectors[row]
        skipped: list[Skipped] = []
        added, updated, unchanged = [], [], 0
        todo = sorted(by_sha.items(), key=lambda kv: kv[1][0])
        for i, (sha, paths) in enumerate(todo):
            prev_path = prev_docs[sha].path if sha in prev_docs else None
            # Keep the name indexed before; else the shortest (copies get longer names).
            canonical = prev_path if prev_path in paths else min(paths, key=lambda p: (len(p), p))
            for dup in paths:
                if dup != canonical:
                    skipped.append(Skipped(dup, f"duplicate of {canonical}"))
                    files[dup].update(status="skipped", reason=f"duplicate of {canonical}")
            entry = files[canonical]
            if sha in prev_skips:
                skipped.append(Skipped(canonical, prev_skips[sha]))
                entry.update(status="skipped", reason=prev_skips[sha])
                tick("extract", i + 1, len(todo))
                continue
            if sha in prev_docs:
                doc = replace(prev_docs[sha], path=canonical)
                doc_chunks = [replace(prev.chunks[r], path=canonical) for r in prev_chunks[doc.doc_id]]
                doc_mandates = with_path(prev_mandates[doc.doc_id], canonical)
            else:
                try:
                    content = read_document(corpus / canonical, canonical, sha, options.chunking)
                    doc, doc_chunks, doc_mandates = content.document, list(content.chunks), list(content.mandates)
                except Exception as exc:  # one odd file must not stop the others
                    if isinstance(exc, ExtractionError):
                        reason = exc.reason
                    else:
                        log.exception("unexpected error reading %s", canonical)
                        reason = f"unexpected error while reading: {type(exc).__name__}: {exc}"
                    skipped.append(Skipped(canonical, reason))
                    entry.update(status="skipped", reason=reason)
                    tick("extract", i + 1, len(todo))
                    continue
            old = prev_files.get(canonical)
            if old is None or old.get("status") != "indexed":
                added.append(canonical)
            elif old["sha256"] != sha:
                updated.append(canonical)
            else:
                unchanged += 1
            entry.update(status="indexed", doc_id=doc.doc_id)
            documents.append(doc)
            chunks.extend(doc_chunks)
            mandates.extend(doc_mandates)
            tick("extract", i + 1, len(todo))

        removed = sorted(rel for rel, f in prev_files.items()
                         if f.get("status") == "indexed" and files.get(rel, {}).get("status") != "indexed")
        skipped.sort(key=lambda s: s.path)
        model = embedder.model_id
        unchanged_files = (prev is not None and same_model and same_pipeline and
                           {k: {kk: v.get(kk) for kk in ("sha256", "status", "reason")} for k, v in files.items()}
                           == {k: {kk: v.get(kk) for kk in ("sha256", "status", "reason")} for k, v in prev_files.items()})
        if unchanged_files and not added and not updated and not removed:
            return BuildReport(len(documents), len(chunks), (), (), (), unchanged, tuple(skipped),
                               time.perf_counter() - started, model, 0, False, prev.version, tuple(notes),
                               len(mandates))

        # 3. Embed what was never embedded with this model.
        texts = [passage_text(c) for c in chunks] + [mandate_text(m) for m in mandates]
        all_hashes = [text_hash(t) for t in texts]
        hashes, mandate_hashes = all_hashes[:len(chunks)], all_hashes[len(chunks):]
        missing = sorted({h: i for i, h in enumerate(all_hashes) if h not in cached_vectors}.items(),
                         key=lambda kv: kv[1])
        for start in range(0, len(missing), options.batch_size):
            batch = missing[start:start + options.batch_size]
            vecs = embedder.embed([texts[i] for _, i in batch])
            for (h, _), v in zip(batch, vecs):
                cached_vectors[h] = v
            tick("embed", min(start + options.batch_size, len(missing)), len(missing))
        dim = next(iter(cached_vectors.values())).shape[0] if cached_vectors else embedder.embed(["dim"]).shape[1]
        vectors = (np.stack([cached_vectors[h] for h in hashes]).astype(np.float32)
                   if chunks else np.zeros((0, dim), dtype=np.float32))
        mandate_vectors = (np.stack([cached_vectors[h] for h in mandate_hashes]).astype(np.float32)
                           if mandates else np.zeros((0, dim), dtype=np.float32))

        # 4. Write the new version beside the live one, then swap.
        tick("write", 0, 1)
        dense, info = build_dense(vectors, options.exact_max)
        lexical = build_lexical(texts[:len(chunks)])
        manifest = {
            "format_version": FORMAT_VERSION,
            "kb_version": __version__,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "corpus": str(corpus.resolve()),
            "embedder": {"spec": embedder.spec, "model_id": model, "dim": int(dim)},
            "dense": info.to_dict(),
            "lexical": {"type": "bm25", "k1": BM25_K1, "b": BM25_B, "analyzer": "french-fold-snowball-v1"},
            "pipeline": _pipeline_fingerprint(options),
            "extractor": "pypdfium2",
            "documents": len(documents),
            "chunks": len(chunks),
            "mandates": len(mandates),
            "skipped": [asdict(s) for s in skipped],
            "files": files,
        }
        with VersionWriter(index_dir) as writer:
            write_jsonl(writer.path / "documents.jsonl", (asdict(d) for d in documents))
            write_jsonl(writer.path / "chunks.jsonl",
                        ({**c.to_dict(), "text_hash": h} for c, h in zip(chunks, hashes)))
            np.save(writer.path / "vectors.npy", vectors, allow_pickle=False)
            save_dense(dense, writer.path / "dense.faiss")
            write_jsonl(writer.path / "mandates.jsonl", (m.to_dict() for m in mandates))
            np.save(writer.path / "mandate_vectors.npy", mandate_vectors, allow_pickle=False)
            if chunks:
                save_lexical(lexical, writer.path / LEXICAL_DIR)
            write_json(writer.path / "manifest.json", manifest)
            version = writer.commit()
        tick("write", 1, 1)
        return BuildReport(len(documents), len(chunks), tuple(added), tuple(updated), tuple(removed),
                           unchanged, tuple(skipped), time.perf_counter() - started, model,
                           len(missing), True, version.name, tuple(notes), len(mandates))
