"""Passage search behaviour on the demo corpus (fake embedder) and the `kb search` / `kb eval` contract."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kb.cli import main
from kb.embed import HashEmbedder
from kb.errors import IndexMismatchError, QueryError
from kb.passages import PassageSettings, SearchOptions
from kb.session import KnowledgeBase
from kb.store import load_index

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "eval"  # copies of ../shared/eval/dev_*.jsonl
HIT_KEYS = {"rank", "score", "chunk_id", "doc_id", "path", "title", "page", "page_end", "section", "lang",
            "text", "snippet", "highlights", "snippet_highlights"}


@pytest.fixture(scope="module")
def searcher(demo_hash_index):
    return KnowledgeBase(load_index(demo_hash_index), HashEmbedder())


def test_exact_name_is_found_first(searcher):
    hits = searcher.search("Coalition montréalaise des Tables de quartier").hits
    assert hits[0].chunk.path == "roles-acteurs-developpement-communautes-2015.pdf"


def test_accentless_query_finds_accented_text(searcher):
    hits = searcher.search("gouvernance partagee", SearchOptions(mode="lexical")).hits
    assert "gouvernance partagée" in hits[0].chunk.text
    text = hits[0].chunk.text
    assert "partagée" in [text[s:e] for s, e in hits[0].highlights]


def test_verbatim_phrase_comes_first(searcher):
    phrase = "briser les silos"
    hits = searcher.search(phrase).hits
    assert phrase in hits[0].chunk.text.lower()


def test_filters_narrow_results(searcher):
    all_hits = searcher.search("développement des communautés", SearchOptions(k=20)).hits
    assert len({h.chunk.path for h in all_hits}) > 1
    for opts, check in [
        (SearchOptions(k=20, doc="fiche-atelier-cadres-strategiques-municipaux"),
         lambda h: h.chunk.path == "fiche-atelier-cadres-strategiques-municipaux.pdf"),
        (SearchOptions(k=20, doc="communagir-cadre-de-reference.pdf"),
         lambda h: h.chunk.path == "communagir-cadre-de-reference.pdf"),
        (SearchOptions(k=20, year=2015), lambda h: h.chunk.path.startswith("roles-acteurs")),
        (SearchOptions(k=20, doc_type="portfolio"), lambda h: "portfolio" in h.chunk.path),
        (SearchOptions(k=20, lang="fr"), lambda h: h.chunk.lang == "fr"),
    ]:
        hits = searcher.search("développement des communautés", opts).hits
        assert hits and all(check(h) for h in hits), opts
    assert searcher.search("développement", SearchOptions(lang="de")).hits == ()


def test_results_are_diverse(searcher):
    hits = searcher.search("développement collectif", SearchOptions(k=10)).hits
    per_page: dict = {}
    for h in hits:
        key = (h.chunk.doc_id, h.chunk.page)
        per_page[key] = per_page.get(key, 0) + 1
    assert max(per_page.values()) <= PassageSettings().max_per_page
    rows = [searcher.index.chunks.index(h.chunk) for h in hits]
    for r in rows:  # never a passage and its overlapping window
        assert not (searcher.passages._continues(r) and r - 1 in rows)


def test_hits_carry_citation_snippet_and_highlights(searcher):
    result = searcher.search("participation citoyenne", SearchOptions(k=5))
    assert [h.rank for h in result.hits] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(result.hits, result.hits[1:]))
    for h in result.hits:
        d = h.to_dict()
        assert set(d) == HIT_KEYS
        assert d["snippet"] and d["snippet"].replace("… ", "").replace(" …", "") in d["text"]
        for s, e in d["highlights"]:
            assert d["text"][s:e].lower().startswith(("particip", "citoy"))
        for s, e in d["snippet_highlights"]:
            assert d["snippet"][s:e].lower().startswith(("particip", "citoy"))
    assert any(h.snippet_highlights for h in result.hits)


@pytest.mark.parametrize("query,message", [("", "vide"), ("   ", "vide"), ("?!", "vide"),
                                           ("le la les de", "mots vides")])
def test_bad_queries(searcher, query, message):
    with pytest.raises(QueryError, match=message):
        searcher.search(query)


def test_unknown_words_are_reported(searcher):
    result = searcher.search("gouvernance zzzzqqqq Partagee")
    assert result.unknown_words == ("zzzzqqqq",)
    assert result.hits  # the dense side still answers
    assert searcher.search("gouvernance partagée").unknown_words == ()


def test_query_language_signal(searcher):
    def foreign(text):
        return searcher.query(text, vector=False).foreign

    assert foreign("climate change adaptation pact for municipalities")
    assert foreign("shared governance")
    assert not foreign("gouvernance partagee")
    assert not foreign("participation citoyenne")  # langdetect says Italian here


def test_index_model_mismatch(demo_hash_index):
    with pytest.raises(IndexMismatchError):
        KnowledgeBase(load_index(demo_hash_index), HashEmbedder(64))


def test_cli_search_json_contract(capsys, demo_hash_index):
    code = main(["search", "coconstruction", "--index", str(demo_hash_index), "--json", "--k", "3"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["query"] == "coconstruction" and len(out["related_mandates"]) <= 3
    assert len(out["hits"]) == 3 and set(out["hits"][0]) == HIT_KEYS and out["unknown_words"] == []
    assert out["hits"][0]["path"] == "chantiers-partenariaux-coconstruction-2017.pdf"


def test_cli_search_human_and_errors(capsys, demo_hash_index):
    code = main(["search", "coconstruction", "--index", str(demo_hash_index), "--k", "2"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith(" 1. ") and "chantiers-partenariaux-coconstruction-2017.pdf" in out
    code = main(["search", "le la", "--index", str(demo_hash_index)])
    assert code == 1 and "mots vides" in capsys.readouterr().err
    code = main(["search", "zzzqqq", "--index", str(demo_hash_index), "--doc", "nope.pdf"])
    assert code == 0 and "Aucun résultat" in capsys.readouterr().out


def test_cli_eval(capsys, demo_hash_index, tmp_path):
    qrels = tmp_path / "q.jsonl"
    qrels.write_text(json.dumps({"id": "x1", "query": "briser les silos",
                                 "doc": "fiche-atelier-cadres-strategiques-municipaux",
                                 "any": ["briser les silos"]}) + "\n", encoding="utf-8")
    code = main(["eval", str(qrels), "--index", str(demo_hash_index), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["metrics"]["success@1"] == 1.0 and report["failures"] == []
    code = main(["eval", str(tmp_path / "missing.jsonl"), "--index", str(demo_hash_index)])
    assert code == 1 and "introuvable" in capsys.readouterr().err


# -- with the real multilingual model ---------------------------------------------------

@pytest.mark.model
@pytest.mark.parametrize("query,path", [
    ("gouvernance partagée", "communagir-portfolio-municipal-2024.pdf"),
    # A paraphrase: how to involve citizens, answered by the mandates that consulted them.
    ("comment faire participer les citoyens", ("consulter ses citoyen", "deux types de consultations")),
    ("climate change adaptation pact for municipalities", "communagir-portfolio-municipal-2024.pdf"),
    ("origine de la Coalition montréalaise des Tables de quartier", "roles-acteurs-developpement-communautes-2015.pdf"),
    ("conditions essentielles de la coconstruction", "chantiers-partenariaux-coconstruction-2017.pdf"),
])
def test_real_model_hybrid_answers(demo_e5_index, e5_embedder, query, path):
    searcher = KnowledgeBase(load_index(demo_e5_index), e5_embedder)
    hits = searcher.search(query, SearchOptions(k=5)).hits
    assert len(hits) == 5
    if isinstance(path, tuple):  # key phrases of the right passages: one of them in the top 5
        assert any(p in h.chunk.text for h in hits for p in path), [h.chunk.text[:80] for h in hits]
    else:
        assert hits[0].chunk.path == path


@pytest.mark.model
def test_real_model_eval_on_the_development_set(capsys, demo_e5_index):
    code = main(["eval", str(DEV / "dev_search.jsonl"), "--index", str(demo_e5_index), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["queries"] == 13
    assert set(report["metrics"]) == {"success@1", "success@5", "MRR@10", "nDCG@10"}
    # A regression guard, well below what the benchmark measures (README).
    assert report["metrics"]["success@5"] >= 0.8


def test_typo_gets_a_suggestion_from_the_corpus_vocabulary(searcher):
    alone = searcher.search("gouvernanse")
    assert alone.suggestion == "gouvernance" and alone.corrected  # nothing matched as typed: the fix is searched
    assert alone.unknown_words == ("gouvernanse",) and alone.language == "fr"
    assert "gouvernance" in alone.hits[0].chunk.text.lower()
    mixed = searcher.search("gouvernanse partagée")
    assert mixed.suggestion == "gouvernance partagée" and not mixed.corrected
    assert searcher.search("gouvernance partagée").suggestion == ""
    assert searcher.search("Tremblay").suggestion == ""  # a known name is no typo


def test_a_single_word_found_nowhere_is_said_so_not_taken_for_english(searcher):
    result = searcher.search("xyzzyplugh")
    assert result.language == "fr" and result.unknown_words == ("xyzzyplugh",) and result.suggestion == ""
    assert searcher.search("shared governance principles").language == "en"  # several foreign words: English


def test_english_query_is_not_a_typo_and_highlights_only_real_matches(searcher):
    result = searcher.search("how to evaluate a collective project")
    assert result.language == "en" and result.unknown_words == () and result.suggestion == ""
    for h in result.hits:
        marked = {h.chunk.text[s:e].lower() for s, e in h.highlights}
        assert marked <= {"evaluate", "collective", "project"}, marked  # never « collecte » for « collective »


def test_filters_read_each_chunks_document_and_language_from_the_index(demo_hash_index, tmp_path):
    """Stored with the index (no pass over the chunks on the first filtered query), equal to what
    the chunks say; an index without them (an earlier build) computes them; a damaged one is refused."""
    import shutil

    import numpy as np

    from kb.errors import IndexCorruptError
    from kb.store import ROW_DOCS, ROW_LANGS, current_version, load_index

    index = load_index(demo_hash_index)
    assert index.row_arrays is not None and isinstance(index.row_arrays[0], np.memmap)
    computed = replace(index, row_arrays=None).row_fields()
    assert all(np.array_equal(a, b) for a, b in zip(index.row_arrays, computed))
    docs = {d.doc_id: i for i, d in enumerate(index.documents)}
    assert [docs[c.doc_id] for c in index.chunks] == index.row_arrays[0].tolist()
    assert [index.chunk_languages[i] for i in index.row_arrays[1]] == [c.lang for c in index.chunks]

    copy = tmp_path / "index"
    shutil.copytree(demo_hash_index, copy)
    version = current_version(copy)
    np.save(version / ROW_LANGS, np.full(len(index.chunks), 7, np.int16))  # same size, wrong values
    with pytest.raises(IndexCorruptError):
        load_index(copy)
    (version / ROW_DOCS).unlink()
    (version / ROW_LANGS).unlink()
    manifest = json.loads((version / "manifest.json").read_text())
    for name in (ROW_DOCS, ROW_LANGS):
        del manifest["checksums"][name]
    (version / "manifest.json").write_text(json.dumps(manifest))
    older = KnowledgeBase(load_index(copy), HashEmbedder())
    assert older.index.row_arrays is None
    hits = older.search("développement des communautés", SearchOptions(k=20, lang="fr")).hits
    assert hits and all(h.chunk.lang == "fr" for h in hits)


def test_a_serving_process_runs_numpys_blas_on_the_query_threads(demo_hash_index):
    """numpy's OpenBLAS team spun after every product (a query's CPU doubled); FAISS's keeps its threads."""
    import os

    import numpy as np
    from threadpoolctl import threadpool_info

    from kb.embed import query_threads

    KnowledgeBase(load_index(demo_hash_index), HashEmbedder())
    numpy_dir = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    mine = [i for i in blas if os.path.abspath(i["filepath"]).startswith(os.path.join(numpy_dir, "numpy"))]
    assert mine and all(i["num_threads"] == query_threads() for i in mine)


