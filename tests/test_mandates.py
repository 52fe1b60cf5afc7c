"""Mandates: extraction on the demo portfolio and on a portfolio with another layout; `kb mandates`."""
from __future__ import annotations

import json

import pytest

from conftest import DEMO_CORPUS
from kb.build import build_index
from kb.chunk import ChunkSettings
from kb.document import read_document
from kb.clean import clean_document
from kb.cli import main
from kb.embed import HashEmbedder
from kb.extract import extract_pdf
from kb.store import load_index
from kb.mandates import derive_themes, extract_mandates, parse_years
from kb.session import KnowledgeBase
from pdfs import Heading, Para, make_pdf

PORTFOLIO = "communagir-portfolio-municipal-2024.pdf"
MANDATE_KEYS = {"rank", "score", "id", "title", "client", "years", "start", "end", "ongoing", "description",
                "themes", "path", "page", "why"}

EXPECTED = [  # (title starts with, client, years, start, end, ongoing, page)
    ("Laboratoires autour de la gouvernance partagée", "Service de la culture de la Ville de Montréal",
     "2022–2024 (en cours)", 2022, 2024, True, 2),
    ("Soutien à la mobilisation pour des Cœurs de collectivités", "Rues principales", "2023–2025 (en cours)",
     2023, 2025, True, 2),
    ("Renouvellement de la Politique culturelle", "Ville de Joliette", "2024-2025 (en cours)", 2024, 2025, True, 3),
    ("Arrimage des plans et politiques en développement social", "MRC Maria–Chapdelaine", "2024–2025 (en cours)",
     2024, 2025, True, 3),
    ("Planification stratégique", "Comité Enfance–Jeunesse–Famille–Réussite Éducative (MRC des Chenaux)",
     "2023–2024", 2023, 2024, False, 4),
    ("Coeur Villageois – Vers une meilleure collaboration entre élu·e·s et citoyen·ne·s",
     "Tourisme Cantons–de–l’Est", "2023–2024", 2023, 2024, False, 5),
    ("Préparation et animation d’un événement rassembleur", "MRC de La Matanie", "2023-2024", 2023, 2024, False, 5),
    ("Élaboration d’un pacte régional en matière d’adaptation aux changements climatiques",
     "Table des préfets de Lanaudière", "2023", 2023, 2023, False, 6),
    ("Démarche menant à la rédaction d’un plan d’action", "Arrondissement Ahuntsic–Cartierville", "2020–2021",
     2020, 2021, False, 7),
    ("Définition d’un mécanisme de collaboration territoriale", "MRC de Beauharnois–Salaberry", "2018–2019",
     2018, 2019, False, 7),
    ("Consultation autour de la Politique en développement social", "Ville de Lévis", "2017–2018",
     2017, 2018, False, 8),
]


@pytest.fixture(scope="module")
def demo_mandates(demo_clean):
    clean = demo_clean[PORTFOLIO]
    return extract_mandates(clean.blocks, "doc", PORTFOLIO)


def test_demo_portfolio_yields_its_eleven_mandates(demo_mandates):
    assert len(demo_mandates) == 11
    for m, (title, client, years, start, end, ongoing, page) in zip(demo_mandates, EXPECTED):
        assert m.title.startswith(title), m.title
        assert (m.client, m.years, m.start, m.end, m.ongoing, m.page) == (client, years, start, end, ongoing, page)
        assert m.path == PORTFOLIO


def test_demo_mandate_details(demo_mandates):
    by_client = {m.client: m for m in demo_mandates}
    matanie = by_client["MRC de La Matanie"]
    assert matanie.deliverables and matanie.deliverables[0].startswith("Plan d’action territorial collectif")
    assert (matanie.page, matanie.page_end) == (5, 6)
    assert "immigration" in matanie.themes
    assert any(link.endswith("global2-web.pdf") for link in matanie.links)
    lanaudiere = by_client["Table des préfets de Lanaudière"]
    assert lanaudiere.links == ("https://www.prefetslanaudiere.com/wp-content/uploads/2023/10/"
                                "bilan-sommet-complet-final-copie-avec-compression.pdf",)
    assert "climat et environnement" in lanaudiere.themes
    levis = by_client["Ville de Lévis"]
    assert levis.description.endswith("dans la préparation et l’animation des trois audiences publiques.")
    assert "Ce portfolio a été réalisé" not in levis.description  # the back cover is not part of it
    assert "culture" in by_client["Ville de Joliette"].themes
    assert len({m.id for m in demo_mandates}) == 11
    for m in demo_mandates:
        assert m.description and "Mandataire :" not in m.description and "Année :" not in m.description


