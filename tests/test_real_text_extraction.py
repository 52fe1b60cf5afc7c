"""What real PDFs (TeX-made manuals, Debian documentation) need, on PDFs made here.

Each test reproduces one defect measured on 108 Debian documentation PDFs
(``benchmarks/real_corpus.py``): split accents, tables of contents, indexes and
bibliographies among the passages, control characters and music glyphs, running
headers, wrong languages, wrong skip reasons, lines cut by PDFium.
"""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from kb.chunk import ChunkSettings
from kb.clean import clean_document
from kb.document import read_document
from kb.errors import ExtractionError
from kb.extract import extract_pdf
from kb.language import detect_language, is_language, passage_language
from pdfs import FONT_DIR, Heading, Para, make_pdf, prose, raw_fonts_pdf, tex_accents_pdf

SHA = "0" * 64


def read(path: Path):
    return read_document(path, path.name, SHA, ChunkSettings())


def all_text(path: Path) -> str:
    return "\n".join(c.text for c in read(path).chunks)


def test_tex_accents_are_put_back_on_their_letters(tmp_path):
    pdf = tex_accents_pdf(tmp_path / "accents.pdf", [
        [("La d", None), ("efinition", "´"), (" de la fen", None), ("etre", "ˆ"), (" est d", None),
         ("ej", "´"), ("a", "`"), (" connue.", None)],
        [("Le texte fran", None), ("cais", "¸"), (" de l’", None), ("Electricit", "´"), ("e", "´"), (".", None)],
        [("Une bo", None), ("ıte", "ˆ"), (" et un na", None), ("ıf", "¨"), (" `ls` reste du code.", None)],
    ])
    lines = [line.text for line in extract_pdf(pdf).pages[0].lines]
    text = re.sub(" +", " ", "\n".join(lines))
    assert "La définition de la fenêtre est déjà connue." in text
    assert "Le texte français de l’Électricité." in text
    assert "Une boîte et un naïf `ls` reste du code." in text  # dotless ı takes the accent; a backtick stays
    assert not re.search("[´ˆ¸¨]", text)


def toc_lines(n: int) -> list[str]:
    return [f"{i // 3 + 1}.{i % 3 + 1} Titre de la section numéro {i} " + ". " * 20 + f"{3 + 2 * i}"
            for i in range(n)]


def test_table_of_contents_index_and_bibliography_are_left_out_and_counted(tmp_path):
    index = [f"{word}, {3 + i}, {12 + 2 * i}" for i, word in enumerate(
        ["accompagnement", "bilan", "comité", "démarche", "évaluation", "gouvernance", "mobilisation",
         "partenaires", "quartier", "territoire"])]
    pdf = make_pdf(tmp_path / "manuel-2020.pdf", [
        [Heading("Guide de la démarche", 20), Heading("Table des matières"), Para(toc_lines(12))],
        [Heading("Introduction"), prose("gouvernance", 6), prose("mobilisation", 6)],
        [Heading("Mise en œuvre"), prose("évaluation", 6), prose("participation", 6)],
        [Heading("Bibliographie"),
         Para(["[1] Dupont, J. La gouvernance partagée. Montréal, Presses du Québec, 2004."]),
         Para(["[2] Martin, A. et Roy, B. Agir ensemble. Québec, Éditions du Nord, 2011."]),
         Para(["[3] Tremblay, C. Le développement des communautés. Sherbrooke, 2016."])],
        [Heading("Index"), Para(index)],
    ], title="Guide de la démarche")
    content = read(pdf)
    text = "\n".join(c.text for c in content.chunks)
    assert content.dropped == {"toc": 1, "index": 1, "bibliography": 1}
    assert ". . . ." not in text and "Titre de la section" not in text and "Table des matières" not in text
    assert "Dupont" not in text and "accompagnement, 3" not in text
    assert "Le thème gouvernance est au cœur de la démarche" in text
    assert all("Table des matières" not in c.section for c in content.chunks)


def test_a_section_named_references_that_explains_stays(tmp_path):
    pdf = make_pdf(tmp_path / "latex.pdf", [
        [Heading("Références bibliographiques"),
         Para(["La commande cite renvoie à une entrée de la bibliographie, que BibTeX compose",
               "à partir d’un fichier de références ; le style choisi décide de la présentation."]),
         prose("bibliographie", 6)],
    ], title="Manuel")
    content = read(pdf)
    assert content.dropped == {}
    assert "La commande cite renvoie" in "\n".join(c.text for c in content.chunks)


NAMES = ["gouvernance", "mobilisation", "participation", "concertation", "planification", "évaluation",
         "culture", "inclusion"]


