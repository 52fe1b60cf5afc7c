"""Dense vector search over L2-normalised embeddings (inner product).

The vectors are held once: the index's ``vectors.npy``, memory-mapped by the
store. Up to ``exact_max`` rows they are scored exactly by one matrix-vector
product (:class:`ExactIndex`, no copy). Above, an inverted file (FAISS
``IndexIVFScalarQuantizer``, 8-bit codes: a quarter of the float32 size,
trained on a sample) proposes candidates, which are then re-scored exactly
from the float32 vectors (:class:`IvfIndex`): scores are exact, only the
candidate list is approximate. ``nprobe`` (lists visited per query) is the
smallest whose recall@10 against exact search, measured at build time,
reaches ``TARGET_RECALL``; the build time and the recall are recorded with it
(manifest). The recall is measured on *probes*: queries the model made from a
few words of random passages, given by the build. Rows plus noise, the
fallback when no model is at hand, were far too optimistic on real passages
(recall 0.98 where real queries got 0.67, `benchmarks/bench_ivf_real.py`).

Public entry points: :func:`build_dense`, :func:`save_dense`, :func:`load_dense`,
:func:`search_dense`, :func:`exact_top`, :func:`top_rows`, :func:`recall_at`.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

EXACT_MAX = 200_000  # exact product over 200k x 384 float32: ~20 ms a query on 2 cores
TARGET_RECALL = 0.95  # recall@10 of the candidates the inverted file proposes, against exact search
# Never fewer than 32 lists: held-out queries near the stored rows reached 1.0 at 8 lists of 1,024
# over a million synthetic rows, but queries unlike every row needed many more (docs/SCALING.md).
NPROBES = (32, 64, 128, 256, 512)
TRAIN_PER_LIST = 40  # FAISS warns below 39 training points a list
RECALL_QUERIES = 200
RESCORE_MIN = 100  # the inverted file proposes at least this many candidates for exact re-scoring


@dataclass(frozen=True)
class DenseInfo:
    """What kind of dense index was built (recorded in the manifest)."""

    type: str  # "flat" | "ivf"
    count: int
    dim: int
    metric: str = "inner_product"
    nlist: int | None = None
    nprobe: int | None = None
    recall_at_10: float | None = None  # measured at build time against exact search
    build_s: float | None = None
    probes: str | None = None  # what the recall was measured on: "model" (query-like) or "rows+noise"

    def to_dict(self) -> dict:
        return asdict(self)


class ExactIndex:
    """Exact inner products over row-aligned vectors (a memory map is scored in place, never copied)."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors

    @property
    def ntotal(self) -> int:
        return int(self.vectors.shape[0])

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return exact_top(self.vectors, q, k)


class IvfIndex:
    """An inverted file proposing candidates, re-scored exactly from the float32 vectors."""

    def __init__(self, ivf, vectors: np.ndarray, nprobe: int) -> None:
        self.ivf, self.vectors = ivf, vectors
        self.ivf.nprobe = nprobe

    @property
    def ntotal(self) -> int:
        return int(self.ivf.ntotal)

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        _, ids = self.ivf.search(q.reshape(1, -1), max(k, RESCORE_MIN))
        rows = np.sort(ids[0][ids[0] >= 0])  # in file order: fewer pages of the memory map touched
        return _ordered(rows, self.vectors[rows] @ q, k)


