"""The Streamlit app through streamlit.testing (AppTest): every page, with a real index."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import DEMO_CORPUS
from kb.build import build_index
from kb.embed import HashEmbedder
from pdfs import Heading, make_pdf, prose

APP = str(Path(__file__).resolve().parent.parent / "app.py")
FICHE = "fiche-atelier-cadres-strategiques-municipaux.pdf"


@pytest.fixture
def demo_env(monkeypatch, demo_hash_index):
    monkeypatch.setenv("KB_INDEX", str(demo_hash_index))
    monkeypatch.setenv("KB_CORPUS", str(DEMO_CORPUS))


def app(**query_params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query_params)
    return at.run()


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                     + [i.value for i in at.info] + [w.value for w in at.warning] + [s.value for s in at.subheader])


def card_paths(at: AppTest) -> list[str]:
    return [c.value.split(" · ")[0] for c in at.caption if " · pertinence " in c.value]


# -- Recherche -----------------------------------------------------------------------------

def test_search_returns_cited_results_with_related_mandates(demo_env):
    at = app()
    assert not at.exception
    assert "par exemple" in texts(at)  # the empty state says what to try
    at.text_input(key="f_q").input("Coalition montréalaise des Tables de quartier").run()
    assert not at.exception
    assert card_paths(at)[0] == "roles-acteurs-developpement-communautes-2015.pdf"
    first = next(m.value for m in at.markdown if m.value.startswith("**1. "))
    assert "Les rôles, les contributions" in first and "p. " in first
    assert any("<mark>" in m.value for m in at.markdown)
    assert "Mandats liés" in [s.value for s in at.subheader]
    assert at.query_params["q"] == "Coalition montréalaise des Tables de quartier"


def test_related_mandates_for_a_practice_query(demo_env):
    at = app(q="gouvernance partagée")
    assert not at.exception
    body = texts(at)
    assert "Laboratoires autour de la gouvernance partagée" in body
    assert "Service de la culture de la Ville de Montréal" in body


def test_filters_narrow_results(demo_env):
    at = app(q="développement collectif")
    assert len(set(card_paths(at))) > 1
    at.selectbox(key="f_doc").select(FICHE).run()
    assert not at.exception and card_paths(at) and set(card_paths(at)) == {FICHE}
    assert at.query_params["doc"] == FICHE
    at.selectbox(key="f_doc").select("").run()
    at.selectbox(key="f_year").select("2015").run()
    assert set(card_paths(at)) == {"roles-acteurs-developpement-communautes-2015.pdf"}
    at.selectbox(key="f_year").select("").run()
    at.selectbox(key="f_type").select("portfolio").run()
    assert set(card_paths(at)) == {"communagir-portfolio-municipal-2024.pdf"}


def test_url_parameters_restore_a_search(demo_env):
    at = app(q="briser les silos", doc=FICHE)
    assert not at.exception
    assert at.text_input(key="f_q").value == "briser les silos"
    assert at.selectbox(key="f_doc").value == FICHE
    assert card_paths(at) and set(card_paths(at)) == {FICHE}


def test_stale_or_bad_url_parameters_are_dropped(demo_env):
    at = app(q="coconstruction", doc="gone.pdf", year="1900")
    assert not at.exception and at.selectbox(key="f_doc").value == "" and card_paths(at)


def test_no_result_unknown_word_and_stop_word_states(demo_env):
    at = app(q="le la les")
    assert "mots vides" in texts(at)
    at = app(q="gouvernance", doc=FICHE, year="2015")  # no document is both
    assert "Aucun passage" in texts(at) and "retirez des filtres" in texts(at)
    at = app(q="gouvernance zzzzqqqq")
    assert "Absent des documents : « zzzzqqqq »" in texts(at) and card_paths(at)


def test_search_survives_a_visit_to_another_page(demo_env):
    at = app(q="briser les silos", doc=FICHE)
    at.switch_page("webui/maintenance.py").run()
    at.switch_page("webui/recherche.py").run()
    assert not at.exception
    assert at.text_input(key="f_q").value == "briser les silos" and set(card_paths(at)) == {FICHE}


def test_page_preview_and_download(demo_env):
    at = app(q="politique culturelle")
    toggle = at.toggle[0]
    toggle.set_value(True).run()
    assert not at.exception
    assert len(at.get("imgs")) >= 1 or at.get("image")  # the rendered page
    assert at.get("download_button")


# -- Mandats -------------------------------------------------------------------------------

def test_mandates_page_ranks_the_expected_mandate_first(demo_env):
    at = app()
    at.switch_page("webui/mandats.py").run()
    assert not at.exception
    at.text_area(key="situation").input("politique culturelle municipale")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    firsts = [m.value for m in at.markdown if m.value.startswith("**1. ")]
    assert firsts and "Renouvellement de la Politique culturelle" in firsts[0]
    assert "Pourquoi" in texts(at)
    like = next(b for b in at.button if b.label == "Mandats semblables")
    like.click().run()
    assert any(s.value.startswith("Mandats semblables à « Renouvellement") for s in at.subheader)


def test_mandates_table_filters(demo_env):
    at = app()
    at.switch_page("webui/mandats.py").run()
    assert len(at.dataframe[0].value) == 11
    at.radio(key="t_state").set_value("En cours").run()
    assert len(at.dataframe[0].value) == 4
    at.radio(key="t_state").set_value("Tous").run()
    at.multiselect(key="t_themes").set_value(["immigration"]).run()
    table = at.dataframe[0].value
    assert len(table) == 1 and "Matanie" in table["Mandataire"].iloc[0]


# -- Index (maintenance) -----------------------------------------------------------------------

@pytest.fixture
def small_env(monkeypatch, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "note.pdf", [[Heading("Note sur la gouvernance"), prose("gouvernance", 6)]], title="Note")
    (corpus / "casse.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    monkeypatch.setenv("KB_CORPUS", str(corpus))
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "index"))
    return corpus


def test_index_page_rebuild_reports_skipped_file(small_env):
    at = app()
    at.switch_page("webui/maintenance.py").run()
    assert "Aucun index" in texts(at)
    next(b for b in at.button if b.label == "Reconstruire").click().run()
    assert not at.exception
    assert any("Index mis à jour" in s.value for s in at.success)
    table = at.table[-1].value
    assert "casse.pdf" in list(table["Fichier"]) and "corrupt" in table["Raison"].iloc[0]
    at.switch_page("webui/maintenance.py").run()
    assert [m.value for m in at.metric][:3] == ["1", "1", "0"]


def test_upload_adds_a_pdf_and_search_sees_it_without_restart(small_env, tmp_path):
    build_index(small_env, tmp_path / "index", HashEmbedder())
    at = app(q="immigration")
    before = card_paths(at)
    assert "ajout.pdf" not in before
    pdf = make_pdf(tmp_path / "ajout.pdf", [[Heading("Accueil des personnes immigrantes"),
                                              prose("immigration", 6)]], title="Ajout")
    at.switch_page("webui/maintenance.py").run()
    at.file_uploader[0].upload("ajout.pdf", pdf.read_bytes(), "application/pdf").run()
    next(b for b in at.button if b.label == "Ajouter et mettre à jour l'index").click().run()
    assert not at.exception
    assert (small_env / "ajout.pdf").exists()
    assert "`ajout.pdf` : ajouté" in texts(at)
    at.switch_page("webui/recherche.py").run()
    assert "ajout.pdf" in card_paths(at)


def test_search_page_offers_to_build_when_there_is_no_index(small_env):
    at = app()
    assert "Aucun index" in texts(at)
    next(b for b in at.button if b.label == "Construire l'index maintenant").click().run()
    assert not at.exception
    at.text_input(key="f_q").input("gouvernance").run()
    assert card_paths(at) == ["note.pdf"]


def test_rebuild_does_not_break_another_session(small_env, tmp_path):
    """Session A searches; session B adds a file and rebuilds; A keeps working and sees the new index."""
    build_index(small_env, tmp_path / "index", HashEmbedder())
    a = app(q="gouvernance")
    assert card_paths(a) == ["note.pdf"]
    make_pdf(small_env / "nouveau.pdf", [[Heading("Gouvernance partagée locale"), prose("gouvernance", 6)]],
             title="Nouveau")
    b = app()
    b.switch_page("webui/maintenance.py").run()
    next(x for x in b.button if x.label == "Reconstruire").click().run()
    assert any("Index mis à jour" in s.value for s in b.success)
    assert len(list((tmp_path / "index").glob("v-*"))) == 2  # the previous version stays for readers
    a.text_input(key="f_q").input("gouvernance partagée").run()
    assert not a.exception
    assert set(card_paths(a)) == {"note.pdf", "nouveau.pdf"}
