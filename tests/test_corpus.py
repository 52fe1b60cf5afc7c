"""kb.corpus: uploads are checked and exclusive (no file ever lost), retired PDFs are moved aside."""
from __future__ import annotations

import errno
import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from conftest import DEMO_CORPUS
from kb import corpus as kb_corpus
from kb.build import build_index
from kb.corpus import RETIRED, add_pdfs, corpus_pdfs, retire_pdf
from kb.embed import HashEmbedder
from kb.errors import KbError
from pdfs import Heading, encrypt_pdf, image_only_pdf, make_pdf, prose

CADRE = (DEMO_CORPUS / "communagir-cadre-de-reference.pdf").read_bytes()


def variant(i: int) -> bytes:
    """A valid PDF whose bytes differ for each ``i`` (a comment after the end marker is still a PDF)."""
    return CADRE + f"\n% upload {i}\n%%EOF\n".encode()


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_added_renamed_unchanged_replaced(tmp_path):
    out = add_pdfs(tmp_path, [("../../évil.pdf", CADRE), ("notes.txt", b"hello"), ("autre", variant(1))])
    assert [(a.path, a.status, a.reason) for a in out] == [
        ("évil.pdf", "added", ""), ("", "refused", "not a PDF (no %PDF header)"), ("autre.pdf", "added", "")]
    again = add_pdfs(tmp_path, [("évil.pdf", CADRE), ("évil.pdf", variant(2))])
    assert [(a.path, a.status) for a in again] == [("évil.pdf", "unchanged"), ("évil (2).pdf", "renamed")]
    replaced = add_pdfs(tmp_path, [("évil.pdf", variant(3))], replace=True)
    assert [(a.path, a.status) for a in replaced] == [("évil.pdf", "replaced")]
    assert files(tmp_path) == {"évil.pdf": variant(3), "évil (2).pdf": variant(2), "autre.pdf": variant(1)}


