"""What lets one machine hold a million chunks: chunks read on demand, vectors memory-mapped once,
an inverted file above the exact-search threshold, and the manifest still guarding every file."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from kb.dense import ExactIndex, IvfIndex
from kb.embed import HashEmbedder
from kb.errors import IndexCorruptError
from kb.passages import PassageSearcher, SearchOptions
from kb.query import Query
from kb.records import Chunk, Document
from kb.retrieve import HybridRetriever
from kb.store import FORMAT_VERSION, ChunkRows, Collection, KbIndex, load_index, save_index

WORDS = ("gouvernance partagée budget municipal jeunes familles comité pilotage développement communautés "
         "partenaires citoyens culture vitalité territoire concertation évaluation projet").split()
QUERIES = ("gouvernance partagée", "budget municipal des jeunes", "concertation des citoyens", "évaluation de projet")


def clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim)).astype(np.float32)
    x = centres[rng.integers(0, 20, n)] / np.sqrt(dim) + 0.5 * rng.standard_normal((n, dim)).astype(np.float32) / dim
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make_index(n: int, exact_max: int, dim: int = 32) -> KbIndex:
    rng = random.Random(n)
    texts = [" ".join(rng.choices(WORDS, k=30)) for _ in range(n)]
    chunks = [Chunk(f"d{i // 20}-{i}", f"d{i // 20}", f"d{i // 20}.pdf", f"Doc {i // 20}", 1 + i % 20 // 4,
                    1 + i % 20 // 4, "", "fr", t) for i, t in enumerate(texts)]
    docs = tuple(Document(f"d{j}", f"d{j}.pdf", f"Doc {j}", 2024, "fr", 5, f"{j:064d}") for j in range((n + 19) // 20))
    passages = Collection.build(chunks, texts, [f"h{i}" for i in range(n)], clustered(n, dim), exact_max)
    mandates = Collection.build([], [], [], np.zeros((0, dim), np.float32), exact_max, dense=False)
    manifest = {"embedder": {"spec": "hash", "model_id": "hash", "dim": dim}}
    return KbIndex(manifest, docs, passages, mandates)


def query(text: str, dim: int = 32) -> Query:
    return Query.parse(text).with_vector(clustered(1, dim, seed=hash(text) % 1000)[0])


def test_a_loaded_index_maps_its_vectors_reads_chunks_on_demand_and_ranks_as_before(tmp_path):
    built = make_index(300, exact_max=1000)
    loaded = load_index(save_index(tmp_path / "index", built).path.parent)
    c = loaded.passages
    assert isinstance(c.vectors, np.memmap) and isinstance(c.records, ChunkRows)
    assert isinstance(c.dense, ExactIndex) and c.dense.vectors is c.vectors  # held once, not copied
    assert not (loaded.path / "dense.faiss").exists()
    assert list(c.records) == list(built.passages.records) and list(c.text_hashes) == list(built.passages.text_hashes)
    for text in QUERIES:
        q = query(text)
        for mode in ("hybrid", "lexical", "dense"):
            before = HybridRetriever(built.passages).retrieve(q, mode)
            after = HybridRetriever(c).retrieve(q, mode)
            assert after.ranked() == before.ranked()
            assert after.fused == pytest.approx(before.fused)
        hits = PassageSearcher(loaded).search(q, SearchOptions(k=5))
        assert [h.chunk for h in hits] == [h.chunk for h in PassageSearcher(built).search(q, SearchOptions(k=5))]


def test_above_the_threshold_an_inverted_file_is_built_measured_saved_and_reloaded(tmp_path):
    built = make_index(2000, exact_max=500)
    info = built.passages.dense_info
    assert info.type == "ivf" and isinstance(built.passages.dense, IvfIndex)
    assert info.nlist >= 16 and info.nprobe and info.recall_at_10 is not None and info.build_s is not None
    saved = save_index(tmp_path / "index", built)
    assert saved.manifest["dense"]["type"] == "ivf" and "dense.faiss" in saved.manifest["checksums"]
    loaded = load_index(tmp_path / "index", verify=True)
    assert isinstance(loaded.passages.dense, IvfIndex) and loaded.passages.dense.ivf.nprobe == info.nprobe
    for text in QUERIES:
        q = query(text)
        before = HybridRetriever(built.passages).retrieve(q)
        after = HybridRetriever(loaded.passages).retrieve(q)
        assert after.ranked() == before.ranked()


def test_manifest_checks_still_catch_a_damaged_vectors_file(tmp_path):
    saved = save_index(tmp_path / "index", make_index(100, exact_max=1000))
    target = saved.path / "vectors.npy"
    data = bytearray(target.read_bytes())
    data[-3] ^= 0xFF
    target.write_bytes(bytes(data))
    load_index(tmp_path / "index")  # the size agrees; a memory map never reads it all
    with pytest.raises(IndexCorruptError, match="somme de contrôle"):
        load_index(tmp_path / "index", verify=True)
    target.write_bytes(bytes(data[:-4]))
    with pytest.raises(IndexCorruptError, match="kb build"):
        load_index(tmp_path / "index")


def test_a_damaged_chunk_line_is_one_sentence_when_it_is_read(tmp_path):
    saved = save_index(tmp_path / "index", make_index(50, exact_max=1000))
    target = saved.path / "chunks.jsonl"
    lines = target.read_bytes().split(b"\n")
    lines[7] = b"\xff" * len(lines[7])  # same size: only the checksum, or reading that row, sees it
    target.write_bytes(b"\n".join(lines))
    index = load_index(tmp_path / "index")
    assert index.chunks[6].chunk_id == "d0-6"
    with pytest.raises(IndexCorruptError, match="kb build"):
        index.chunks[7]


def test_offsets_that_contradict_the_chunks_file_are_caught_at_load(tmp_path):
    saved = save_index(tmp_path / "index", make_index(50, exact_max=1000))
    offsets = np.load(saved.path / "chunks.offsets.npy")
    offsets[3], offsets[4] = offsets[4], offsets[3]
    np.save(saved.path / "chunks.offsets.npy", offsets)
    with pytest.raises(IndexCorruptError, match="kb build"):
        load_index(tmp_path / "index")


def test_an_index_of_the_previous_format_asks_for_a_rebuild(tmp_path):
    saved = save_index(tmp_path / "index", make_index(20, exact_max=1000))
    manifest = json.loads((saved.path / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION - 1
    (saved.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match=f"format {FORMAT_VERSION - 1}.*kb build"):
        load_index(tmp_path / "index")


def test_hash_embedder_index_still_answers_through_the_whole_product(tmp_path):
    from kb.session import KnowledgeBase

    e = HashEmbedder(dim=32)
    built = make_index(120, exact_max=1000)
    built = KbIndex({"embedder": {"spec": e.spec, "model_id": e.model_id, "dim": 32}}, built.documents,
                    built.passages, built.mandates)
    save_index(tmp_path / "index", built)
    kb = KnowledgeBase.open(tmp_path / "index")
    result = kb.search("gouvernance des jeunes", SearchOptions(k=3, doc="d1.pdf"))
    assert result.hits and all(h.chunk.doc_id == "d1" for h in result.hits)


def test_the_languages_of_the_chunks_come_from_the_manifest(tmp_path):
    saved = save_index(tmp_path / "index", make_index(30, exact_max=1000))
    assert saved.manifest["chunk_languages"] == ["fr"]
    assert load_index(tmp_path / "index").chunk_languages == ("fr",)


def test_a_build_upgrades_an_index_of_the_previous_format_reusing_its_vectors(demo_hash_index, tmp_path):
    import shutil

    from conftest import DEMO_CORPUS
    from kb.build import build_index
    from kb.errors import IndexFormatError
    from kb.store import current_version

    index = tmp_path / "index"
    shutil.copytree(demo_hash_index, index)
    path = current_version(index) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = FORMAT_VERSION - 1
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError):
        load_index(index)
    from kb.build import build_embedder_spec
    assert build_embedder_spec(index) == "hash"  # the old index's model is kept, not the default's
    report = build_index(DEMO_CORPUS, index, HashEmbedder())
    assert any("version précédente de kb" in n for n in report.notes), report.notes
    assert not any("endommagé" in n for n in report.notes)
    assert report.written and report.embedded == 0  # every vector was already computed
    assert load_index(index).manifest["format_version"] == FORMAT_VERSION


def test_an_upgrading_build_reuses_the_second_models_vectors_too(tmp_path):
    import shutil

    from conftest import DEMO_CORPUS
    from kb.build import build_index, build_second_spec
    from kb.store import current_version

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DEMO_CORPUS / "fiche-atelier-cadres-strategiques-municipaux.pdf", corpus)
    index = tmp_path / "index"
    build_index(corpus, index, HashEmbedder(), second=HashEmbedder(64))
    path = current_version(index) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = FORMAT_VERSION - 1
    path.write_text(json.dumps(manifest))
    assert build_second_spec(index) == manifest["second_embedder"]["spec"]  # kept across the upgrade
    report = build_index(corpus, index, HashEmbedder(), second=HashEmbedder(64))
    assert report.written and report.embedded == 0  # neither model embeds anything again
    assert load_index(index).passages.second_vectors is not None
