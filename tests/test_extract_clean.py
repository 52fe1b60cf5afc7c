"""Extraction and cleaning: on the demo PDFs and on PDFs made here."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from kb.clean import clean_document, dehyphenate, normalize_text
from kb.extract import extract_pdf
from pdfs import Heading, Para, make_pdf, prose

GLUED = re.compile(r"[^\W\d_]{23,}")
LEFTOVER_HYPHEN = re.compile(r"[^\W\d_]- [a-zà-ÿ]")


def all_text(clean) -> str:
    return "\n".join(b.text for b in clean.blocks)


def test_demo_corpus_has_no_glued_words(demo_clean):
    for name, clean in demo_clean.items():
        words = [w for w in GLUED.findall(all_text(clean)) if "http" not in w]
        # The only long token in the corpus is part of a URL path (".../collectiviteinclusive").
        assert [w for w in words if w != "collectiviteinclusive"] == [], name


def test_demo_corpus_has_no_leftover_hyphenation(demo_clean):
    for name, clean in demo_clean.items():
        text = all_text(clean)
        assert "\ufffe" not in text and "\u00ad" not in text, name
        # "Activités- services" is written so in the source (a figure label).
        leftovers = [m for m in LEFTOVER_HYPHEN.findall(text) if m != "s- s"]
        assert leftovers == [], (name, leftovers)


def test_demo_corpus_joins_typesetting_hyphens_and_keeps_compounds(demo_clean):
    text = "\n".join(all_text(c) for c in demo_clean.values())
    # Hyphenated by LaTeX at a line end in the PDFs (checked in the raw extraction below).
    assert "développement inclusif" in text
    assert "dévelop pement" not in text and "développe ment" not in text
    for compound in ("Petit-Saguenay", "pré-évaluatifs", "agir-ensemble", "Vallée-du-Richelieu"):
        assert compound in text, compound


def test_raw_extraction_marks_line_end_hyphens():
    from conftest import DEMO_CORPUS

    raw = extract_pdf(DEMO_CORPUS / "communagir-portfolio-municipal-2024.pdf")
    lines = [line.text for page in raw.pages for line in page.lines]
    assert any(t.endswith("dévelop\ufffe") for t in lines)


def test_demo_corpus_running_headers_and_page_numbers_removed(demo_clean):
    for name, clean in demo_clean.items():
        texts = [b.text for b in clean.blocks]
        assert not any(t.startswith("Communagir ") and t.count("—") and len(t) < 90 and t.endswith(("municipal", "cohé"))
                       for t in texts), name
        assert not any(re.fullmatch(r"\d{1,3}", t) for t in texts), name
    portfolio = all_text(demo_clean["communagir-portfolio-municipal-2024.pdf"])
    # The running header "Communagir Portfolio — Accompagnements…" stood on pages 2 to 8.
    assert "Communagir Portfolio" not in portfolio


def test_demo_titles_years(demo_clean):
    got = {name: (c.title, c.year) for name, c in demo_clean.items()}
    assert got["communagir-cadre-de-reference.pdf"] == ("Cadre de référence de Communagir", 2017)
    assert got["communagir-portfolio-municipal-2024.pdf"][1] == 2024
    assert got["fiche-atelier-cadres-strategiques-municipaux.pdf"][1] == 2025
    assert got["chantiers-partenariaux-coconstruction-2017.pdf"][1] == 2017
    assert got["roles-acteurs-developpement-communautes-2015.pdf"][1] == 2015
    assert got["fiche-atelier-cadres-strategiques-municipaux.pdf"][0].startswith("Fiche atelier")


def test_demo_headings_are_found(demo_clean):
    portfolio = demo_clean["communagir-portfolio-municipal-2024.pdf"]
    headings = [b.text for b in portfolio.blocks if b.kind == "heading"]
    assert "Renouvellement de la Politique culturelle" in headings
    assert "Élaboration d’un pacte régional en matière d’adaptation aux changements climatiques" in headings


def test_demo_footnote_calls_dropped(demo_clean):
    text = all_text(demo_clean["chantiers-partenariaux-coconstruction-2017.pdf"])
    assert "ont participé aux chantiers." in text  # was "chantiers²" + "." on its own line


@pytest.mark.parametrize("head,tail,vocab,joined", [
    ("dévelop", "pement", {"développement": 3}, True),
    ("coopé", "ration", {}, True),  # no evidence, lower-case, not a prefix: a typesetting break
    ("Petit", "Saguenay", {}, False),  # capitalised second part
    ("vice", "présidente", {}, False),  # compound prefix
    ("pré", "évaluative", {}, False),
    ("co", "construction", {"coconstruction": 5, "co-construction": 1}, True),  # the document decides
    ("agir", "ensemble", {"agir-ensemble": 2}, False),
])
def test_dehyphenate(head, tail, vocab, joined):
    assert dehyphenate(head, tail, Counter(vocab)) is joined


def test_normalize_text():
    assert normalize_text("la réﬂexion ﬁnale\u00a0: e\u0301te\u0301") == "la réflexion finale : été"
    assert normalize_text("a  b\u202f;") == "a b ;"


def test_made_pdf_hyphens_ligatures_headers(tmp_path):
    pdf = make_pdf(tmp_path / "essai.pdf", [
        [Heading("Introduction à la démarche"),
         Para(["Le développement collectif demande une réﬂexion sur le dévelop-",
               "pement des communautés de la municipalité de Petit-",
               "Saguenay, avec la vice-", "présidente du conseil et une démarche pré-",
               "évaluative menée avec soin par l’équipe."]),
         prose("gouvernance")],
        [prose("participation", 3), Heading("Deuxième partie"),
         Para(["La coopé-", "ration entre les acteurs du milieu et les élus."])],
    ], title="Essai de nettoyage", header="Communagir — Rapport d’essai")
    clean = clean_document(extract_pdf(pdf), pdf)
    text = all_text(clean)
    assert ("réflexion sur le développement des communautés de la municipalité de Petit-Saguenay, "
            "avec la vice-présidente du conseil et une démarche pré-évaluative") in text
    assert "La coopération entre" in text
    assert "ﬂ" not in text
    assert "Rapport d’essai" not in text  # running header
    assert [b.text for b in clean.blocks if b.kind == "heading"] == ["Introduction à la démarche", "Deuxième partie"]
    assert clean.title == "Essai de nettoyage"
    assert not any(b.text in ("1", "2") for b in clean.blocks)


def test_paragraph_continues_across_page_break(tmp_path):
    pdf = make_pdf(tmp_path / "suite.pdf", [
        [prose("mobilisation", 3), Para(["Cette phrase commence sur la première page et elle"])],
        [Para(["se termine sur la deuxième page sans rupture de paragraphe."]), prose("évaluation", 3)],
    ], title="Suite")
    clean = clean_document(extract_pdf(pdf), pdf)
    block = next(b for b in clean.blocks if "Cette phrase commence" in b.text)
    assert block.text == ("Cette phrase commence sur la première page et elle "
                          "se termine sur la deuxième page sans rupture de paragraphe.")
    assert (block.page, block.page_end) == (1, 2)


def test_title_falls_back_to_first_heading_then_file_name(tmp_path):
    pdf = make_pdf(tmp_path / "rapport-annuel-2019.pdf", [[Heading("Bilan des activités", 20), prose("bilan")]])
    clean = clean_document(extract_pdf(pdf), pdf)
    assert clean.title == "Bilan des activités"
    assert clean.year == 2019
    pdf2 = make_pdf(tmp_path / "notes_de_terrain.pdf", [[prose("terrain")]])
    assert clean_document(extract_pdf(pdf2), pdf2).title == "notes de terrain"


LEFT = ["La gouvernance partagée demande du temps et une", "grande confiance entre les partenaires du milieu,",
        "et les rencontres se tiennent chaque mois au centre", "communautaire du quartier, avec les élus locaux."]
RIGHT = ["Le financement provient de plusieurs sources dont", "la municipalité, la région et des fondations privées",
         "qui soutiennent la démarche depuis plusieurs années", "et qui participent à son évaluation continue."]


@pytest.mark.parametrize("stream_order", ["columns", "rows"])
def test_two_column_page_reads_left_column_then_right(tmp_path, stream_order):
    """Producers write two-column text column by column or row by row; both read the same."""
    from fpdf import FPDF

    from pdfs import FONT_DIR

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.add_font("D", "", str(FONT_DIR / "DejaVuSerif.ttf"))
    pdf.set_font("D", "", 16)
    pdf.text(72, 60, "Un document en deux colonnes")
    pdf.set_font("D", "", 9)
    if stream_order == "columns":
        for i, line in enumerate(LEFT):
            pdf.text(40, 100 + i * 12, line)
        for i, line in enumerate(RIGHT):
            pdf.text(305, 100 + i * 12, line)
    else:
        for i, (a, b) in enumerate(zip(LEFT, RIGHT)):
            pdf.text(40, 100 + i * 12, a)
            pdf.text(305, 100 + i * 12, b)
    path = tmp_path / "deux-colonnes.pdf"
    pdf.output(str(path))
    clean = clean_document(extract_pdf(path), path)
    assert [b.text for b in clean.blocks] == ["Un document en deux colonnes", " ".join(LEFT), " ".join(RIGHT)]


def test_a_heading_set_on_several_lines_is_one_heading(tmp_path):
    from pdfs import Para

    pdf = make_pdf(tmp_path / "titre.pdf", [[
        Para(["Les retombées de", "nos activités et", "services selon nos", "publics cibles"], bold=True),
        prose("retombées", 6)]])
    clean = clean_document(extract_pdf(pdf), pdf)
    headings = [b.text for b in clean.blocks if b.kind == "heading"]
    assert "Les retombées de nos activités et services selon nos publics cibles" in headings
