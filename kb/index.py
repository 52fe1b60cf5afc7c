"""A built index loaded in memory: manifest, records, vectors, FAISS index.

Public entry point: :func:`load_index`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .dense import DenseInfo, load_dense
from .errors import IndexCorruptError, IndexMismatchError
from .records import Chunk, Document, Mandate
from .store import current_version, read_jsonl, read_manifest

_CHUNK_FIELDS = tuple(Chunk.__dataclass_fields__)
_DOC_FIELDS = tuple(Document.__dataclass_fields__)


@dataclass
class KbIndex:
    """Everything a query needs, loaded from one index version."""

    path: Path  # the version folder
    manifest: dict[str, Any]
    documents: list[Document]
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: Any = field(repr=False, default=None)
    text_hashes: list[str] = field(default_factory=list, repr=False)
    mandates: list[Mandate] = field(default_factory=list)
    mandate_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32), repr=False)

    @property
    def version(self) -> str:
        return self.path.name

    @property
    def model_id(self) -> str:
        return self.manifest["embedder"]["model_id"]

    @property
    def embedder_spec(self) -> str:
        return self.manifest["embedder"]["spec"]

    def check_embedder(self, embedder) -> None:
        """Raise if ``embedder`` is not the model this index was built with."""
        if embedder.model_id != self.model_id:
            raise IndexMismatchError(
                f"the index was built with {self.model_id}, not {embedder.model_id}: "
                f"rebuild it with `kb build --full --model {embedder.spec}` "
                f"or query it with --model {self.embedder_spec}")


def _chunk(row: dict[str, Any]) -> Chunk:
    return Chunk(**{k: row[k] for k in _CHUNK_FIELDS})


def _mandate(row: dict[str, Any]) -> Mandate:
    m = {k: row[k] for k in Mandate.__dataclass_fields__}
    for k in ("deliverables", "links", "themes"):
        m[k] = tuple(m[k])
    return Mandate(**m)


def _document(row: dict[str, Any]) -> Document:
    return Document(**{k: row[k] for k in _DOC_FIELDS})


def load_index(index_dir: str | Path) -> KbIndex:
    """Load the live version of the index at ``index_dir``.

    Raises:
        IndexMissingError / IndexCorruptError: with a sentence that says what to do.
    """
    version = current_version(index_dir)
    manifest = read_manifest(version)
    try:
        chunk_rows = read_jsonl(version / "chunks.jsonl")
        chunks = [_chunk(r) for r in chunk_rows]
        documents = [_document(r) for r in read_jsonl(version / "documents.jsonl")]
        vectors = np.load(version / "vectors.npy", allow_pickle=False)
        dense = load_dense(version / "dense.faiss", DenseInfo(**manifest["dense"]))
        mandates = [_mandate(r) for r in read_jsonl(version / "mandates.jsonl")]
        mandate_vectors = np.load(version / "mandate_vectors.npy", allow_pickle=False)
    except (KeyError, TypeError, ValueError, OSError, RuntimeError) as exc:
        raise IndexCorruptError(f"index in {version} is corrupt ({exc}): run `kb build --full`") from None
    if vectors.shape[0] != len(chunks) or dense.ntotal != len(chunks):
        raise IndexCorruptError(f"index in {version} is corrupt ({len(chunks)} chunks, "
                                f"{vectors.shape[0]} vectors): run `kb build --full`")
    if mandate_vectors.shape[0] != len(mandates):
        raise IndexCorruptError(f"index in {version} is corrupt ({len(mandates)} mandates, "
                                f"{mandate_vectors.shape[0]} vectors): run `kb build --full`")
    return KbIndex(version, manifest, documents, chunks, vectors, dense,
                   [r.get("text_hash", "") for r in chunk_rows], mandates, mandate_vectors)


def index_status(index_dir: str | Path) -> dict[str, Any]:
    """What `kb status` shows; reads only the manifest (cheap)."""
    from .store import current_version, read_manifest

    version = current_version(index_dir)
    m = read_manifest(version)
    return {
        "index": str(version.parent),
        "version": version.name,
        "documents": m["documents"],
        "chunks": m["chunks"],
        "mandates": m.get("mandates", 0),
        "model": m["embedder"]["model_id"],
        "embedder": m["embedder"]["spec"],
        "index_type": m["dense"]["type"],
        "built_at": m["built_at"],
        "corpus": m.get("corpus"),
        "skipped": m.get("skipped", []),
    }