def test_documents_without_mandates_yield_none(demo_clean):
    for name, clean in demo_clean.items():
        if name != PORTFOLIO:
            assert extract_mandates(clean.blocks, "d", name) == [], name


def test_a_manual_with_client_labels_yields_no_mandate(tmp_path):
    """Seen in real archives: « Client : » in a software manual's prose or in a LaTeX listing is no mandate."""
    pdf = make_pdf(tmp_path / "manuel.pdf", [[
        Heading("AVERTISSEMENT", 14),
        Para(["Client : le programme ssh se connecte au serveur distant et demande le mot de passe de"]),
        Para(["l’utilisateur, puis ouvre une session chiffrée sur la machine distante."]),
        Heading("A.6.1 Invariants", 14),
        Para(["Client : } \\newcommand{\\datetxt}{Date :} \\newcommand{\\facturetxt}{Facture}"]),
        Para(["Les macros suivantes restent identiques d’une facture à l’autre."]),
        Heading("Accompagnement d’une table de quartier", 14),
        Para(["Client : Table de quartier du Vieux-Limoilou"]),
        Para(["Année : 2021"]),
        Para(["Nous avons animé la démarche de planification avec les partenaires du quartier."])]],
        title="Manuel")
    clean = clean_document(extract_pdf(pdf), pdf)
    ms = extract_mandates(clean.blocks, "d", "manuel.pdf")
    assert [(m.title, m.client) for m in ms] == [("Accompagnement d’une table de quartier",
                                                  "Table de quartier du Vieux-Limoilou")]


def other_portfolio(path):
    """Another layout: bold body-size titles, client before year, other labels, a page break."""
    return make_pdf(path, [
        [Heading("Nos réalisations récentes", 18),
         Para(["Voici trois accompagnements menés auprès de municipalités et d’organismes du Québec."]),
         Para(["Accompagnement de la politique familiale de Sherbrooke"], bold=True),
         Para(["Client : Ville de Sherbrooke"]),
         Para(["Années : 2019 – 2021"]),
         Para(["La Ville souhaitait renouveler sa politique familiale en consultant les familles et les",
               "organismes communautaires de chaque arrondissement du territoire."]),
         Para(["Nous avons animé douze ateliers citoyens et rédigé la synthèse des priorités retenues."]),
         Para(["Livrables : Rapport de consultation, https://exemple.org/sherbrooke-rapport.pdf"]),
         Para(["Démarche de concertation en sécurité alimentaire"], bold=True),
         Para(["Mandataire : Table de concertation du Haut-Richelieu · Année : 2024 (en cours)"]),
         Para(["La Table voulait mobiliser les partenaires autour d’un plan d’action en sécurité",
               "alimentaire pour les familles à faible revenu de la région. Les rencontres ont"])],
        [Para(["réuni une trentaine d’organisations et de citoyens engagés dans la démarche de concertation."]),
         Para(["Évaluation d’un projet de revitalisation urbaine"], bold=True),
         Para(["Client : Corporation de développement de Saint-Roch"]),
         Para(["Période : 2016"]),
         Para(["Nous avons évalué les retombées du projet de revitalisation du quartier avec les résidents."]),
         Heading("À propos de nous", 18),
         Para(["Notre équipe accompagne les collectivités depuis vingt ans dans leurs démarches."])],
    ], title="Réalisations", header="Coopérative Conseil — Réalisations")


