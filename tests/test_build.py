"""`build_index`: incremental, atomic, and a clear reason for every bad file."""
from __future__ import annotations

import json
import os
import shutil
import string

import numpy as np
import pytest

from conftest import DEMO_CORPUS, DEMO_FILES
from kb.build import BuildOptions, build_index, passage_text
from kb.embed import HashEmbedder
from kb.errors import IndexMismatchError
from kb.ocr import ocr_available
from kb.store import load_index
from kb.workers import ReadLimits
from pdfs import Heading, Para, encrypt_pdf, image_only_pdf, make_pdf, prose

SHIFT = str.maketrans(string.ascii_letters, string.ascii_lowercase[3:] + string.ascii_lowercase[:3]
                      + string.ascii_uppercase[3:] + string.ascii_uppercase[:3])


def small_pdf(path, topic="gouvernance", title=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    return make_pdf(path, [[Heading(f"Rapport sur {topic}"), prose(topic, 6), prose(topic + " locale", 5)]],
                    title=title or f"Rapport {topic}")


def test_demo_build_indexes_all_five_documents(demo_hash_index):
    index = load_index(demo_hash_index)
    assert sorted(d.path for d in index.documents) == DEMO_FILES
    assert index.manifest["skipped"] == []
    assert len(index.chunks) == index.passages.vectors.shape[0] == index.passages.dense.ntotal > 50
    for c in index.chunks:
        assert c.text and c.page >= 1 and c.page_end >= c.page and c.lang == "fr"
    assert {d.doc_type for d in index.documents} >= {"portfolio", "fiche", "cadre de référence"}


def test_second_build_embeds_nothing_and_writes_nothing(demo_corpus, tmp_path, fake_embedder):
    index = tmp_path / "index"
    first = build_index(demo_corpus, index, fake_embedder)
    assert first.mandates == 11  # the demo portfolio's
    assert first.written and first.embedded == first.chunks + first.mandates == len(fake_embedder.calls)
    version = (index / "CURRENT").read_text()
    fake_embedder.calls.clear()
    second = build_index(demo_corpus, index, fake_embedder)
    assert fake_embedder.calls == []
    assert not second.written and second.embedded == 0
    assert second.unchanged == 5 and second.added == second.updated == second.removed == ()
    assert (index / "CURRENT").read_text() == version


def test_changed_file_reembeds_only_that_file(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    for t in ("gouvernance", "participation", "immigration"):
        small_pdf(corpus / f"{t}.pdf", t)
    index = tmp_path / "index"
    build_index(corpus, index, fake_embedder)
    before = {c.chunk_id: c for c in load_index(index).chunks}
    fake_embedder.calls.clear()
    small_pdf(corpus / "participation.pdf", "culture")  # new content, same name
    report = build_index(corpus, index, fake_embedder)
    assert report.updated == ("participation.pdf",) and report.unchanged == 2
    after = load_index(index)
    changed = [c for c in after.chunks if c.path == "participation.pdf"]
    assert sorted(fake_embedder.calls) == sorted(passage_text(c) for c in changed)
    assert all("culture" in c.text for c in changed)
    for c in after.chunks:  # the other files kept their chunks
        if c.path != "participation.pdf":
            assert before[c.chunk_id] == c


def test_vectors_reused_are_identical(tmp_path):
    corpus = tmp_path / "corpus"
    small_pdf(corpus / "a.pdf", "gouvernance")
    small_pdf(corpus / "b.pdf", "participation")
    index = tmp_path / "index"
    build_index(corpus, index, HashEmbedder())
    first = load_index(index)
    (corpus / "b.pdf").unlink()
    report = build_index(corpus, index, HashEmbedder())
    assert report.removed == ("b.pdf",)
    second = load_index(index)
    assert [d.path for d in second.documents] == ["a.pdf"]
    np.testing.assert_array_equal(second.passages.vectors, first.passages.vectors[: len(second.chunks)])


def test_renamed_file_is_not_reembedded(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    small_pdf(corpus / "a.pdf", "gouvernance")
    index = tmp_path / "index"
    build_index(corpus, index, fake_embedder)
    fake_embedder.calls.clear()
    (corpus / "archives").mkdir()
    os.rename(corpus / "a.pdf", corpus / "archives" / "a-2019.pdf")
    report = build_index(corpus, index, fake_embedder)
    assert report.added == ("archives/a-2019.pdf",) and report.removed == ("a.pdf",)
    assert fake_embedder.calls == []
    assert {c.path for c in load_index(index).chunks} == {"archives/a-2019.pdf"}


def test_full_rebuild_reembeds_everything(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    small_pdf(corpus / "a.pdf")
    index = tmp_path / "index"
    first = build_index(corpus, index, fake_embedder)
    fake_embedder.calls.clear()
    report = build_index(corpus, index, fake_embedder, BuildOptions(full=True))
    assert report.written and report.embedded == first.chunks + first.mandates == len(fake_embedder.calls)


def test_other_model_reembeds_and_querying_with_wrong_model_is_an_error(tmp_path):
    corpus = tmp_path / "corpus"
    small_pdf(corpus / "a.pdf")
    index = tmp_path / "index"
    build_index(corpus, index, HashEmbedder(256))
    report = build_index(corpus, index, HashEmbedder(128))
    assert report.written and report.embedded == report.chunks
    assert any("modèle changé" in n for n in report.notes)
    loaded = load_index(index)
    assert loaded.passages.vectors.shape[1] == 128
    with pytest.raises(IndexMismatchError, match="reconstruisez"):
        loaded.check_embedder(HashEmbedder(256))


class Boom(RuntimeError):
    pass


class FailingEmbedder(HashEmbedder):
    def __init__(self, fail_after: int, exc: BaseException) -> None:
        super().__init__()
        self.left, self.exc = fail_after, exc

    def embed(self, texts, query=False):
        self.left -= 1
        if self.left < 0:
            raise self.exc
        return super().embed(texts, query)


@pytest.mark.parametrize("exc", [Boom("model crashed"), KeyboardInterrupt()])
def test_failed_or_interrupted_build_leaves_previous_index_intact(tmp_path, exc):
    corpus = tmp_path / "corpus"
    small_pdf(corpus / "a.pdf", "gouvernance")
    index = tmp_path / "index"
    build_index(corpus, index, HashEmbedder())
    before = load_index(index)
    for t in ("participation", "culture", "immigration"):
        small_pdf(corpus / f"{t}.pdf", t)
    with pytest.raises(type(exc)):
        build_index(corpus, index, FailingEmbedder(1, exc), BuildOptions(batch_size=2))
    after = load_index(index)
    assert after.version == before.version
    assert [c.chunk_id for c in after.chunks] == [c.chunk_id for c in before.chunks]
    assert not list(index.glob(".partial-*"))
    # and the next build completes
    report = build_index(corpus, index, HashEmbedder())
    assert sorted(report.added) == ["culture.pdf", "immigration.pdf", "participation.pdf"]


def test_old_versions_are_pruned(tmp_path):
    corpus = tmp_path / "corpus"
    index = tmp_path / "index"
    for i, t in enumerate(("gouvernance", "participation", "culture", "immigration")):
        small_pdf(corpus / f"{t}.pdf", t)
        build_index(corpus, index, HashEmbedder())
    assert len(list(index.glob("v-*"))) == 2  # the live one and the previous one


# --- bad input: each file is real, made here -------------------------------------------

def _bad_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    good = small_pdf(corpus / "bon.pdf", "gouvernance")
    (corpus / "vide.pdf").write_bytes(b"")
    (corpus / "pas-un-pdf.pdf").write_text("Ceci est un fichier texte, pas un PDF.\n", encoding="utf-8")
    data = good.read_bytes()
    (corpus / "tronque.pdf").write_bytes(data[: len(data) // 2])
    (corpus / "corrompu.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(3000) + b"\n%%EOF\n")
    src = small_pdf(tmp_path / "src" / "secret.pdf", "participation")
    encrypt_pdf(src, corpus / "chiffre.pdf", user_password="motdepasse", owner_password="proprio")
    src2 = small_pdf(tmp_path / "src" / "proprio.pdf", "immigration")
    encrypt_pdf(src2, corpus / "proprietaire-seulement.pdf", user_password="", owner_password="proprio")
    image_only_pdf(corpus / "numerise.pdf")
    soup = [line.translate(SHIFT) for line in prose("gouvernance", 6).lines]
    make_pdf(corpus / "soupe.pdf", [[Para(soup), Para(soup[::-1]), Para(soup)]], title="Soupe")
    shutil.copy(good, corpus / "bon-copie.pdf")
    (corpus / "notes.txt").write_text("pas un PDF, ignoré", encoding="utf-8")
    (corpus / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    small_pdf(corpus / "2019" / "sous-dossier.pdf", "culture")
    return corpus


EXPECTED_SKIPS = {
    "vide.pdf": "empty file",
    "pas-un-pdf.pdf": "not a PDF",
    "tronque.pdf": "truncated",
    "corrompu.pdf": "corrupt",
    "chiffre.pdf": "encrypted",
    # A scanned page of lines and no words: OCR reads nothing (or, without Tesseract, says it is needed).
    "numerise.pdf": "no text layer: needs OCR" if ocr_available() else "OCR found no text",
    "soupe.pdf": "unreadable text",
    "bon-copie.pdf": "duplicate of bon.pdf",
}


def test_bad_files_are_skipped_with_reasons(tmp_path):
    corpus = _bad_corpus(tmp_path)
    report = build_index(corpus, tmp_path / "index", HashEmbedder())
    reasons = {s.path: s.reason for s in report.skipped}
    assert set(reasons) == set(EXPECTED_SKIPS)
    for path, expected in EXPECTED_SKIPS.items():
        assert expected in reasons[path], (path, reasons[path])
    indexed = sorted(d.path for d in load_index(tmp_path / "index").documents)
    assert indexed == ["2019/sous-dossier.pdf", "bon.pdf", "proprietaire-seulement.pdf"]


def test_skips_are_remembered_and_listed_in_the_manifest(tmp_path):
    corpus = _bad_corpus(tmp_path)
    index = tmp_path / "index"
    build_index(corpus, index, HashEmbedder())
    again = build_index(corpus, index, HashEmbedder())
    assert not again.written
    assert {s.path for s in again.skipped} == set(EXPECTED_SKIPS)
    manifest = json.loads((index / (index / "CURRENT").read_text().strip() / "manifest.json").read_text())
    assert {s["path"] for s in manifest["skipped"]} == set(EXPECTED_SKIPS)


def test_fixed_file_is_indexed_on_next_build(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "rapport.pdf").write_bytes(b"")
    index = tmp_path / "index"
    first = build_index(corpus, index, HashEmbedder())
    assert [s.path for s in first.skipped] == ["rapport.pdf"] and first.documents == 0
    small_pdf(corpus / "rapport.pdf")
    second = build_index(corpus, index, HashEmbedder())
    assert second.skipped == () and second.added == ("rapport.pdf",)


def test_demo_files_are_not_all_same_type(demo_hash_index):
    types = {d.path: d.doc_type for d in load_index(demo_hash_index).documents}
    assert types["communagir-portfolio-municipal-2024.pdf"] == "portfolio"
    assert types["fiche-atelier-cadres-strategiques-municipaux.pdf"] == "fiche"


def test_demo_corpus_is_bundled():
    assert DEMO_FILES == sorted([
        "chantiers-partenariaux-coconstruction-2017.pdf", "communagir-cadre-de-reference.pdf",
        "communagir-portfolio-municipal-2024.pdf", "fiche-atelier-cadres-strategiques-municipaux.pdf",
        "roles-acteurs-developpement-communautes-2015.pdf"])
    assert all((DEMO_CORPUS / f).stat().st_size > 10_000 for f in DEMO_FILES)


def test_unexpected_error_in_one_file_skips_only_that_file(tmp_path, monkeypatch):
    import kb.document as kbuild

    corpus = tmp_path / "corpus"
    small_pdf(corpus / "a.pdf", "gouvernance")
    small_pdf(corpus / "b.pdf", "participation")
    real = kbuild.chunk_blocks

    def flaky(blocks, *args, **kwargs):
        if any(b.text == "Rapport sur participation" for b in blocks):
            raise ZeroDivisionError("division by zero")
        return real(blocks, *args, **kwargs)

    monkeypatch.setattr(kbuild, "chunk_blocks", flaky)
    report = build_index(corpus, tmp_path / "index", HashEmbedder(), BuildOptions(limits=ReadLimits(workers=-1)))
    assert [d for d in report.added] == ["a.pdf"]
    assert [(s.path, s.reason) for s in report.skipped] == [
        ("b.pdf", "unexpected error while reading: ZeroDivisionError: division by zero")]


def test_characters_outside_the_bmp_are_read_whole_and_do_not_stop_the_build(tmp_path, fake_embedder):
    """PDFium counts 𝑥 (U+1D465) as two UTF-16 units; they must become one character, never lone surrogates."""
    from fpdf import FPDF

    from pdfs import FONT_DIR, FRENCH

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_font("S", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("M", "", str(FONT_DIR / "DejaVuMathTeXGyre.ttf"))
    pdf.add_page()
    pdf.set_font("S", "", 11)
    y = 80
    for line in FRENCH * 3:
        pdf.text(72, y, line)
        y += 14
    pdf.set_font("M", "", 11)
    pdf.text(72, y + 10, "𝑓(𝑥) = 𝑎 + 𝑏")
    pdf.output(str(corpus / "formules.pdf"))
    small_pdf(corpus / "autre.pdf", "participation")

    report = build_index(corpus, tmp_path / "index", fake_embedder)
    assert report.skipped == () and report.documents == 2
    text = "\n".join(c.text for c in load_index(tmp_path / "index").chunks)
    assert "𝑓(𝑥) = 𝑎 + 𝑏" in text
    text.encode("utf-8")  # no lone surrogate anywhere
    assert "\x00" not in text


def _priority_in_thread(fn) -> tuple[int, int]:
    """(niceness before, after) of a fresh thread that calls ``fn``."""
    import threading

    out = []

    def run():
        tid = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, tid)
        fn()
        out.append((before, os.getpriority(os.PRIO_PROCESS, tid)))

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out[0]


def test_a_build_thread_lowers_its_own_priority_only(monkeypatch):
    from kb.build import lower_build_priority

    monkeypatch.setenv("KB_BUILD_NICE", "4")
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    before, after = _priority_in_thread(lower_build_priority)
    assert after == min(19, before + 4)
    assert os.getpriority(os.PRIO_PROCESS, 0) == mine  # the calling (serving) thread keeps its priority
    monkeypatch.setenv("KB_BUILD_NICE", "0")
    before, after = _priority_in_thread(lower_build_priority)
    assert after == before


def test_embeddings_are_saved_in_batches_and_when_a_build_stops(tmp_path):
    """Model calls of ``batch_size`` texts, saved every ``save_every``; what was embedded before an
    error is saved too, so the next build embeds only the rest."""
    corpus = tmp_path / "corpus"
    for t in ("participation", "culture", "immigration", "gouvernance", "logement", "transport", "emploi"):
        small_pdf(corpus / f"{t}.pdf", t)

    class Stops(HashEmbedder):
        calls = 0

        def embed(self, texts, query=False):
            if not query:
                Stops.calls += 1
                if Stops.calls == 6:
                    raise KeyboardInterrupt
            return super().embed(texts, query)

    with pytest.raises(KeyboardInterrupt):
        build_index(corpus, tmp_path / "index", Stops(), BuildOptions(batch_size=1, save_every=2))
    saved = sorted((tmp_path / "index" / "embeddings").rglob("*.npy"))
    assert [np.load(f).shape[0] for f in saved] == [2, 2, 1]  # every 2 texts, then the one before the stop
    report = build_index(corpus, tmp_path / "index", HashEmbedder(), BuildOptions(batch_size=1, save_every=2))
    assert report.written and report.embedded == report.chunks + report.mandates - 5


def test_a_model_returning_the_wrong_number_of_vectors_stops_the_build_clearly(tmp_path):
    from kb.errors import KbError

    small_pdf(tmp_path / "corpus" / "a.pdf", "gouvernance")

    class Short(HashEmbedder):
        def embed(self, texts, query=False):
            return super().embed(texts, query)[:-1]

    with pytest.raises(KbError, match="vecteurs"):
        build_index(tmp_path / "corpus", tmp_path / "index", Short(), BuildOptions(batch_size=2))


def test_a_full_rebuild_reports_its_changes_against_the_live_index(tmp_path):
    """« Tout reconstruire » re-reads every file but does not call them all « ajoutés »."""
    corpus = tmp_path / "corpus"
    for t in ("gouvernance", "participation"):
        small_pdf(corpus / f"{t}.pdf", t)
    build_index(corpus, tmp_path / "index", HashEmbedder())
    (corpus / "participation.pdf").unlink()
    small_pdf(corpus / "culture.pdf", "culture")
    report = build_index(corpus, tmp_path / "index", HashEmbedder(), BuildOptions(full=True))
    assert report.added == ("culture.pdf",) and report.removed == ("participation.pdf",)
    assert report.unchanged == 1 and not report.updated
