"""Shared fixtures: data folders in tmp_path, a deterministic fake embedder."""
from __future__ import annotations

import os

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from kb.embed import HashEmbedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEMO_CORPUS = ROOT / "corpus"
DEMO_FILES = sorted(p.name for p in DEMO_CORPUS.glob("*.pdf"))

# `kb build` run in-process (tests call kb.cli.main) would lower the test session's own priority for good.
os.environ.setdefault("KB_BUILD_NICE", "0")


@pytest.fixture(autouse=True)
def env_setup(monkeypatch, tmp_path):
    """Every test gets its own corpus and index folders and the fake embedder by default."""
    monkeypatch.setenv("KB_CORPUS", str(tmp_path / "corpus"))
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "index"))
    monkeypatch.setenv("KB_EMBEDDER", "hash")


class CountingEmbedder(HashEmbedder):
    """The hashing embedder, counting what it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def embed(self, texts, query: bool = False) -> np.ndarray:
        self.calls.extend(texts)
        return super().embed(texts, query)


@pytest.fixture
def fake_embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def demo_corpus(tmp_path) -> Path:
    """A copy of the bundled demo corpus that a test may modify."""
    dst = tmp_path / "corpus"
    shutil.copytree(DEMO_CORPUS, dst)
    return dst


@pytest.fixture(scope="session")
def demo_clean():
    """The five demo PDFs extracted and cleaned once: {file name: CleanDocument}."""
    from kb.clean import clean_document
    from kb.extract import extract_pdf

    return {name: clean_document(extract_pdf(DEMO_CORPUS / name), DEMO_CORPUS / name) for name in DEMO_FILES}


@pytest.fixture(scope="session")
def demo_hash_index(tmp_path_factory) -> Path:
    """The demo corpus indexed once with the fake embedder (read-only for tests)."""
    from kb.build import build_index

    index = tmp_path_factory.mktemp("demo-hash") / "index"
    build_index(DEMO_CORPUS, index, HashEmbedder())
    return index


@pytest.fixture(scope="session")
def e5_embedder():
    from kb.embed import E5Embedder

    return E5Embedder()


@pytest.fixture(scope="session")
def demo_e5_index(tmp_path_factory, e5_embedder) -> Path:
    """The demo corpus indexed once with the real multilingual model (about 25 s)."""
    from kb.build import build_index

    index = tmp_path_factory.mktemp("demo-e5") / "index"
    build_index(DEMO_CORPUS, index, e5_embedder)
    return index
