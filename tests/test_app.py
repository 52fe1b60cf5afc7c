"""The Streamlit app through streamlit.testing (AppTest): every page, with a real index."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from conftest import DEMO_CORPUS
from kb.auth import hash_password
from kb.build import build_index
from kb.embed import HashEmbedder
from pdfs import Heading, Para, encrypt_pdf, make_pdf, prose

APP = str(Path(__file__).resolve().parent.parent / "app.py")
FICHE = "fiche-atelier-cadres-strategiques-municipaux.pdf"
ADMIN_PASSWORD = "mot-de-passe-admin"
READ_PASSWORD = "lecture-equipe"


@pytest.fixture(autouse=True)
def server_address(monkeypatch):
    """Loopback by default, as scripts/app.sh; no secret from the environment. Yields a setter."""
    monkeypatch.delenv("KB_ADMIN_PASSWORD_HASH", raising=False)
    monkeypatch.delenv("KB_READ_PASSWORD_HASH", raising=False)
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")
    yield lambda address: st_config.set_option("server.address", address)
    st_config.set_option("server.address", before)


@pytest.fixture
def demo_env(monkeypatch, demo_hash_index):
    monkeypatch.setenv("KB_INDEX", str(demo_hash_index))
    monkeypatch.setenv("KB_CORPUS", str(DEMO_CORPUS))


def app(secrets: dict | None = None, **query_params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if secrets:
        at.secrets["kb"] = secrets
    at.query_params.update(query_params)
    return at.run()


def plain(markdown: str) -> str:
    """What a person reads of an escaped Markdown string."""
    return re.sub(r"\\(.)", r"\1", markdown)


def texts(at: AppTest) -> str:
    return plain("\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
                     + [w.value for w in at.warning] + [e.value for e in at.error] + [s.value for s in at.success]
                     + [s.value for s in at.subheader] + [b.label for b in at.button]))


def card_paths(at: AppTest) -> list[str]:
    return [plain(c.value).split(" · ")[0] for c in at.caption if " · pertinence " in c.value]


def card_titles(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if 'class="kb-card-title"' in m.value]


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def labels(at: AppTest) -> set[str]:
    return {b.label for b in at.button}


def search(at: AppTest, query: str) -> AppTest:
    at.text_input(key="f_q").input(query)
    return button(at, "Rechercher").click().run()


# -- Recherche -----------------------------------------------------------------------------

def test_search_returns_cited_results_with_related_mandates(demo_env):
    at = app()
    assert not at.exception
    assert "Par exemple" in texts(at)  # the empty state says what to try
    search(at, "Coalition montréalaise des Tables de quartier")
    assert not at.exception
    assert card_paths(at)[0] == "roles-acteurs-developpement-communautes-2015.pdf"
    first = card_titles(at)[0]
    assert "1. Les rôles, les contributions" in first and "p&#46; " in first
    assert any("<mark>" in m.value for m in at.markdown)
    assert "Mandats liés" in [s.value for s in at.subheader]
    assert at.query_params["q"] == "Coalition montréalaise des Tables de quartier"


def test_example_queries_are_buttons_that_run_the_query(demo_env):
    at = app()
    assert {"gouvernance partagée", "participation citoyenne"} <= labels(at)
    button(at, "gouvernance partagée").click().run()
    assert not at.exception
    assert at.text_input(key="f_q").value == "gouvernance partagée" and at.query_params["q"] == "gouvernance partagée"
    assert card_paths(at)


def test_scores_in_french_number_format_and_languages_named(demo_env):
    at = app(q="gouvernance partagée")
    scores = [c.value.split("pertinence ")[1] for c in at.caption if " · pertinence " in c.value]
    assert scores and all(re.fullmatch(r"\d+,\d\d", s) for s in scores)
    assert "français" in at.selectbox(key="f_lang").options and "fr" not in at.selectbox(key="f_lang").options


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
    assert "Introuvable dans les documents : « zzzzqqqq »" in texts(at) and card_paths(at)


def test_typo_gets_a_suggestion_that_runs_when_clicked(demo_env):
    at = app(q="gouvernanse partagée")
    suggestion = button(at, "Vouliez-vous dire : gouvernance partagée ?")
    suggestion.click().run()
    assert not at.exception
    assert at.text_input(key="f_q").value == "gouvernance partagée" and at.query_params["q"] == "gouvernance partagée"
    assert not any(b.label.startswith("Vouliez-vous dire") for b in at.button)
    at = app(q="gouvernanse")  # nothing matches the query as typed: the correction is searched
    assert "Résultats pour « **gouvernance** » (aucun résultat pour « gouvernanse »)" in texts(at)
    assert card_paths(at) and "Introuvable" not in texts(at)


def test_english_query_is_named_and_not_called_a_typo(demo_env):
    at = app(q="how to involve citizens in local decisions")
    body = texts(at)
    assert "Requête reconnue comme anglaise" in body and "Introuvable" not in body and card_paths(at)


def test_search_survives_a_visit_to_another_page(demo_env):
    at = app(q="briser les silos", doc=FICHE)
    at.switch_page("webui/maintenance.py").run()
    at.switch_page("webui/recherche.py").run()
    assert not at.exception
    assert at.text_input(key="f_q").value == "briser les silos" and set(card_paths(at)) == {FICHE}


def test_page_preview_with_alt_text_and_download(demo_env):
    at = app(q="politique culturelle")
    at.toggle[0].set_value(True).run()
    assert not at.exception
    images = at.get("image")
    assert len(images) == 1
    image = images[0].proto.imgs[0]
    assert image.alt.startswith("Page ") and "le passage cité encadré" in image.alt and image.caption
    assert at.get("download_button")


def test_a_new_search_closes_the_open_passage(demo_env):
    at = app(q="politique culturelle")
    at.toggle[0].set_value(True).run()
    assert at.toggle[0].value and at.get("image")
    search(at, "participation citoyenne")
    assert not at.exception and card_paths(at)
    assert not any(t.value for t in at.toggle) and not at.get("image")


# -- Mandats -------------------------------------------------------------------------------

def test_mandates_page_ranks_the_expected_mandate_first(demo_env):
    at = app()
    at.switch_page("webui/mandats.py").run()
    assert not at.exception
    at.text_area(key="situation").input("politique culturelle municipale")
    button(at, "Trouver des mandats semblables").click().run()
    assert not at.exception
    firsts = card_titles(at)
    assert firsts and "1. Renouvellement de la Politique culturelle" in firsts[0]
    assert "Pourquoi :" in texts(at)
    button(at, "Mandats semblables").click().run()
    assert any(s.value.startswith("Mandats semblables à « Renouvellement") for s in at.subheader)


def test_mandate_cards_say_ongoing_once(demo_env):
    at = app()
    at.switch_page("webui/mandats.py").run()
    at.text_area(key="situation").input("laboratoires gouvernance partagée vitalité culturelle")
    button(at, "Trouver des mandats semblables").click().run()
    cards = [m.value for m in at.markdown if "kb-card-title" in m.value and "en cours" in m.value]
    assert cards and all(c.count("en cours") == 1 for c in cards)


def test_mandates_table_columns_and_filters(demo_env):
    at = app()
    at.switch_page("webui/mandats.py").run()
    table = at.dataframe[0].value
    assert len(table) == 11 and list(table.columns) == ["Titre", "Mandataire", "Années", "Thèmes", "Source"]
    at.radio(key="t_state").set_value("En cours").run()
    assert len(at.dataframe[0].value) == 4
    at.radio(key="t_state").set_value("Tous").run()
    at.multiselect(key="t_themes").set_value(["immigration"]).run()
    table = at.dataframe[0].value
    assert len(table) == 1 and "Matanie" in table["Mandataire"].iloc[0]


# -- Document text is inert ----------------------------------------------------------------------

HOSTILE = "![x](http://127.0.0.1:9/x.png) <script>alert(1)</script>"


@pytest.fixture
def hostile_env(monkeypatch, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "piege.pdf", [[Heading(f"Gouvernance {HOSTILE}"),
                                    prose("gouvernance", 3), prose(f"gouvernance {HOSTILE}", 3)]],
             title=f"Titre {HOSTILE}")
    monkeypatch.setenv("KB_CORPUS", str(corpus))
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "index"))
    build_index(corpus, tmp_path / "index", HashEmbedder())


def test_document_markdown_and_html_are_shown_as_text(hostile_env):
    at = app(q="gouvernance")
    assert card_paths(at) == ["piege.pdf"]
    html = "\n".join(m.value for m in at.markdown)
    assert "Titre " in html and "&#33;&#91;x&#93;&#40;http&#58;//127&#46;0&#46;0&#46;1&#58;9/x&#46;png&#41;" in html
    assert "![x](" not in html and "<script>" not in html and "](http" not in html
    at.toggle[0].set_value(True).run()
    caption = at.get("image")[0].proto.imgs[0].caption
    assert "\\!\\[x\\](http\\://127.0.0.1\\:9/x.png)" in caption  # Markdown escaped in the image caption


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


def index_page(at: AppTest) -> AppTest:
    return at.switch_page("webui/maintenance.py").run()


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    for name, data in files:
        at.file_uploader[0].upload(name, data, "application/pdf")
    return button(at, "Ajouter et mettre à jour l’index").click().run()


def test_index_page_rebuild_agrees_with_itself(small_env, server_address):
    server_address("10.1.2.3")  # no automatic first build on the search page
    at = index_page(app())
    assert "Aucun index" in texts(at)
    server_address("127.0.0.1")
    button(index_page(at), "Reconstruire").click().run()
    assert not at.exception
    assert any("Index mis à jour" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert list(table["Fichier"]) == ["casse.pdf"] and table["Raison"].iloc[0].startswith("PDF endommagé")
    body = texts(at)
    assert "Fichiers ignorés (1)" in body and "Aucun fichier ignoré" not in body and "Aucun index" not in body
    assert [m.value for m in at.metric][:3] == ["1", "1", "0"]


def test_index_page_says_an_index_read_by_an_older_pipeline_will_be_read_again(small_env, tmp_path):
    from kb.document import PIPELINE_VERSION
    from kb.store import current_version

    build_index(small_env, tmp_path / "index", HashEmbedder())
    at = index_page(app())
    assert not any("version antérieure" in i.value for i in at.info)
    manifest = current_version(tmp_path / "index") / "manifest.json"
    data = json.loads(manifest.read_text())
    data["pipeline"]["version"] = PIPELINE_VERSION - 1
    manifest.write_text(json.dumps(data))
    at = index_page(app())
    assert any("version antérieure de la lecture des PDF" in i.value for i in at.info)


def test_upload_adds_a_pdf_and_search_sees_it_without_restart(small_env, tmp_path):
    build_index(small_env, tmp_path / "index", HashEmbedder())
    at = app(q="immigration")
    assert "ajout.pdf" not in card_paths(at)
    pdf = make_pdf(tmp_path / "ajout.pdf", [[Heading("Accueil des personnes immigrantes"),
                                              prose("immigration", 6)]], title="Ajout")
    upload(index_page(at), ("ajout.pdf", pdf.read_bytes()))
    assert not at.exception
    assert (small_env / "ajout.pdf").exists()
    assert "« ajout.pdf » : ajouté au corpus." in texts(at)
    assert [m.value for m in at.metric][:1] == ["2"]  # the status, read after the rebuild
    at.switch_page("webui/recherche.py").run()
    assert "ajout.pdf" in card_paths(at)


def test_broken_uploads_are_refused_with_their_reason(small_env, tmp_path):
    build_index(small_env, tmp_path / "index", HashEmbedder())
    note = (small_env / "note.pdf").read_bytes()
    clear = make_pdf(tmp_path / "clair.pdf", [[Heading("Un document"), prose("gouvernance", 4)]])
    locked = encrypt_pdf(clear, tmp_path / "verrou.pdf", user_password="secret").read_bytes()
    at = upload(index_page(app()), ("vide.pdf", b""), ("texte.pdf", b"bonjour"), ("coupe.pdf", note[: len(note) // 2]),
                ("verrou.pdf", locked), ("copie.pdf", note))
    assert not at.exception
    errors = [plain(e.value) for e in at.error]
    assert errors == ["« vide.pdf » refusé : fichier vide.",
                      "« texte.pdf » refusé : ce n’est pas un PDF (pas d’en-tête %PDF).",
                      "« coupe.pdf » refusé : PDF incomplet (pas de fin de fichier), sans doute un téléchargement "
                      "interrompu.",
                      "« verrou.pdf » refusé : protégé par un mot de passe : impossible de l’ouvrir.",
                      "« copie.pdf » refusé : doublon de note.pdf (mêmes octets)."]
    assert "ajouté" not in texts(at)
    assert sorted(p.name for p in small_env.iterdir()) == ["casse.pdf", "note.pdf"]


def test_retire_moves_the_pdf_aside_and_updates_the_index(small_env, tmp_path):
    build_index(small_env, tmp_path / "index", HashEmbedder())
    at = index_page(app())
    assert [m.value for m in at.metric][:1] == ["1"]
    at.selectbox(key="retire_choice").select("note.pdf").run()
    button(at, "Retirer ce document").click().run()
    assert not at.exception
    assert not (small_env / "note.pdf").exists() and (small_env / ".retires" / "note.pdf").exists()
    assert "« note.pdf » a été déplacé vers « .retires/note.pdf »" in texts(at)
    assert [m.value for m in at.metric][:1] == ["0"]


def test_first_visit_builds_the_index_automatically(small_env):
    at = app()
    assert not at.exception
    search(at, "gouvernance")
    assert card_paths(at) == ["note.pdf"]


def test_no_automatic_build_for_a_reader_of_a_shared_server(small_env, server_address):
    server_address("0.0.0.0")
    at = app()
    assert "un administrateur doit le construire" in texts(at)
    assert not at.text_input and not (small_env.parent / "index").exists()


def test_rebuild_does_not_break_another_session(small_env, tmp_path):
    """Session A searches; session B adds a file and rebuilds; A keeps working and sees the new index."""
    build_index(small_env, tmp_path / "index", HashEmbedder())
    a = app(q="gouvernance")
    assert card_paths(a) == ["note.pdf"]
    # A text of its own: the same text in two documents is shown once.
    make_pdf(small_env / "nouveau.pdf", [[Heading("Gouvernance partagée locale"), Para([
        "La gouvernance partagée locale réunit les élus, les organismes et les citoyens autour d’une même",
        "table pour décider des priorités du territoire, suivre leur mise en œuvre et rendre des comptes",
        "à la population chaque année, lors d’une assemblée publique ouverte à toutes et à tous."])]],
             title="Nouveau")
    b = index_page(app())
    button(b, "Reconstruire").click().run()
    assert any("Index mis à jour" in s.value for s in b.success)
    assert len(list((tmp_path / "index").glob("v-*"))) == 2  # the previous version stays for readers
    search(a, "gouvernance partagée")
    assert not a.exception
    assert set(card_paths(a)) == {"note.pdf", "nouveau.pdf"}


# -- Access: only administrators write ---------------------------------------------------------

WRITE_CONTROLS = {"Reconstruire", "Ajouter et mettre à jour l’index", "Retirer ce document"}


@pytest.fixture(scope="module")
def admin_hash() -> str:
    return hash_password(ADMIN_PASSWORD)


def login(at: AppTest, password: str) -> AppTest:
    at.text_input(key="kb_admin_login_password").input(password)
    return button(at, "Se connecter").click().run()


def test_login_refused_keeps_the_index_page_read_only(small_env, tmp_path, admin_hash):
    build_index(small_env, tmp_path / "index", HashEmbedder())
    at = index_page(app(secrets={"admin_password_hash": admin_hash}))
    assert not WRITE_CONTROLS & labels(at) and "Se connecter" in labels(at)
    login(at, "mauvais")
    assert not at.exception
    assert any("Mot de passe incorrect" in e.value for e in at.error)
    assert not WRITE_CONTROLS & labels(at)


def test_login_accepted_shows_the_write_controls_for_this_session(small_env, tmp_path, admin_hash):
    build_index(small_env, tmp_path / "index", HashEmbedder())
    at = login(index_page(app(secrets={"admin_password_hash": admin_hash})), ADMIN_PASSWORD)
    assert WRITE_CONTROLS <= labels(at) and "Se déconnecter" in labels(at)
    other = index_page(app(secrets={"admin_password_hash": admin_hash}))  # another session is not logged in
    assert not WRITE_CONTROLS & labels(other)
    button(at, "Se déconnecter").click().run()
    assert not WRITE_CONTROLS & labels(at) and "Se connecter" in labels(at)


def test_secret_from_the_environment(small_env, tmp_path, admin_hash, monkeypatch, server_address):
    build_index(small_env, tmp_path / "index", HashEmbedder())
    monkeypatch.setenv("KB_ADMIN_PASSWORD_HASH", admin_hash)
    server_address("0.0.0.0")
    at = login(index_page(app()), ADMIN_PASSWORD)
    assert WRITE_CONTROLS <= labels(at)


@pytest.mark.parametrize("address", ["0.0.0.0", "", "192.168.1.20", "kb.example.org"])
def test_write_controls_hidden_on_a_shared_address_without_a_secret(small_env, tmp_path, server_address, address):
    build_index(small_env, tmp_path / "index", HashEmbedder())
    server_address(address)
    at = index_page(app())
    assert not WRITE_CONTROLS & labels(at) and "Se connecter" not in labels(at)
    assert any("Consultation seulement" in i.value and "python -m kb.auth" in i.value for i in at.info)
    assert [m.value for m in at.metric][:1] == ["1"]  # reading stays open


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_without_a_secret_may_write(small_env, tmp_path, server_address, address):
    build_index(small_env, tmp_path / "index", HashEmbedder())
    server_address(address)
    assert WRITE_CONTROLS <= labels(index_page(app()))


def test_read_password_is_asked_before_any_page(demo_env):
    secrets = {"read_password_hash": hash_password(READ_PASSWORD)}
    at = app(secrets=secrets, q="gouvernance")
    assert not card_paths(at) and not at.text_input(key="kb_read_login_password").value
    at.text_input(key="kb_read_login_password").input("faux")
    button(at, "Entrer").click().run()
    assert any("Mot de passe incorrect" in e.value for e in at.error) and not card_paths(at)
    at.text_input(key="kb_read_login_password").input(READ_PASSWORD)
    button(at, "Entrer").click().run()
    assert not at.exception and card_paths(at)


def test_a_damaged_index_is_one_french_sentence_on_every_page(monkeypatch, demo_hash_index, tmp_path):
    import shutil

    index = tmp_path / "index"
    shutil.copytree(demo_hash_index, index)
    version = index / (index / "CURRENT").read_text().strip()
    (version / "vectors.npy").write_bytes(b"garbage")
    monkeypatch.setenv("KB_INDEX", str(index))
    monkeypatch.setenv("KB_CORPUS", str(DEMO_CORPUS))
    for query in ({"q": "gouvernance"}, {}):
        at = app(**query)
        assert not at.exception
        assert any("L’index est endommagé" in e.value for e in at.error)
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("webui/mandats.py").run()
    assert not at.exception and any("L’index est endommagé" in e.value for e in at.error)
    at = index_page(app())  # the page that repairs it is drawn whole: rebuild, status, marks section
    assert not at.exception and "Reconstruire" in labels(at) and "**Modèle :**" in texts(at)
    assert button(at, "Calculer de nouveaux poids").disabled and "Il faut d’abord un index lisible" in texts(at)


def test_a_chunk_damaged_in_place_is_the_french_sentence_not_a_traceback(monkeypatch, demo_hash_index, tmp_path):
    import shutil

    index = tmp_path / "index"
    shutil.copytree(demo_hash_index, index)
    chunks = index / (index / "CURRENT").read_text().strip() / "chunks.jsonl"
    data = chunks.read_bytes()
    chunks.write_bytes(data.replace(b'"text":', b'"text"x'))  # same size, every line unreadable
    assert len(chunks.read_bytes()) == len(data)
    monkeypatch.setenv("KB_INDEX", str(index))
    monkeypatch.setenv("KB_CORPUS", str(DEMO_CORPUS))
    at = app(q="gouvernance")
    assert not at.exception and any("L’index est endommagé" in e.value for e in at.error)


def test_marks_on_passages_and_mandates_are_kept_with_the_index(monkeypatch, demo_hash_index, tmp_path):
    import shutil

    from kb.feedback import as_judgments, read_marks

    index = tmp_path / "index"
    shutil.copytree(demo_hash_index, index)
    monkeypatch.setenv("KB_INDEX", str(index))
    monkeypatch.setenv("KB_CORPUS", str(DEMO_CORPUS))
    at = app(q="briser les silos")
    [b for b in at.button if b.label == "Utile"][0].click().run()
    marks = read_marks(index)
    assert len(marks) == 1 and marks[0]["query"] == "briser les silos" and marks[0]["useful"]
    assert as_judgments(marks)[0]["doc"] == "fiche-atelier-cadres-strategiques-municipaux"
    assert any("avis est enregistré" in t.value for t in at.toast)


def test_fusion_weights_applied_by_kb_tune_are_used_by_the_app(monkeypatch, demo_hash_index, tmp_path):
    import shutil

    from kb.store import write_tuning
    from webui.common import knowledge_base

    index = tmp_path / "index"
    shutil.copytree(demo_hash_index, index)
    monkeypatch.setenv("KB_INDEX", str(index))
    monkeypatch.setenv("KB_CORPUS", str(DEMO_CORPUS))
    assert knowledge_base().passages.retriever.fusion.alpha == 0.5
    write_tuning(index, {"alpha": 0.7, "foreign_alpha": 0.9})
    assert knowledge_base().passages.retriever.fusion.alpha == 0.7


def test_index_page_refits_the_fusion_on_the_marks_and_applies_it(monkeypatch, demo_hash_index, tmp_path):
    """Marks that favour exact wording (each query's first lexical passage) move the weights toward BM25."""
    import json
    import shutil

    from kb.feedback import record
    from kb.passages import SearchOptions
    from kb.session import KnowledgeBase
    from kb.store import read_tuning
    from webui.common import knowledge_base

    index = tmp_path / "index"
    shutil.copytree(demo_hash_index, index)
    monkeypatch.setenv("KB_INDEX", str(index))
    monkeypatch.setenv("KB_CORPUS", str(DEMO_CORPUS))
    at = index_page(app())
    assert button(at, "Calculer de nouveaux poids").disabled  # no marks yet
    kb = KnowledgeBase.open(index, "hash")
    tune = Path(__file__).resolve().parent.parent / "eval" / "tune_search.jsonl"
    for line in tune.read_text(encoding="utf-8").splitlines()[:12]:
        query = json.loads(line)["query"]
        record(index, query, True, chunk=kb.search(query, SearchOptions(mode="lexical")).hits[0].chunk)
    at = index_page(app())
    assert "12 requête(s) ont un passage jugé utile" in texts(at)
    button(at, "Calculer de nouveaux poids").click().run()
    table = at.table[-1].value
    assert list(table.index) == ["actuels", "ajustés"]
    assert "plis jamais vus" in table["MRR@10 sur les avis"].iloc[1]
    assert read_tuning(index) is None  # nothing changes before the administrator applies
    button(at, "Appliquer ces poids").click().run()
    assert any("Poids appliqués" in s.value for s in at.success)
    tuning = read_tuning(index)
    assert tuning["alpha"] < 0.5 and tuning["cv_mrr"] > tuning["previous_mrr"]
    assert knowledge_base().passages.retriever.fusion.alpha == tuning["alpha"]
    at = index_page(app())
    assert "Poids en service : ajustés" in texts(at)
    button(at, "Revenir aux poids par défaut").click().run()
    assert read_tuning(index) is None


def test_a_build_started_from_the_app_has_its_own_model_and_a_lower_priority(tmp_path, monkeypatch):
    """Searches never wait for the build's batch (they share no model) and get the cores first."""
    import os
    import threading

    from webui import common

    monkeypatch.setenv("KB_BUILD_NICE", "3")
    seen = {}

    def fake_build(corpus, index, model, options, progress):
        seen["model"] = model
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        raise RuntimeError("arrêt du test")

    monkeypatch.setattr(common, "build_index", fake_build)
    searching = common.embedder("hash")
    job = common.BuildJob(full=False)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    t = threading.Thread(target=common._run, args=(job, str(tmp_path), str(tmp_path / "index"), "hash"))
    t.start()
    t.join()
    assert isinstance(seen["model"], HashEmbedder) and seen["model"] is not searching
    assert seen["nice"] == min(19, base + 3)
    assert job.finished.is_set() and "arrêt du test" in job.error


def test_a_server_stop_during_an_app_build_keeps_the_vectors_computed(tmp_path, monkeypatch):
    """At exit the running build is told to stop: it saves its embedding cache, and the next build resumes."""
    import threading

    from kb.build import BuildOptions, build_index
    from webui import common

    corpus = tmp_path / "corpus"
    shutil.copytree(DEMO_CORPUS, corpus)
    index = tmp_path / "index"
    monkeypatch.setattr(common, "BuildOptions", lambda full: BuildOptions(full=full, batch_size=1, save_every=1))
    embedded = threading.Event()

    class Slow(HashEmbedder):
        def embed(self, texts, query=False):
            embedded.set()
            return super().embed(texts, query)

    monkeypatch.setattr(common, "load_embedder", lambda spec: Slow())
    job = common.BuildJob(full=False)
    common._RUNNING.add(job)
    t = threading.Thread(target=common._run, args=(job, str(corpus), str(index), "hash"))
    t.start()
    assert embedded.wait(60)
    common._stop_builds()  # what the interpreter runs at exit
    t.join()
    assert "arrêtée avec le serveur" in job.error and job not in common._RUNNING
    saved = list((index / "embeddings").rglob("*"))
    assert saved, "the vectors computed before the stop were not saved"
    again = build_index(corpus, index, HashEmbedder())
    assert again.written and again.embedded < again.chunks + again.mandates


def test_counts_agree_in_french():
    """« 1 texte vectorisé », « 0 passage », « 12 passages » (the plural from 2 in French)."""
    from webui import fr

    assert fr.count(1, "texte vectorisé", "textes vectorisés") == "1 texte vectorisé"
    assert fr.count(0, "passage") == "0 passage"
    assert fr.count(12, "passage") == "12 passages"


def test_a_filter_with_a_single_value_is_greyed(small_env, tmp_path):
    build_index(small_env, tmp_path / "index", HashEmbedder())
    at = app(q="gouvernance")
    assert not at.exception and card_paths(at)
    assert at.selectbox(key="f_type").disabled and at.selectbox(key="f_lang").disabled
    assert not at.selectbox(key="f_doc").disabled
