"""Dense vector index over L2-normalised embeddings (FAISS, inner product).

Exact search (``IndexFlatIP``) up to ``exact_max`` vectors; above that an HNSW
graph, whose recall/speed trade-off (``ef_search``) is recorded with it.

Public entry points: :func:`build_dense`, :func:`save_dense`, :func:`load_dense`,
:func:`search_dense`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

EXACT_MAX = 200_000  # flat search at 100k x 384: ~6 ms (benchmarks/bench_search.py)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


@dataclass(frozen=True)
class DenseInfo:
    """What kind of FAISS index was built (recorded in the manifest)."""

    type: str  # "flat" | "hnsw"
    count: int
    dim: int
    metric: str = "inner_product"
    hnsw_m: int | None = None
    ef_search: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def build_dense(vectors: np.ndarray, exact_max: int = EXACT_MAX):
    """Return ``(faiss_index, DenseInfo)`` for row-aligned, normalised vectors."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    if n <= exact_max:
        index = faiss.IndexFlatIP(dim)
        info = DenseInfo("flat", n, dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        info = DenseInfo("hnsw", n, dim, hnsw_m=HNSW_M, ef_search=HNSW_EF_SEARCH)
    if n:
        index.add(vectors)
    return index, info


def save_dense(index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load_dense(path: Path, info: DenseInfo | None = None):
    import faiss

    index = faiss.read_index(str(path))
    if info is not None and info.type == "hnsw" and info.ef_search:
        index.hnsw.efSearch = info.ef_search
    return index


def search_dense(index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` rows for one query vector: ``(scores, row_ids)``, best first, no padding."""
    if index.ntotal == 0 or k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    scores, ids = index.search(q, min(k, index.ntotal))
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]