def test_broken_uploads_are_refused_with_the_build_reason(tmp_path):
    corpus = tmp_path / "corpus"
    note = make_pdf(tmp_path / "note.pdf", [[Heading("Note"), prose("gouvernance", 4)]])
    locked = encrypt_pdf(note, tmp_path / "locked.pdf", user_password="secret").read_bytes()
    add_pdfs(corpus, [("note.pdf", note.read_bytes())])
    data = note.read_bytes()
    out = add_pdfs(corpus, [("vide.pdf", b""), ("texte.pdf", b"bonjour"), ("coupe.pdf", data[: len(data) // 2]),
                            ("verrou.pdf", locked), ("abime.pdf", b"%PDF-1.7\n garbage \n%%EOF\n"),
                            ("copie.pdf", data), ("copie-remplace.pdf", data)], replace=True)
    assert [(a.status, a.reason) for a in out] == [
        ("refused", "empty file"), ("refused", "not a PDF (no %PDF header)"),
        ("refused", "truncated PDF (no end-of-file marker)"), ("refused", "encrypted: needs a password to open"),
        ("refused", "corrupt PDF: PDFium cannot parse it"), ("refused", "duplicate of note.pdf"),
        ("refused", "duplicate of note.pdf")]
    assert sorted(os.listdir(corpus)) == ["note.pdf"]  # nothing written, no temporary file left


def test_scanned_and_owner_password_pdfs_are_accepted(tmp_path):
    scan = image_only_pdf(tmp_path / "scan.pdf").read_bytes()
    note = make_pdf(tmp_path / "note.pdf", [[Heading("Note"), prose("gouvernance", 4)]])
    owner_only = encrypt_pdf(note, tmp_path / "owner.pdf").read_bytes()
    out = add_pdfs(tmp_path / "corpus", [("scan.pdf", scan), ("restreint.pdf", owner_only)])
    assert [a.status for a in out] == ["added", "added"]


def test_a_duplicate_in_a_sub_folder_is_found_but_not_one_retired(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "sous").mkdir(parents=True)
    (corpus / "sous" / "cadre.pdf").write_bytes(CADRE)
    assert add_pdfs(corpus, [("copie.pdf", CADRE)])[0].reason == "duplicate of sous/cadre.pdf"
    retire_pdf(corpus, "sous/cadre.pdf")
    assert add_pdfs(corpus, [("copie.pdf", CADRE)])[0].status == "added"


def _upload_many(corpus: Path, name: str, datas: list[bytes], barrier, check) -> list[str]:
    paths = []
    for data in datas:
        barrier.wait()
        (a,) = add_pdfs(corpus, [(name, data)], check=check)
        assert a.status in ("added", "renamed"), a
        paths.append(a.path)
    return paths


def test_concurrent_uploads_of_one_name_lose_nothing(tmp_path):
    """8 threads upload « meme.pdf » 25 times each, all at once: 200 files, each content once."""
    corpus, threads, rounds = tmp_path / "corpus", 8, 25
    corpus.mkdir()
    datas = {t: [variant(t * 1000 + r) for r in range(rounds)] for t in range(threads)}
    barrier, results = threading.Barrier(threads), {}

    def work(t: int) -> None:
        results[t] = _upload_many(corpus, "meme.pdf", datas[t], barrier, check=lambda path: None)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert len(results) == threads
    stored = files(corpus)
    assert len(stored) == threads * rounds == len({p for paths in results.values() for p in paths})
    assert sorted(stored.values()) == sorted(d for ds in datas.values() for d in ds)
    assert "meme.pdf" in stored and f"meme ({threads * rounds}).pdf" in stored


def _process_upload(args: tuple[str, int]) -> str:
    corpus, i = args
    return add_pdfs(corpus, [("meme.pdf", variant(i))])[0].path  # the real check (PDFium) in each process


def test_concurrent_uploads_from_processes_with_the_real_check(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with multiprocessing.get_context("forkserver").Pool(4) as pool:
        paths = pool.map(_process_upload, [(str(corpus), i) for i in range(16)], chunksize=1)
    stored = files(corpus)
    assert len(set(paths)) == 16 and set(paths) == set(stored)
    assert sorted(stored.values()) == sorted(variant(i) for i in range(16))


def test_file_systems_without_hard_links_still_never_overwrite(tmp_path, monkeypatch):
    def no_link(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(kb_corpus.os, "link", no_link)
    out = add_pdfs(tmp_path, [("a.pdf", variant(1)), ("a.pdf", variant(2))])
    assert [(a.path, a.status) for a in out] == [("a.pdf", "added"), ("a (2).pdf", "renamed")]
    assert files(tmp_path) == {"a.pdf": variant(1), "a (2).pdf": variant(2)}


def test_retire_moves_into_the_hidden_folder_never_overwriting(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "sous").mkdir(parents=True)
    (corpus / "cadre.pdf").write_bytes(variant(1))
    (corpus / "sous" / "cadre.pdf").write_bytes(variant(2))
    assert retire_pdf(corpus, "cadre.pdf") == f"{RETIRED}/cadre.pdf"
    assert retire_pdf(corpus, "sous/cadre.pdf") == f"{RETIRED}/cadre (2).pdf"
    assert corpus_pdfs(corpus) == []  # the list the build reads
    assert build_index(corpus, tmp_path / "index", HashEmbedder()).documents == 0  # the build does not see them
    assert (corpus / RETIRED / "cadre.pdf").read_bytes() == variant(1)
    assert (corpus / RETIRED / "cadre (2).pdf").read_bytes() == variant(2)


@pytest.mark.parametrize("rel", ["absent.pdf", "../dehors.pdf", f"{RETIRED}/cadre.pdf", "notes.txt", ""])
def test_retire_only_a_pdf_of_the_corpus(tmp_path, rel):
    corpus = tmp_path / "corpus"
    (corpus / RETIRED).mkdir(parents=True)
    (corpus / RETIRED / "cadre.pdf").write_bytes(CADRE)
    (corpus / "notes.txt").write_text("x")
    (tmp_path / "dehors.pdf").write_bytes(CADRE)
    with pytest.raises(KbError):
        retire_pdf(corpus, rel)
    assert (tmp_path / "dehors.pdf").exists() and (corpus / RETIRED / "cadre.pdf").exists()


def test_retired_document_leaves_the_index(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "a.pdf", [[Heading("Gouvernance"), prose("gouvernance", 6)]], title="A")
    make_pdf(corpus / "b.pdf", [[Heading("Immigration"), prose("immigration", 6)]], title="B")
    build_index(corpus, tmp_path / "index", HashEmbedder())
    retire_pdf(corpus, "b.pdf")
    report = build_index(corpus, tmp_path / "index", HashEmbedder())
    assert report.removed == ("b.pdf",) and report.documents == 1 and not report.skipped
