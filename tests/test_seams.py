"""Unit tests of the seams: plan, query, retriever, store, embedding cache, and what only AppTest reached."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from conftest import CountingEmbedder
from kb.build import BuildOptions, build_index, plan_build
from kb.embed import HashEmbedder
from kb.errors import BuildLockedError, CorpusMissingError, IndexCorruptError, QueryError
from kb.mandate_search import filter_mandates
from kb.preview import locate
from kb.query import Query
from kb.records import Chunk, Mandate
from kb.retrieve import HybridRetriever
from kb.snippet import highlight_html, mark_spans
from kb.store import Collection, EmbeddingCache, build_lock, load_index, read_status
from pdfs import prose, make_pdf, Heading

# -- plan_build: pure, no PDF -------------------------------------------------------------------


def test_plan_first_build_reads_everything_and_names_duplicates():
    plan = plan_build({"a.pdf": "s1", "copy of a.pdf": "s1", "b.pdf": "s2"}, None, reuse=False)
    assert [(t.path, t.action) for t in plan.tasks] == [("a.pdf", "read"), ("b.pdf", "read")]
    assert [(d.path, d.reason) for d in plan.duplicates] == [("copy of a.pdf", "duplicate of a.pdf")]
    assert plan.removed == ()


def test_plan_reuses_renamed_files_skips_known_bad_ones_and_lists_removed():
    previous = {"old name.pdf": {"sha256": "s1", "status": "indexed"},
                "bad.pdf": {"sha256": "s3", "status": "skipped", "reason": "encrypted: needs a password to open"},
                "gone.pdf": {"sha256": "s4", "status": "indexed"}}
    plan = plan_build({"new name.pdf": "s1", "bad.pdf": "s3", "b.pdf": "s2"}, previous, reuse=True)
    actions = {t.path: (t.action, t.reason) for t in plan.tasks}
    assert actions == {"new name.pdf": ("reuse", ""), "bad.pdf": ("skip", "encrypted: needs a password to open"),
                       "b.pdf": ("read", "")}
    assert plan.removed == ("gone.pdf", "old name.pdf")
    # Another pipeline: nothing is reused, everything is read again.
    assert {t.action for t in plan_build({"new name.pdf": "s1"}, previous, reuse=False).tasks} == {"read"}


def test_plan_keeps_the_name_indexed_before_among_duplicates():
    previous = {"zz-long-original-name.pdf": {"sha256": "s1", "status": "indexed"}}
    plan = plan_build({"a.pdf": "s1", "zz-long-original-name.pdf": "s1"}, previous, reuse=True)
    assert [t.path for t in plan.tasks] == ["zz-long-original-name.pdf"]
    assert plan.duplicates[0].path == "a.pdf"


# -- Query and the retriever ---------------------------------------------------------------------


def test_query_is_analysed_once_with_spans_phrase_and_language():
    q = Query.parse("  Comment évaluer la gouvernance partagée ?  ")
    assert q.text == "Comment évaluer la gouvernance partagée ?"
    assert q.terms == ("evalu", "gouvern", "partag")
    assert [q.text[s:e] for _, s, e in q.spans] == ["évaluer", "gouvernance", "partagée"]
    assert q.phrase == "comment evaluer la gouvernance partagee" and q.language == "fr"
    assert Query.parse("how to evaluate a project").language == "en"
    with pytest.raises(QueryError):
        Query.parse("le la de")
    assert Query.parse("le la de", strict=False).terms == ()


def _collection(texts: list[str], embedder: HashEmbedder) -> Collection:
    records = [Chunk(f"c{i}", "d", "d.pdf", "T", 1, 1, "", "fr", t) for i, t in enumerate(texts)]
    return Collection.build(records, texts, [str(i) for i in range(len(texts))], embedder.embed(texts), 10)


def test_one_retriever_ranks_rows_with_an_exact_answer():
    e = HashEmbedder()
    texts = ["la gouvernance partagée entre partenaires", "le budget de la ville", "les jeunes et la famille"]
    r = HybridRetriever(_collection(texts, e))
    q = Query.parse("gouvernance partagee").with_vector(e.embed(["gouvernance partagee"], query=True)[0])
    assert r.search(q, 2)[0][0] == 0
    c = r.retrieve(q, mode="lexical")
    assert list(c.fused) == [0] and c.dense == {}
    assert r.unknown_words(Query.parse("gouvernance zzqq")) == ("zzqq",)
    assert set(r.retrieve(q, exclude=0).fused) == {1, 2}


# -- the index folder ------------------------------------------------------------------------------


@pytest.fixture
def built(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "a.pdf", [[Heading("Rapport"), prose("gouvernance", 6), prose("gouvernance locale", 5)]])
    build_index(corpus, tmp_path / "index", HashEmbedder())
    return corpus, tmp_path / "index"


def test_manifest_records_counts_and_checksums_and_load_checks_them(built):
    _, index = built
    loaded = load_index(index, verify=True)
    sums = loaded.manifest["checksums"]
    assert {"chunks.jsonl", "chunks.offsets.npy", "vectors.npy", "mandates.jsonl", "documents.jsonl"} <= set(sums)
    assert any(k.startswith("lexical/") for k in sums)
    assert loaded.manifest["chunks"] == len(loaded.chunks)
    # Same size, other bytes: only the checksum sees it.
    target = loaded.path / "vectors.npy"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    load_index(index)  # sizes agree
    with pytest.raises(IndexCorruptError, match="somme de contrôle"):
        load_index(index, verify=True)
    (loaded.path / "vectors.npy").unlink()
    with pytest.raises(IndexCorruptError, match="absent"):
        load_index(index)


def test_status_is_typed(built):
    status = read_status(built[1])
    assert status.documents == 1 and status.chunks >= 1 and status.model == "hash-256"
    assert set(status.to_dict()) == {"index", "version", "documents", "chunks", "mandates", "model", "embedder",
                                     "index_type", "built_at", "corpus", "skipped", "ocr", "pipeline"}


def test_pruning_keeps_the_live_version_and_the_one_before(built):
    corpus, index = built
    live = (index / "CURRENT").read_text().strip()
    orphan = index / "v-00000000T000000Z-orphan"  # a build killed between writing and swapping
    orphan.mkdir()
    os.utime(orphan, (4e9, 4e9))  # newer than everything
    make_pdf(corpus / "b.pdf", [[Heading("Autre"), prose("participation", 6)]])
    build_index(corpus, index, HashEmbedder())
    new = (index / "CURRENT").read_text().strip()
    assert sorted(p.name for p in index.glob("v-*")) == sorted([live, new])


def test_typed_errors_for_missing_corpus_and_locked_build(tmp_path):
    with pytest.raises(CorpusMissingError):
        build_index(tmp_path / "nope", tmp_path / "index", HashEmbedder())
    (tmp_path / "corpus").mkdir()
    with build_lock(tmp_path / "index"):
        with pytest.raises(BuildLockedError):
            build_index(tmp_path / "corpus", tmp_path / "index", HashEmbedder())


def test_an_interrupted_build_resumes_without_embedding_again(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("a", "b", "c"):
        make_pdf(corpus / f"{name}.pdf", [[Heading(f"Rapport {name}"), prose(f"thème {name}", 6)]])

    class Interrupted(CountingEmbedder):
        def embed(self, texts, query=False):
            if len(self.calls) >= 2:
                raise KeyboardInterrupt
            return super().embed(texts, query)

    first = Interrupted()
    with pytest.raises(KeyboardInterrupt):
        build_index(corpus, tmp_path / "index", first, BuildOptions(batch_size=1))
    assert len(first.calls) == 2 and not (tmp_path / "index" / "CURRENT").exists()
    again = CountingEmbedder()
    report = build_index(corpus, tmp_path / "index", again, BuildOptions(batch_size=1))
    assert report.written and report.embedded == len(again.calls) == report.chunks + report.mandates - 2
    assert not set(again.calls) & set(first.calls)
    assert not (tmp_path / "index" / "embeddings").exists()  # the cache is dropped once the index is live


def test_embedding_cache_survives_a_damaged_batch(tmp_path):
    cache = EmbeddingCache(tmp_path, "m")
    cache.put(["h1", "h2"], np.eye(2, dtype=np.float32))
    (next(cache.folder.glob("*.npy"))).write_bytes(b"garbage")
    assert EmbeddingCache(tmp_path, "m").get("h1") is None  # embedded again, nothing worse


# -- what only the app's tests reached (uploads: tests/test_corpus.py) -------------------------------


def _mandate(mid: str, client: str, themes: tuple, start: int, end: int, ongoing: bool) -> Mandate:
    return Mandate(mid, mid, client, "", start, end, ongoing, "", (), (), themes, "p.pdf", 1, 1, "d")


def test_mandate_table_filters():
    ms = [_mandate("a", "Ville de Québec", ("culture", "gouvernance"), 2018, 2020, False),
          _mandate("b", "MRC de Maria", ("culture",), 2023, 2025, True),
          _mandate("c", "Ville de Lévis", ("gouvernance",), 2021, 2021, False)]
    ids = lambda found: [m.id for m in found]  # noqa: E731
    assert ids(filter_mandates(ms, themes=["culture"])) == ["a", "b"]
    assert ids(filter_mandates(ms, themes=["culture", "gouvernance"])) == ["a"]
    assert ids(filter_mandates(ms, client="quebec")) == ["a"]  # accent-blind
    assert ids(filter_mandates(ms, years=(2021, 2022))) == ["c"]
    assert ids(filter_mandates(ms, ongoing=True)) == ["b"]


def test_page_location_of_a_clean_passage_in_a_raw_text_layer():
    page = ("En-tête courant\r\nLe développement des communautés se fait avec les parte\ufffe\r\nnaires "
            "du territoire, dans la durée et la confiance mutuelle.\r\nSuite sans rapport.")
    passage = ("Le développement des communautés se fait avec les partenaires du territoire, "
               "dans la durée et la confiance mutuelle.")
    start, end = locate(page, passage)
    assert page[start:].startswith("Le développement") and page[:end].endswith("mutuelle")
    assert locate(page, "rien de tel ici") is None


def test_span_marking_escapes_and_skips_overlaps():
    assert mark_spans("a <b> c", [(0, 1), (0, 3), (6, 7)], "[", "]") == "[a] <b> [c]"
    assert highlight_html("x<y\nz", [(0, 1)]) == "<mark>x</mark>&lt;y<br>z"


def test_search_json_is_complete(capsys, demo_hash_index):
    from kb.cli import main

    assert main(["search", "gouvernance zzqqx", "--json", "--index", str(demo_hash_index)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["unknown_words"] == ["zzqqx"]
    assert {"summary", "deliverables", "links", "page_end", "doc_id"} <= set(out["related_mandates"][0])


# -- a second model that re-scores the best candidates ---------------------------------------------


def test_second_model_reranker_rescores_the_head_and_keeps_the_tail():
    from kb.retrieve import RerankSettings, SecondModelReranker

    e = HashEmbedder()
    texts = ["la gouvernance partagée", "le budget municipal", "les jeunes et la famille", "un comité de pilotage"]
    c = _collection(texts, e)
    second = np.eye(4, dtype=np.float32)  # the second model: row i points along axis i
    c = Collection(c.records, c.text_hashes, c.vectors, c.dense, c.lexical, c.dense_info, second)
    r = SecondModelReranker(c, RerankSettings(depth=3, weight=0.9))
    ranking = [(0, 0.9), (1, 0.8), (2, 0.7), (3, 0.1)]
    q = Query.parse("jeunes famille")
    assert r.rerank(q, ranking) == ranking  # no second vector: unchanged
    out = r.rerank(q.with_second_vector(np.array([0, 0, 1, 0], np.float32)), ranking)
    assert [row for row, _ in out] == [2, 0, 1, 3]  # row 2 first among the head; the tail stays last
    assert out[0][1] > out[1][1] > out[2][1] > out[3][1]


def test_build_with_a_second_model_stores_it_and_queries_use_it(tmp_path):
    from kb.session import KnowledgeBase

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "a.pdf", [[Heading("Rapport"), prose("gouvernance", 6), prose("gouvernance locale", 5)]])
    index = tmp_path / "index"
    first = CountingEmbedder()
    build_index(corpus, index, first, second=HashEmbedder(64))
    loaded = load_index(index, verify=True)
    assert loaded.manifest["second_embedder"]["model_id"] == "hash-64"
    assert loaded.passages.second_vectors.shape == (len(loaded.chunks), 64)
    kb = KnowledgeBase(loaded, HashEmbedder())
    assert kb.passages.reranker is not None and kb.query("gouvernance").second_vector.shape == (64,)
    assert kb.search("gouvernance").hits
    # Same models: nothing to do. Dropping the second model re-embeds nothing of the first.
    again = CountingEmbedder()
    assert not build_index(corpus, index, again, second=HashEmbedder(64)).written
    report = build_index(corpus, index, again)
    assert report.written and again.calls == [] and "second_embedder" not in load_index(index).manifest


# -- practitioners' marks and honest tuning --------------------------------------------------------


def test_feedback_marks_become_judgments_and_survive_rebuilds(demo_hash_index, tmp_path):
    import shutil as sh

    from kb.feedback import as_judgments, read_marks, record
    from kb.session import KnowledgeBase

    index = tmp_path / "index"
    sh.copytree(demo_hash_index, index)
    kb = KnowledgeBase(load_index(index), HashEmbedder())
    hits = kb.search("briser les silos").hits
    record(index, "briser les silos", True, chunk=hits[0].chunk)
    record(index, "briser les silos", False, chunk=hits[1].chunk)
    record(index, "gouvernance", True, chunk=hits[1].chunk)
    record(index, "gouvernance", False, chunk=hits[1].chunk)  # changed their mind: the last mark wins
    m = kb.mandates.mandates[0]
    record(index, "politique culturelle", True, mandate=m)
    (index / "feedback.jsonl").open("a").write("not json\n")
    marks = read_marks(index)
    assert len(marks) == 5 and "ts" in marks[0] and set(marks[0]) >= {"query", "useful", "chunk_id", "doc", "key"}
    rows = as_judgments(marks)
    assert [(r["query"], r["doc"]) for r in rows] == [("briser les silos", hits[0].chunk.path[:-4])]
    assert rows[0]["any"] == [" ".join(hits[0].chunk.text.split())[:80]]
    assert as_judgments(marks, "mandate") == [{"id": "fm001", "query": "politique culturelle",
                                               "expect": [m.title.lower()]}]
    from kb.evaluate import evaluate_search
    assert evaluate_search(kb, rows).metrics["success@1"] == 1.0


def test_tune_reports_cross_validated_figures_and_apply_is_read_back(capsys, demo_hash_index, tmp_path):
    import shutil as sh
    from pathlib import Path

    from kb.cli import main
    from kb.session import KnowledgeBase
    from kb.tune import tune_fusion

    index = tmp_path / "index"
    sh.copytree(demo_hash_index, index)
    rows = [json.loads(x) for x in (Path(__file__).parent.parent / "eval" / "tune_search.jsonl").open()]
    kb = KnowledgeBase(load_index(index), HashEmbedder())
    report = tune_fusion(kb, rows, folds=3, alphas=(0.3, 0.5, 0.7), foreign=(0.8,))
    assert report.queries == len(rows) and report.folds == 3
    assert 0 <= report.cross_validated_mrr <= report.chosen_mrr + 1e-9 <= 1 + 1e-9  # in-sample can only flatter
    assert kb.passages.retriever.fusion.alpha == 0.5  # the session is left as it was
    qrels = Path(__file__).parent.parent / "eval" / "tune_search.jsonl"
    assert main(["tune", str(qrels), "--index", str(index), "--folds", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"current_mrr", "cross_validated_mrr", "chosen", "better"} <= set(out)
    from kb.store import write_tuning
    write_tuning(index, {"alpha": 0.7, "foreign_alpha": 0.9})
    assert KnowledgeBase.open(index, "hash").passages.retriever.fusion.alpha == 0.7
    assert main(["tune", "--reset", "--index", str(index)]) == 0
    assert KnowledgeBase.open(index, "hash").passages.retriever.fusion.alpha == 0.5


def test_tuning_on_marks_needs_three_queries_and_leaves_the_session_alone(demo_hash_index, tmp_path):
    import shutil as sh

    from kb.errors import KbError
    from kb.feedback import record
    from kb.session import KnowledgeBase
    from kb.tune import apply_tuning, tune_on_feedback

    index = tmp_path / "index"
    sh.copytree(demo_hash_index, index)
    kb = KnowledgeBase(load_index(index), HashEmbedder())
    for query in ("briser les silos", "gouvernance partagée"):
        record(index, query, True, chunk=kb.search(query).hits[0].chunk)
    with pytest.raises(KbError, match=r"au moins 3 requêtes différentes .*il y en a 2"):
        tune_on_feedback(kb, index)
    record(index, "leadership collectif", True, chunk=kb.search("leadership collectif").hits[0].chunk)
    report = tune_on_feedback(kb, index, folds=3)
    assert report.queries == 3 and report.current_mrr == 1.0  # every marked passage is today's first
    assert not report.better and not apply_tuning(index, report)  # nothing to gain: nothing written
    assert not (index / "fusion.json").exists() and kb.passages.retriever.fusion.alpha == 0.5
