"""Language detection, letter soup, and structure-aware chunking."""
from __future__ import annotations

import string

from kb.chunk import ChunkSettings, chunk_blocks, split_sentences
from kb.language import detect_language, is_language
from kb.records import Block

SHIFT = str.maketrans(string.ascii_letters, string.ascii_lowercase[3:] + string.ascii_lowercase[:3]
                      + string.ascii_uppercase[3:] + string.ascii_uppercase[:3])
FR = ("La gouvernance partagée est un mode de décision où les partenaires d’un territoire choisissent "
      "ensemble les priorités de leur communauté. Elle demande du temps, de la confiance et une animation "
      "rigoureuse des rencontres entre les élus, les organismes communautaires et les citoyens.")
EN = ("Shared governance is a way for municipalities and community partners to decide together. "
      "It takes time and trust, and the meetings between elected officials and citizens need care.")


def test_detect_language_is_deterministic():
    assert {detect_language(FR) for _ in range(5)} == {"fr"}
    assert detect_language(EN) == "en"
    assert detect_language("42") is None


def test_letter_soup_is_not_language():
    assert is_language(FR) and is_language(EN)
    assert not is_language(FR.translate(SHIFT) * 3)  # a font without Unicode mapping
    assert not is_language("ÆØ ßþ ÐŒ ŁŊ " * 20)
    assert is_language("Gouvernance partagée")  # short texts get the benefit of the doubt


def para(words: int, page: int = 1, word: str = "mot") -> Block:
    text = " ".join(f"{word}{i}" for i in range(words - 1)) + " fin."
    return Block("paragraph", text, page, page)


def heading(text: str, level: int = 1, page: int = 1) -> Block:
    return Block("heading", text, page, page, level)


def test_chunks_follow_sections_and_record_pages():
    blocks = [heading("Titre du document", 1), heading("Première section", 2), para(80), para(90, page=2),
              heading("Deuxième section", 2, page=2), para(70, page=2), heading("Sous-section", 3, page=3), para(100, page=3)]
    chunks = chunk_blocks(blocks, ChunkSettings(60, 220, 40), skip_headings=("Titre du document",))
    assert [c.section for c in chunks] == ["Première section", "Deuxième section", "Deuxième section › Sous-section"]
    assert [(c.page, c.page_end) for c in chunks] == [(1, 2), (2, 2), (3, 3)]
    assert chunks[0].text.startswith("Titre du document\nPremière section\n")
    assert chunks[2].text.startswith("Sous-section\n")


def test_short_section_keeps_its_child_sections():
    # A mandate: title, two short lines, then its « Description » sub-heading.
    blocks = [heading("Mandat A", 2), para(12), heading("Description", 3), para(100)]
    chunks = chunk_blocks(blocks, ChunkSettings(60, 220, 40))
    assert len(chunks) == 1
    assert chunks[0].section == "Mandat A"
    assert chunks[0].text.startswith("Mandat A\n")


def test_sibling_heading_closes_the_chunk():
    # A section ending with a short tail must not swallow the next section's start.
    blocks = [heading("Mandat A", 2), para(150), para(40), heading("Mandat B", 2), para(100)]
    chunks = chunk_blocks(blocks, ChunkSettings(60, 220, 40))
    assert [c.section for c in chunks] == ["Mandat A", "Mandat B"]
    assert chunks[1].text.startswith("Mandat B\n")


def test_tiny_fragment_joins_the_next_chunk():
    blocks = [heading("Titre", 1), para(8), heading("Partie", 1), para(100)]
    chunks = chunk_blocks(blocks, ChunkSettings(60, 220, 40))
    assert len(chunks) == 1 and chunks[0].section == "Partie"
    assert chunks[0].text.startswith("Titre\n")


def test_long_paragraph_is_cut_between_sentences_with_overlap():
    sentences = [f"Phrase numéro {i} avec quelques mots de plus pour la longueur voulue." for i in range(60)]
    blocks = [heading("Long", 1, page=4), Block("paragraph", " ".join(sentences), 4, 5)]
    settings = ChunkSettings(60, 220, 40)
    chunks = chunk_blocks(blocks, settings)
    assert len(chunks) >= 3
    for c in chunks:
        assert len(c.text.split()) <= settings.max_words + settings.min_words
        assert (c.page, c.page_end) == (4, 5)
    # consecutive windows share their boundary sentence(s)
    for a, b in zip(chunks, chunks[1:]):
        last = split_sentences(a.text.split("\n")[-1])[-1]
        assert last in b.text
    # every sentence is somewhere
    joined = "\n".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)


def test_heading_without_letters_is_not_a_section():
    chunks = chunk_blocks([heading("2024", 2), para(80)], ChunkSettings())
    assert chunks[0].section == ""


def test_demo_chunks_sizes(demo_clean):
    settings = ChunkSettings()
    for name, clean in demo_clean.items():
        chunks = chunk_blocks(clean.blocks, settings, skip_headings=(clean.title,))
        sizes = [len(c.text.split()) for c in chunks]
        assert max(sizes) <= settings.max_words + settings.min_words, name
        # Nothing under half the minimum; a few short sections may stand alone.
        assert min(sizes) >= settings.min_words // 2, (name, sizes)
        assert sum(s < settings.min_words for s in sizes) <= len(sizes) // 5 + 1, (name, sizes)
        assert all(c.section != clean.title for c in chunks)