def exact_top(vectors: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` rows of ``vectors @ q``: ``(scores, rows)``, best first, ties by row."""
    scores = vectors @ q
    rows = top_rows(scores, k)
    return scores[rows].astype(np.float32), rows


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the ``k`` highest scores, best first, ties by row: what a stable sort of the
    whole array gives, without sorting it (a partition, then a sort of the ``k`` kept)."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k < scores.shape[0]:
        cut = scores[np.argpartition(-scores, k - 1)[:k]].min()
        rows = np.flatnonzero(scores >= cut)  # every row tied with the k-th, so ties resolve by row
    else:
        rows = np.arange(scores.shape[0])
    return _ordered(rows, scores[rows], k)[1]


def _ordered(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((rows, -scores))[:k]
    return scores[order].astype(np.float32), rows[order].astype(np.int64)


def build_dense(vectors: np.ndarray, exact_max: int = EXACT_MAX, seed: int = 0, probes: np.ndarray | None = None):
    """Return ``(index, DenseInfo)`` for row-aligned, normalised float32 vectors.

    ``probes``: query vectors to choose ``nprobe`` on (default: rows plus noise).
    """
    n, dim = vectors.shape
    if n <= exact_max:
        return ExactIndex(vectors), DenseInfo("flat", n, dim)
    probes = probes if probes is not None and len(probes) else None
    start = time.perf_counter()
    nlist = _nlist(n)
    ivf = _train_ivf(vectors, nlist, seed)
    for lo in range(0, n, 65_536):  # in slices: a memory map is never copied whole
        ivf.add(np.ascontiguousarray(vectors[lo:lo + 65_536], dtype=np.float32))
    nprobe, recall = choose_nprobe(ivf, vectors, seed, probes)
    index = IvfIndex(ivf, vectors, nprobe)
    return index, DenseInfo("ivf", n, dim, nlist=nlist, nprobe=nprobe, recall_at_10=round(recall, 4),
                            build_s=round(time.perf_counter() - start, 1),
                            probes="rows+noise" if probes is None else "model")


def _nlist(n: int) -> int:
    return int(min(4096, max(16, 2 ** round(np.log2(np.sqrt(n))))))


def _train_ivf(vectors: np.ndarray, nlist: int, seed: int):
    import faiss

    dim = vectors.shape[1]
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(vectors.shape[0], min(vectors.shape[0], nlist * TRAIN_PER_LIST), replace=False))
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                        faiss.METRIC_INNER_PRODUCT)
    ivf.cp.seed = seed
    ivf.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
    return ivf


def held_out_queries(vectors: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Queries near the stored rows but none of them: a row plus noise of its own size, normalised."""
    rng = np.random.default_rng(seed + 1)
    rows = np.sort(rng.choice(vectors.shape[0], min(count, vectors.shape[0]), replace=False))
    q = np.asarray(vectors[rows], dtype=np.float32)
    noise = rng.standard_normal(q.shape).astype(np.float32)
    q = q + noise / np.linalg.norm(noise, axis=1, keepdims=True)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def recall_at(index, vectors: np.ndarray, queries: np.ndarray, k: int = 10, truth=None) -> float:
    """Mean share of the exact top-``k`` that ``index`` returns."""
    truth = truth if truth is not None else [exact_top(vectors, q, k)[1] for q in queries]
    got = [search_dense(index, q, k)[1] for q in queries]
    return float(np.mean([len(set(g.tolist()) & set(t.tolist())) / k for g, t in zip(got, truth)]))


def choose_nprobe(ivf, vectors: np.ndarray, seed: int = 0, probes: np.ndarray | None = None) -> tuple[int, float]:
    """The smallest ``nprobe`` of ``NPROBES`` reaching ``TARGET_RECALL`` (else the largest), and its recall,
    on ``probes`` (query vectors) or, without, on rows plus noise."""
    queries = held_out_queries(vectors, RECALL_QUERIES, seed) if probes is None else np.asarray(probes, np.float32)
    truth = _exact_batch(vectors, queries, 10)
    recall = 0.0
    for nprobe in (min(p, ivf.nlist) for p in NPROBES):  # a small index has fewer lists than the floor
        recall = recall_at(IvfIndex(ivf, vectors, nprobe), vectors, queries, 10, truth)
        if recall >= TARGET_RECALL or nprobe >= ivf.nlist:
            return nprobe, recall
    return NPROBES[-1], recall


def _exact_batch(vectors: np.ndarray, queries: np.ndarray, k: int) -> list[np.ndarray]:
    """Exact top-``k`` of many queries, one pass over the (memory-mapped) vectors in slices."""
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_r = np.zeros((len(queries), 0), np.int64)
    for lo in range(0, vectors.shape[0], 131_072):
        s = np.asarray(vectors[lo:lo + 131_072], dtype=np.float32) @ queries.T
        best_s = np.concatenate([best_s, s.T], axis=1)
        best_r = np.concatenate([best_r, np.broadcast_to(np.arange(lo, lo + s.shape[0]), s.T.shape)], axis=1)
        keep = np.argsort(-best_s, axis=1, kind="stable")[:, :k]
        best_s, best_r = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_r, keep, 1)
    return list(best_r)


def save_dense(index, path: Path) -> None:
    """Write the inverted file (an exact index has nothing of its own: the vectors are the index)."""
    import faiss

    if isinstance(index, IvfIndex):
        faiss.write_index(index.ivf, str(path))


def load_dense(path: Path, info: DenseInfo, vectors: np.ndarray):
    """The dense index ``info`` describes, over ``vectors`` (memory-mapped or not)."""
    import faiss

    if info.type == "flat":
        return ExactIndex(vectors)
    if info.type != "ivf":
        raise ValueError(f"unknown dense index type {info.type!r}")
    return IvfIndex(faiss.read_index(str(path)), vectors, int(info.nprobe or NPROBES[0]))


def search_dense(index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` rows for one query vector: ``(scores, row_ids)``, best first, no padding."""
    if index.ntotal == 0 or k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
    return index.search(q, min(k, index.ntotal))