def test_other_layout_portfolio(tmp_path):
    pdf = other_portfolio(tmp_path / "realisations.pdf")
    clean = clean_document(extract_pdf(pdf), pdf)
    ms = extract_mandates(clean.blocks, "d", "realisations.pdf")
    assert [m.title for m in ms] == ["Accompagnement de la politique familiale de Sherbrooke",
                                     "Démarche de concertation en sécurité alimentaire",
                                     "Évaluation d’un projet de revitalisation urbaine"]
    assert [m.client for m in ms] == ["Ville de Sherbrooke", "Table de concertation du Haut-Richelieu",
                                      "Corporation de développement de Saint-Roch"]
    assert [(m.years, m.start, m.end, m.ongoing) for m in ms] == [
        ("2019 – 2021", 2019, 2021, False), ("2024 (en cours)", 2024, 2024, True), ("2016", 2016, 2016, False)]
    sherbrooke, table, saint_roch = ms
    assert sherbrooke.deliverables == ("Rapport de consultation, https://exemple.org/sherbrooke-rapport.pdf",)
    assert sherbrooke.links == ("https://exemple.org/sherbrooke-rapport.pdf",)
    assert (table.page, table.page_end) == (1, 2)
    assert table.description.endswith("engagés dans la démarche de concertation.")
    assert "concertation et mobilisation" in table.themes
    assert "Notre équipe" not in saint_roch.description  # the next section is not part of the mandate
    assert "revitalisation et aménagement" in saint_roch.themes


def test_what_follows_the_last_mandate_is_cited_under_its_own_section(tmp_path):
    """A plain line that ends the last mandate (a back cover, a colophon) starts a section of its own."""
    pdf = make_pdf(tmp_path / "portfolio.pdf", [[
        Heading("Nos réalisations", 18),
        Heading("Accompagnement d’une table de quartier", 13),
        Para(["Mandataire : Table de quartier du Vieux-Moulin · Année : 2021"]),
        Para(["La Table voulait revoir sa gouvernance avec ses membres et ses partenaires du quartier,",
              "en clarifiant les rôles de chacun et la façon de prendre les décisions ensemble."]),
        Para(["Notre manière d’accompagner"]),
        Para(["Ce document a été préparé pour la rencontre annuelle des partenaires municipaux de la",
              "région, avec une boîte à outils destinée aux élus et aux équipes de développement."])]],
        title="Portfolio")
    content = read_document(pdf, pdf.name, "0" * 64, ChunkSettings())
    [mandate] = content.mandates
    assert mandate.title == "Accompagnement d’une table de quartier"
    assert "boîte à outils" not in mandate.description
    cover = [c for c in content.chunks if "boîte à outils" in c.text]
    assert [c.section for c in cover] == ["Nos réalisations › Notre manière d’accompagner"]
    assert all("boîte à outils" not in c.text for c in content.chunks if "Accompagnement" in c.section)


def test_demo_portfolio_back_cover_has_its_own_section():
    content = read_document(DEMO_CORPUS / PORTFOLIO, PORTFOLIO, "0" * 64, ChunkSettings())
    cover = [c for c in content.chunks if "Ce portfolio a été réalisé" in c.text]
    assert [c.section for c in cover] == ["Les 9 fonctions de notre accompagnement critique"]
    last = [c for c in content.chunks if c.section.startswith("Consultation autour de la Politique")]
    assert last and all("Ce portfolio a été réalisé" not in c.text for c in last)


def test_parse_years_and_themes():
    assert parse_years("2022–2024 (en cours)") == (2022, 2024, True)
    assert parse_years("2023") == (2023, 2023, False)
    assert parse_years("depuis 2019, en cours") == (2019, 2019, True)
    assert parse_years("") == (None, None, False)
    assert "immigration" in derive_themes("Plan d’action en immigration",
                                          "accueil et intégration des personnes immigrantes")
    assert derive_themes("Bilan", "Un texte sans thème particulier.") == ()