def test_the_per_row_caches_stay_bounded_and_answers_do_not_change(demo_hash_index, monkeypatch):
    """A long-running server sees ever more rows: its caches are emptied when full, with the same results."""
    import kb.passages

    queries = ["gouvernance partagée", "développement des communautés", "briser les silos",
               "politique culturelle municipale", "participation citoyenne"]
    before = [KnowledgeBase(load_index(demo_hash_index), HashEmbedder()).search(q).hits for q in queries]
    monkeypatch.setattr(kb.passages, "_CACHE_ROWS", 8)
    small = KnowledgeBase(load_index(demo_hash_index), HashEmbedder())
    after = [small.search(q).hits for q in queries]
    caches = small.passages._folded, small.passages._terms, small.passages._continuing
    assert all(0 < len(c) <= 8 for c in caches)
    assert after == before


def test_the_same_text_in_two_documents_is_shown_once(tmp_path):
    """Two editions of one manual: a passage they share takes one slot, not two (seen on real archives)."""
    from kb.build import build_index
    from pdfs import Heading, Para, make_pdf

    shared = Para(["Pour installer un paquet, la commande apt télécharge le paquet et ses dépendances, puis",
                   "les configure ; la commande dpkg installe un fichier déjà téléchargé sur la machine. Les",
                   "sources des paquets sont listées dans un fichier de configuration que l’administrateur",
                   "modifie avant de mettre à jour la liste des paquets disponibles sur les miroirs."])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for edition in ("bookworm", "bullseye"):
        make_pdf(corpus / f"manuel-{edition}.pdf", [[Heading(f"Manuel {edition}"), shared,
                                                     Para([f"Notes propres à la version {edition} du système."])]],
                 title=f"Manuel {edition}")
    build_index(corpus, tmp_path / "index", HashEmbedder())
    hits = KnowledgeBase(load_index(tmp_path / "index"), HashEmbedder()).search("installer un paquet apt").hits
    texts = [h.chunk.text for h in hits if "dépendances" in h.chunk.text]
    assert len(texts) == 1, [h.chunk.path for h in hits]
