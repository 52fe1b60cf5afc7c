"""Dense search against brute-force numpy top-k (oracle tests): exact, and the inverted file above a threshold."""
from __future__ import annotations

import numpy as np
import pytest

from kb.dense import (TARGET_RECALL, build_dense, exact_top, held_out_queries, load_dense, recall_at, save_dense,
                      search_dense)


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
    assert not (tmp_path / "d.faiss").exists()  # exact search needs nothing but the vectors
    np.save(tmp_path / "v.npy", vectors)
    index = load_dense(tmp_path / "d.faiss", info, np.load(tmp_path / "v.npy", mmap_mode="r"))
    for q in unit_rows(20, 64, 1):
        scores, ids = search_dense(index, q, 10)
        np.testing.assert_array_equal(ids, brute_force(vectors, q, 10))
        np.testing.assert_allclose(scores, vectors[ids] @ q, rtol=1e-5)


def clustered_rows(n: int, dim: int, seed: int) -> np.ndarray:
    """Rows around 40 centres (real embeddings have such structure; uniform noise has none)."""
    rng = np.random.default_rng(seed)
    centres = unit_rows(40, dim, seed + 100)
    x = centres[rng.integers(0, 40, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_ivf_above_threshold_is_measured_and_reloads(tmp_path):
    vectors = clustered_rows(4000, 32, 2)
    index, info = build_dense(vectors, exact_max=1000)
    assert info.type == "ivf" and info.nlist and info.nprobe and info.build_s is not None
    assert info.recall_at_10 >= TARGET_RECALL or info.nprobe >= info.nlist
    save_dense(index, tmp_path / "i.faiss")
    index = load_dense(tmp_path / "i.faiss", info, vectors)
    queries = held_out_queries(vectors, 50, 7)
    assert recall_at(index, vectors, queries) >= 0.9
    for q in queries[:5]:  # the candidates are re-scored exactly
        scores, ids = search_dense(index, q, 10)
        np.testing.assert_allclose(scores, vectors[ids] @ q, rtol=1e-5)
        assert list(scores) == sorted(scores, reverse=True)


def test_exact_top_breaks_ties_by_row():
    vectors = np.array([[1, 0], [0, 1], [1, 0], [1, 0]], np.float32)
    scores, rows = exact_top(vectors, np.array([1, 0], np.float32), 2)
    assert rows.tolist() == [0, 2] and scores.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("n,k,expected", [(0, 5, 0), (3, 10, 3), (10, 0, 0)])
def test_search_edge_cases(n, k, expected):
    index, _ = build_dense(unit_rows(n, 8, 4) if n else np.zeros((0, 8), np.float32))
    scores, ids = search_dense(index, unit_rows(1, 8, 5)[0], k)
    assert len(ids) == len(scores) == expected


def test_nprobe_is_chosen_on_query_like_probes_when_the_build_gives_them():
    """Queries far from every stored row need more lists than rows plus noise: the probes decide."""
    vectors = clustered_rows(4000, 32, 2)
    _, by_noise = build_dense(vectors, exact_max=1000)
    probes = unit_rows(100, 32, 9)  # unlike any row, as a typed query is
    index, by_probes = build_dense(vectors, exact_max=1000, probes=probes)
    assert by_noise.probes == "rows+noise" and by_probes.probes == "model"
    assert by_probes.nprobe >= by_noise.nprobe
    assert by_probes.recall_at_10 == round(recall_at(index, vectors, probes), 4)


def test_a_build_above_the_exact_limit_calibrates_on_the_models_own_queries(tmp_path):
    from conftest import DEMO_CORPUS
    from kb.build import BuildOptions, build_index
    from kb.embed import HashEmbedder
    from kb.store import load_index

    build_index(DEMO_CORPUS, tmp_path / "index", HashEmbedder(), BuildOptions(exact_max=50))
    info = load_index(tmp_path / "index").passages.dense_info
    assert info.type == "ivf" and info.probes == "model" and info.recall_at_10 is not None
