"""FAISS results against brute-force numpy top-k (oracle tests)."""
from __future__ import annotations

import numpy as np
import pytest

from kb.dense import build_dense, load_dense, save_dense, search_dense


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(vectors: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(vectors @ q), kind="stable")[:k]


def test_flat_matches_brute_force(tmp_path):
    vectors = unit_rows(2000, 64, 0)
    index, info = build_dense(vectors)
    assert info.type == "flat" and info.count == 2000
    save_dense(index, tmp_path / "d.faiss")
    index = load_dense(tmp_path / "d.faiss", info)
    for q in unit_rows(20, 64, 1):
        scores, ids = search_dense(index, q, 10)
        np.testing.assert_array_equal(ids, brute_force(vectors, q, 10))
        np.testing.assert_allclose(scores, vectors[ids] @ q, rtol=1e-5)


def test_hnsw_above_threshold_has_high_recall(tmp_path):
    vectors = unit_rows(3000, 32, 2)
    index, info = build_dense(vectors, exact_max=1000)
    assert info.type == "hnsw" and info.ef_search
    save_dense(index, tmp_path / "h.faiss")
    index = load_dense(tmp_path / "h.faiss", info)
    recall = []
    for q in unit_rows(50, 32, 3):
        _, ids = search_dense(index, q, 10)
        recall.append(len(set(ids) & set(brute_force(vectors, q, 10))) / 10)
    assert np.mean(recall) >= 0.95


@pytest.mark.parametrize("n,k,expected", [(0, 5, 0), (3, 10, 3), (10, 0, 0)])
def test_search_edge_cases(n, k, expected):
    index, _ = build_dense(unit_rows(n, 8, 4) if n else np.zeros((0, 8), np.float32))
    scores, ids = search_dense(index, unit_rows(1, 8, 5)[0], k)
    assert len(ids) == len(scores) == expected
