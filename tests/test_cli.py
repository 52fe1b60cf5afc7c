"""The `kb` command line: JSON contracts, exit codes, one-sentence errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb.cli import main
from pdfs import Heading, make_pdf, prose

CHUNK_KEYS = {"chunk_id", "doc_id", "path", "title", "page", "page_end", "section", "lang", "text"}
BUILD_KEYS = {"documents", "chunks", "added", "updated", "removed", "unchanged", "skipped", "seconds", "model"}


@pytest.fixture
def corpus(tmp_path) -> Path:
    c = tmp_path / "corpus"
    c.mkdir()
    for topic in ("gouvernance", "participation"):
        make_pdf(c / f"{topic}.pdf", [[Heading(f"Note sur la {topic}"), prose(topic, 6)]], title=f"Note {topic}")
    (c / "vide.pdf").write_bytes(b"")
    return c


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_build_json_contract(capsys, corpus):
    code, out, err = run(capsys, "build", "--json")
    assert code == 0
    report = json.loads(out)
    assert BUILD_KEYS <= set(report)
    assert report["documents"] == 2 and report["model"] == "hash-256"
    assert report["added"] == ["gouvernance.pdf", "participation.pdf"]
    assert report["skipped"] == [{"path": "vide.pdf", "reason": "empty file"}]
    assert isinstance(report["seconds"], float)


def test_build_human_output_lists_skips(capsys, corpus):
    code, out, _ = run(capsys, "build")
    assert code == 0
    assert "2 documents" in out and "vide.pdf : fichier vide" in out


def test_build_strict_fails_on_skips(capsys, corpus):
    code, _, _ = run(capsys, "build", "--strict")
    assert code == 3
    (corpus / "vide.pdf").unlink()
    code, _, _ = run(capsys, "build", "--strict")
    assert code == 0


def test_corpus_and_index_options_override_environment(capsys, corpus, tmp_path):
    other = tmp_path / "autre-index"
    code, out, _ = run(capsys, "build", "--corpus", str(corpus), "--index", str(other), "--json")
    assert code == 0 and (other / "CURRENT").is_file()
    assert not (tmp_path / "index").exists()


def test_status_json(capsys, corpus):
    run(capsys, "build")
    code, out, _ = run(capsys, "status", "--json")
    status = json.loads(out)
    assert code == 0
    assert status["documents"] == 2 and status["model"] == "hash-256" and status["index_type"] == "flat"
    assert status["skipped"] == [{"path": "vide.pdf", "reason": "empty file"}]
    assert status["built_at"].endswith("Z")
    code, out, _ = run(capsys, "status")
    assert "vide.pdf : fichier vide" in out and "antérieure" not in out


def test_status_says_when_the_index_was_read_by_an_older_pipeline(capsys, corpus, tmp_path):
    """An index built before the PDF reading changed: `kb status` (and the Index page) say a rebuild re-reads."""
    from kb.document import PIPELINE_VERSION
    from kb.store import current_version

    run(capsys, "build")
    manifest = current_version(tmp_path / "index") / "manifest.json"
    data = json.loads(manifest.read_text())
    assert data["pipeline"]["version"] == PIPELINE_VERSION
    data["pipeline"]["version"] = PIPELINE_VERSION - 1
    manifest.write_text(json.dumps(data))
    code, out, _ = run(capsys, "status")
    assert code == 0 and f"version {PIPELINE_VERSION - 1}, antérieure à l'actuelle ({PIPELINE_VERSION})" in out


def test_chunks_json_lines(capsys, corpus):
    run(capsys, "build")
    code, out, _ = run(capsys, "chunks", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) >= 2
    for row in rows:
        assert set(row) == CHUNK_KEYS
        assert row["path"] in ("gouvernance.pdf", "participation.pdf")
        assert row["page"] == 1 and row["lang"] == "fr"
    code, out, _ = run(capsys, "chunks")
    assert "gouvernance.pdf, p. 1" in out


@pytest.mark.parametrize("argv,message", [
    (["status"], "aucun index dans"),
    (["chunks"], "aucun index dans"),
    (["build", "--corpus", "/nonexistent/corpus"], "dossier du corpus introuvable"),
    (["build", "--model", "word2vec"], "modèle inconnu"),
    (["build", "--model", "st:/nonexistent/model"], "introuvable"),
    (["eval", "/"], "est un dossier"),
    (["eval", "/nonexistent/qrels.jsonl"], "fichier de jugements introuvable"),
])
def test_errors_are_one_sentence(capsys, corpus, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_judgments_file_that_is_not_text_is_one_sentence(capsys, corpus, tmp_path):
    bad = tmp_path / "jugements.jsonl"
    bad.write_bytes(b"\xff\xfe{ pas du texte }")
    code, _, err = run(capsys, "eval", str(bad))
    assert code == 1 and "n'est pas au format JSON lines" in err and len(err.strip().splitlines()) == 1


def test_corrupt_index_is_one_sentence(capsys, corpus, tmp_path):
    run(capsys, "build")
    index = tmp_path / "index"
    version = index / (index / "CURRENT").read_text().strip()
    (version / "chunks.jsonl").write_text("{not json\n")
    code, _, err = run(capsys, "chunks")
    assert code == 1 and "endommagé" in err and "kb build" in err
    code, _, _ = run(capsys, "status")  # status reads only the manifest, still fine
    assert code == 0
    (version / "manifest.json").write_text("garbage")
    code, _, err = run(capsys, "status")
    assert code == 1 and "kb build" in err
    (index / "CURRENT").write_text("v-missing\n")
    code, _, err = run(capsys, "chunks")
    assert code == 1 and "endommagé" in err and "Traceback" not in err


def test_a_corrupt_index_is_rebuilt_by_build(capsys, corpus, tmp_path):
    run(capsys, "build")
    (tmp_path / "index" / "CURRENT").write_text("v-missing\n")
    code, out, _ = run(capsys, "build", "--json")
    report = json.loads(out)
    assert code == 0 and report["documents"] == 2
    assert any("endommagé" in n for n in report["notes"])


def test_console_script_runs(corpus, tmp_path):
    """The installed `kb` entry point (not only `main`) works end to end."""
    env = {**os.environ, "KB_EMBEDDER": "hash"}
    exe = Path(sys.executable).with_name("kb")
    proc = subprocess.run([str(exe), "build", "--json"], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["documents"] == 2


def test_demo_kb_chunks_are_clean(capsys, demo_hash_index):
    """What `kb chunks` prints for the demo corpus: no glued words, hyphen leftovers or running headers."""
    import re

    assert main(["chunks", "--json", "--index", str(demo_hash_index)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["path"] for r in rows} == {
        "chantiers-partenariaux-coconstruction-2017.pdf", "communagir-cadre-de-reference.pdf",
        "communagir-portfolio-municipal-2024.pdf", "fiche-atelier-cadres-strategiques-municipaux.pdf",
        "roles-acteurs-developpement-communautes-2015.pdf"}
    text = "\n".join(r["text"] for r in rows)
    glued = [w for w in re.findall(r"[^\W\d_]{23,}", text)]
    assert glued == []
    assert "\ufffe" not in text and "ﬁ" not in text and "ﬂ" not in text
    leftovers = [m for m in re.findall(r"[^\W\d_]+- [a-zà-ÿ]+", text) if m != "Activités- services"]
    assert leftovers == []
    assert "Communagir Portfolio — Accompagnements" not in text  # the portfolio's running header
    assert not re.search(r"(?m)^\d{1,2}$", text)  # page numbers
    for r in rows:
        assert r["page"] <= r["page_end"] and r["lang"] == "fr"


def test_build_keeps_the_index_model_unless_asked(capsys, corpus, monkeypatch):
    assert main(["build", "--model", "hash:64", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "hash-64"
    monkeypatch.delenv("KB_EMBEDDER")
    (corpus / "vide.pdf").unlink()
    assert main(["build", "--json"]) == 0  # no --model, no KB_EMBEDDER: the index's model
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "hash-64" and report["embedded"] == 0