def test_mandates_are_indexed_and_ids_are_stable(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / PORTFOLIO).write_bytes((DEMO_CORPUS / PORTFOLIO).read_bytes())
    other_portfolio(corpus / "autre" / "realisations.pdf") if (corpus / "autre").mkdir() is None else None
    report = build_index(corpus, tmp_path / "index", HashEmbedder())
    assert report.mandates == 14
    first = load_index(tmp_path / "index")
    assert first.mandates.vectors.shape == (14, 256)
    from kb.build import BuildOptions

    build_index(corpus, tmp_path / "index", HashEmbedder(), BuildOptions(full=True))
    second = load_index(tmp_path / "index")
    assert [m.id for m in second.mandates.records] == [m.id for m in first.mandates.records]
    assert {m.path for m in second.mandates.records} == {PORTFOLIO, "autre/realisations.pdf"}


def test_kb_mandates_cli(capsys, demo_hash_index):
    ix = str(demo_hash_index)
    assert main(["mandates", "--list", "--json", "--index", ix]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["query"] is None and len(listed["mandates"]) == 11
    assert MANDATE_KEYS <= set(listed["mandates"][0])

    assert main(["mandates", "politique culturelle municipale", "--json", "--k", "3", "--index", ix]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["query"] == "politique culturelle municipale" and len(out["mandates"]) == 3
    top = out["mandates"][0]
    assert set(top) >= MANDATE_KEYS and top["rank"] == 1 and "Joliette" in top["client"]
    assert "culturelle" in top["why"] or "culture" in top["why"]

    some_id = listed["mandates"][0]["id"]
    assert main(["mandates", "--like", some_id, "--json", "--index", ix]) == 0
    like = json.loads(capsys.readouterr().out)["mandates"]
    assert len(like) == 5 and some_id not in [m["id"] for m in like]

    assert main(["mandates", "--like", "nope", "--index", ix]) == 1
    assert "aucun mandat" in capsys.readouterr().err
    assert main(["mandates", "--index", ix]) == 1
    assert "décrivez une situation" in capsys.readouterr().err
    assert main(["mandates", "le la de", "--index", ix]) == 1
    assert "mots vides" in capsys.readouterr().err
    assert main(["mandates", "politique culturelle", "--index", ix]) == 0
    human = capsys.readouterr().out
    assert human.startswith(" 1. Renouvellement de la Politique culturelle") and "pourquoi :" in human


def test_search_json_has_related_mandates(capsys, demo_hash_index):
    assert main(["search", "gouvernance partagée", "--json", "--index", str(demo_hash_index)]) == 0
    out = json.loads(capsys.readouterr().out)
    related = out["related_mandates"]
    assert 1 <= len(related) <= 3 and MANDATE_KEYS <= set(related[0])
    assert related[0]["client"] == "Service de la culture de la Ville de Montréal"


def test_unrelated_query_shows_few_or_no_mandates(demo_hash_index):
    searcher = KnowledgeBase(load_index(demo_hash_index), HashEmbedder())
    # No mandate names the foundation or shares its words: none is shown rather than noise.
    assert searcher.search("Fondation Lucie et André Chagnon").related_mandates == ()
    related = searcher.search("politique culturelle municipale").related_mandates
    assert related and "Joliette" in related[0].mandate.client


def test_eval_mandates_format(capsys, demo_hash_index, tmp_path):
    q = tmp_path / "m.jsonl"
    q.write_text(json.dumps({"id": "x", "query": "politique culturelle municipale", "expect": ["joliette"]}) + "\n",
                 encoding="utf-8")
    assert main(["eval", str(q), "--json", "--index", str(demo_hash_index)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "mandates" and set(report["metrics"]) == {"success@1", "success@3", "MRR@5"}
    assert report["metrics"]["success@1"] == 1.0


@pytest.mark.model
def test_real_model_dev_mandates(capsys, demo_e5_index):
    from pathlib import Path

    dev = Path(__file__).resolve().parent.parent / "eval" / "dev_mandates.jsonl"
    assert main(["eval", str(dev), "--json", "--index", str(demo_e5_index)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["queries"] == 4 and report["metrics"]["success@3"] == 1.0