def test_table_of_contents_without_dot_leaders(tmp_path):
    """Chapter entries « 2 Architecture   7 »: the page number stands apart on the row."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.add_font("D", "", str(FONT_DIR / "DejaVuSerif.ttf"))
    pdf.set_font("D", "", 11)
    for i in range(8):
        pdf.text(72, 100 + 16 * i, f"{i + 1} Chapitre consacré au thème de la {NAMES[i]}")
        pdf.text(500, 100 + 16 * i, str(3 + 4 * i))
    path = tmp_path / "sommaire.pdf"
    pdf.output(str(path))
    clean = clean_document(extract_pdf(path), path)
    assert clean.blocks == () and clean.dropped == {"toc": 1}


def test_t1_codes_symbol_fonts_and_control_characters(tmp_path):
    pdf = raw_fonts_pdf(tmp_path / "lilypond.pdf", [
        ("Helvetica", 11, "Le bac à sable de Scheme est une console interactive de LilyPond.".encode("cp1252")),
        ("Type3", 11, b"\x13 bac \xe0 sable \x14 et les \x1c\x1dchiers \x15 di\x1b\xe9rents"),
        ("Emmentaler-20", 20, b"h h h \x05"),
        ("Helvetica", 11, b"Fin du texte \x07 de la page."),
    ])
    lines = [line.text for line in extract_pdf(pdf).pages[0].lines]
    lines = [re.sub(" +", " ", line) for line in lines]  # the cleaner collapses spaces
    assert lines == ["Le bac à sable de Scheme est une console interactive de LilyPond.",
                     "« bac à sable » et les \ufb01\ufb02chiers – di\ufb00érents", "Fin du texte de la page."]


def test_running_header_of_a_chapter_is_removed(tmp_path):
    """Headers that name the chapter repeat on a few pages of a long manual, not on 30 % of them."""
    pages = [[Heading(f"Chapitre {n}", 18), prose(f"partie {n}", 6)] if n % 4 == 1 else [prose(f"suite {n}", 6)]
             for n in range(1, 17)]
    path = make_pdf(tmp_path / "manuel.pdf", pages, header=None)
    raw = extract_pdf(path)
    # Add a running header « CHAPITRE 2. ÉVALUATION » on pages 5 to 8 only, as TeX does.
    from kb.records import Line, Page

    top = raw.pages[0].lines[0].y + 30
    pages_with_header = [Page(p.number, ((Line(f"{p.number} CHAPITRE 2. ÉVALUATION", 9, False, 72, 300, top),)
                                         + p.lines) if 5 <= p.number <= 8 else p.lines, p.width, p.height)
                         for p in raw.pages]
    clean = clean_document(type(raw)(tuple(pages_with_header), raw.metadata), path)
    assert not any("CHAPITRE 2" in b.text for b in clean.blocks)


def test_a_line_longer_than_pdfium_keeps_is_read_whole(tmp_path):
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.add_font("D", "", str(FONT_DIR / "DejaVuSerif.ttf"))
    pdf.set_font("D", "", 6)
    words = " ".join(f"mot{i}" for i in range(3500))  # 26,889 characters in one string
    pdf.text(10, 100, words)
    pdf.text(10, 200, "Une deuxième ligne de texte.")
    path = tmp_path / "long.pdf"
    pdf.output(str(path))
    lines = [line.text for line in extract_pdf(path).pages[0].lines]
    assert lines == [words, "Une deuxième ligne de texte."]


def test_manual_with_many_blank_pages_is_indexed(tmp_path):
    """One page of text among 60 figure pages: text, not a scan (the old rule said « needs OCR »)."""
    pages = [[prose("gouvernance", 4)]] + [[] for _ in range(59)]
    path = make_pdf(tmp_path / "figures.pdf", pages, page_numbers=False)
    content = read(path)
    assert content.document.pages == 60 and len(content.chunks) == 1


def test_code_heavy_manual_is_indexed_not_called_letter_soup(tmp_path):
    code = [r"\draw[thick,->] (0,0) -- (2,1) node[above] {sommet};",
            r"\node[draw,circle] (a) at (0,0) {origine};",
            r"\fill[red!20] (1,1) rectangle (3,2);",
            r"\path[use as bounding box] (-1,-1) rectangle (4,3);",
            "shape=rectangle west east north south anchor=center",
            r"\begin{tikzpicture}[scale=2] \end{tikzpicture}"]
    path = make_pdf(tmp_path / "tikz.pdf", [[Heading("Chemins"), Para(code * 4)]], page_numbers=False)
    assert len(read(path).chunks) >= 1


def test_letter_soup_is_still_refused(tmp_path):
    shift = str.maketrans(string.ascii_lowercase, string.ascii_lowercase[3:] + string.ascii_lowercase[:3])
    soup = Para([line.lower().translate(shift) for line in prose("gouvernance", 6).lines])
    path = make_pdf(tmp_path / "soupe.pdf", [[soup, soup, soup]], page_numbers=False)
    with pytest.raises(ExtractionError, match="unreadable text"):
        read(path)


def test_numbers_only_is_reported_as_such(tmp_path):
    path = make_pdf(tmp_path / "courbe.pdf", [[Para(["−2 −1 0 1 2", "0,5 1,0 1,5 2,0", "63430877"] * 20)]],
                    page_numbers=False)
    with pytest.raises(ExtractionError, match="no words to index"):
        read(path)


def test_is_language_for_text_that_is_not_prose():
    latin = ("Lorem ipsum dolor sit amet, consectetuer adipiscing elit. Ut purus elit, vestibulum ut, placerat ac, "
             "adipiscing vitae, felis. Curabitur dictum gravida mauris. Nam arcu libero, nonummy eget, consectetuer "
             "id, vulputate a, magna. Donec vehicula augue eu neque.")
    basque = ("Copyright Edorta Ibarra. CTAN fitxategietan banatutako proiektuko lizentzia publikoaren terminoetan "
              "birbanatu edota alda daiteke programa hau. Bigarren bertsio publikoa. Lehenengo bertsio publikoa. "
              "Azkenengo bertsioaren ezaugarri gehientsuenak ditu bertsio horrek eta garapenerako bertsio.")
    assert is_language(latin) and is_language(basque)


def test_passage_language_only_when_sure():
    table = "D Dm | X O O X X X X | 4 2 1 2 3 1 4 4 3 1 1 1 | 2 1 3 3 3 | D | Dm D D Dm D+D | X X O O " * 3
    english = ("This program is free software; you can redistribute it and/or modify it under the terms of the "
               "GNU General Public License as published by the Free Software Foundation, either version 3 of "
               "the License, or (at your option) any later version.")
    assert detect_language(table) not in ("fr", None)  # what langdetect alone says
    assert passage_language(table, "fr") == "fr"
    assert passage_language(english, "fr") == "en"
    assert passage_language("Le comité se réunit.", "fr") == "fr"  # too short to judge alone
