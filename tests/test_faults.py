"""Fault injection, in the spirit of SQLite's I/O-error tests.

For every file of the index folder and every kind of damage, and for every kind
of bad corpus file, the command line must answer with one clear sentence and
its documented exit code (never a traceback), and `kb build` must bring back a
healthy index, re-embedding only what was damaged. A fuzz over CLI arguments
and over mutated PDF bytes closes the suite.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DEMO_CORPUS, CountingEmbedder
from kb.build import BuildOptions, build_index
from kb.chunk import ChunkSettings
from kb.cli import main
from kb.errors import ExtractionError
from kb.store import build_lock, load_index
from kb.workers import Job, ReadLimits, read_all
from pdfs import Heading, encrypt_pdf, make_pdf, prose, write_pdf
from test_mandates import other_portfolio

DAMAGES = ("missing", "empty", "truncated", "same-size garbage", "garbage")
READERS = (["search", "gouvernance"], ["mandates", "--list"], ["mandates", "politique familiale"], ["chunks"])


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    rng = random.Random(f"{path.name}{how}")
    if how == "missing":
        path.unlink()
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "same-size garbage":
        path.write_bytes(bytes(rng.randrange(256) for _ in range(len(data))))
    else:
        path.write_bytes(bytes(rng.randrange(256) for _ in range(len(data) + 17)))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A small corpus (prose + a portfolio) and its index, built once; each case works on a copy."""
    root = tmp_path_factory.mktemp("faults")
    corpus = root / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "rapport.pdf", [[Heading("Rapport sur la gouvernance"), prose("gouvernance", 6),
                                       prose("gouvernance locale", 5)]])
    other_portfolio(corpus / "realisations.pdf")
    build_index(corpus, root / "index", CountingEmbedder())
    return root


@pytest.fixture
def copy(pristine, tmp_path, monkeypatch):
    shutil.copytree(pristine / "corpus", tmp_path / "corpus")
    shutil.copytree(pristine / "index", tmp_path / "index")
    monkeypatch.setenv("KB_CORPUS", str(tmp_path / "corpus"))
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "index"))
    return tmp_path


def _index_files(root: Path) -> list[str]:
    index = root / "index"
    version = index / (index / "CURRENT").read_text().strip()
    return ["CURRENT"] + sorted(p.relative_to(version).as_posix() for p in version.rglob("*") if p.is_file())


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))  # a traceback would surface here as an exception and fail the case
    out, err = capsys.readouterr()
    return code, out, err


def _cases():
    import tempfile

    # The file list is the same for every build of the fixture corpus: list it from a throwaway build.
    root = Path(tempfile.mkdtemp(prefix="kb-fault-list-"))
    (root / "corpus").mkdir()
    make_pdf(root / "corpus" / "rapport.pdf", [[Heading("Rapport"), prose("gouvernance", 6)]])
    other_portfolio(root / "corpus" / "realisations.pdf")
    build_index(root / "corpus", root / "index", CountingEmbedder(), BuildOptions(limits=ReadLimits(workers=-1)))
    files = _index_files(root)
    shutil.rmtree(root, ignore_errors=True)
    return [(f, how) for f in files for how in DAMAGES]


CASES = _cases()


@pytest.mark.parametrize("name,how", CASES, ids=[f"{f}:{h}" for f, h in CASES])
def test_damaged_index_file(capsys, copy, name, how):
    index = copy / "index"
    version_name = (index / "CURRENT").read_text().strip()
    target = index / name if name == "CURRENT" else index / version_name / name
    _damage(target, how)

    # Readers: the answer is an answer or one sentence on stderr with exit code 1.
    for args in READERS:
        code, out, err = _cli(capsys, *args)
        assert code in (0, 1), (args, code)
        if code == 1:
            assert err.startswith("kb: ") and err.count("\n") == 1 and "kb build" in err, (args, err)
    assert _cli(capsys, "check")[0] == 1

    # Repair: a plain `kb build` brings back a healthy index without re-embedding intact vectors.
    embedder = CountingEmbedder()
    report = build_index(copy / "corpus", index, embedder)
    assert report.written and not report.skipped
    assert _cli(capsys, "check")[0] == 0
    assert _cli(capsys, "search", "gouvernance", "--k", "1")[0] == 0
    vectors_damaged = name in ("vectors.npy", "chunks.jsonl", "mandate_vectors.npy", "mandates.jsonl",
                               "manifest.json", "CURRENT")
    if not vectors_damaged:
        assert embedder.calls == [], f"{name} ({how}) re-embedded {len(embedder.calls)} texts"


def test_status_reads_only_the_manifest_and_check_sees_the_rest(capsys, copy):
    version = copy / "index" / (copy / "index" / "CURRENT").read_text().strip()
    _damage(version / "lexical" / "vocab.index.json", "same-size garbage")
    assert _cli(capsys, "status")[0] == 0
    code, out, _ = _cli(capsys, "check")
    assert code == 1 and "endommagé" in out
    code, _, err = _cli(capsys, "build")
    assert code == 0
    assert _cli(capsys, "check")[0] == 0


def test_a_locked_build_is_one_sentence(capsys, copy):
    with build_lock(copy / "index"):
        code, _, err = _cli(capsys, "build")
    assert code == 1 and "déjà en cours" in err


# -- bad corpus files ------------------------------------------------------------------------------

def _bomb(path: Path, inflated_mb: int) -> Path:
    """A one-page PDF whose content stream inflates to ``inflated_mb`` MB (a decompression bomb)."""
    comp = zlib.compressobj(1)
    body = comp.compress(b"BT /F1 12 Tf 72 720 Td (Rapport) Tj ET\n")
    block = b" " * (1 << 20)
    body += b"".join(comp.compress(block) for _ in range(inflated_mb)) + comp.flush()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    return write_pdf(path, objs)


def _bad_files(corpus: Path) -> dict[str, str]:
    """Make one bad file of each kind in ``corpus``; return {name: a word its skip reason must hold}."""
    good = (corpus / "rapport.pdf").read_bytes()
    (corpus / "vide.pdf").write_bytes(b"")
    (corpus / "coupe.pdf").write_bytes(good[: len(good) // 2])
    (corpus / "texte.pdf").write_bytes(b"Bonjour, ceci n'est pas un PDF.\n" * 20)
    (corpus / "bruit.pdf").write_bytes(b"%PDF-1.4\n" + os.urandom(5000) + b"\n%%EOF\n")
    encrypt_pdf(corpus / "rapport.pdf", corpus / "chiffre.pdf", user_password="secret")
    (corpus / "lien-casse.pdf").symlink_to(corpus / "nulle-part.pdf")
    os.mkfifo(corpus / "tube.pdf")
    (corpus / "dossier.pdf").mkdir()
    (corpus / "dossier.pdf" / "rien.txt").write_text("x")
    return {"vide.pdf": "empty", "coupe.pdf": "truncated", "texte.pdf": "not a PDF", "bruit.pdf": "corrupt",
            "chiffre.pdf": "encrypted", "lien-casse.pdf": "broken link", "tube.pdf": "not a regular file"}


def test_every_kind_of_bad_corpus_file_is_skipped_with_its_reason(capsys, copy):
    corpus = copy / "corpus"
    expected = _bad_files(corpus)
    before = load_index(copy / "index").version
    code, out, err = _cli(capsys, "build", "--json")
    assert code == 0, err
    reasons = {s["path"]: s["reason"] for s in json.loads(out)["skipped"]}
    for name, word in expected.items():
        assert word in reasons.get(name, ""), (name, reasons.get(name))
    index = load_index(copy / "index")
    assert index.version != before and {d.path for d in index.documents} == {"rapport.pdf", "realisations.pdf"}
    assert _cli(capsys, "build", "--strict")[0] == 3


def test_unreadable_corpus_file(tmp_path):
    """An upload saved 0600 by another user: that file is skipped with its reason, the rest indexed.

    The build runs in a real process without the right to override file permissions (root keeps
    it otherwise: ``setpriv`` drops it), over a file owned by another user.
    """
    import subprocess
    import sys

    if os.getuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to take the file-permission override away")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DEMO_CORPUS / "fiche-atelier-cadres-strategiques-municipaux.pdf", corpus / "fiche.pdf")
    shutil.copy(DEMO_CORPUS / "communagir-cadre-de-reference.pdf", corpus / "prive.pdf")
    os.chown(corpus / "prive.pdf", 65534, 65534)
    os.chmod(corpus / "prive.pdf", 0o600)
    drop = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search", "--"]
    run = subprocess.run(drop + [sys.executable, "-m", "kb.cli", "build", "--corpus", str(corpus),
                                 "--index", str(tmp_path / "index"), "--model", "hash"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "prive.pdf : illisible : permission refusée" in run.stdout
    assert "1 documents" in run.stdout


def test_decompression_bomb_is_bounded_and_skipped_with_its_true_reason(tmp_path):
    bomb = _bomb(tmp_path / "bombe.pdf", 400)
    assert bomb.stat().st_size < 2_000_000
    [(job, outcome)] = list(read_all([Job(bomb, "bombe.pdf", "0" * 64)], ChunkSettings(),
                                     ReadLimits(memory_mb=200)))
    assert isinstance(outcome, ExtractionError)
    assert outcome.reason.startswith("too large") and "needs OCR" not in outcome.reason


def test_a_document_over_the_time_bound_is_skipped_and_the_rest_read(tmp_path):
    jobs = [Job(DEMO_CORPUS / n, n, "0" * 64) for n in ("communagir-cadre-de-reference.pdf",)]
    [(job, outcome)] = list(read_all(jobs, ChunkSettings(), ReadLimits(timeout_s=0.001)))
    assert isinstance(outcome, ExtractionError) and outcome.reason.startswith("too slow")
    [(job, outcome)] = list(read_all(jobs, ChunkSettings(), ReadLimits(timeout_s=60)))
    assert not isinstance(outcome, ExtractionError)


# -- fuzz ------------------------------------------------------------------------------------------

_ARGS = st.lists(st.sampled_from(["build", "search", "mandates", "eval", "status", "check", "chunks", "--k", "0",
                                  "-1", "3", "x", "--json", "--like", "--list", "--doc", "--year", "abc", "2015",
                                  "--lang", "--type", "--full", "--strict", "--mode", "dense", "", "le la",
                                  "gouvernance", "\udcff", "--model", "nope", "--index"]), max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=_ARGS)
def test_fuzz_cli_arguments(copy, capsys, args):
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's usage errors and --help
        assert exc.code in (0, 2)
    else:
        assert code in (0, 1, 3)
    capsys.readouterr()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**9))
def test_fuzz_mutated_pdf_bytes_never_escape_the_reader(tmp_path_factory, seed):
    rng = random.Random(seed)
    data = bytearray((DEMO_CORPUS / "fiche-atelier-cadres-strategiques-municipaux.pdf").read_bytes())
    for _ in range(rng.randint(1, 40)):
        i = rng.randrange(len(data))
        data[i:i + rng.randint(1, 64)] = os.urandom(rng.randint(0, 64))
    path = tmp_path_factory.mktemp("fuzz") / "mute.pdf"
    path.write_bytes(bytes(data))
    [(job, outcome)] = list(read_all([Job(path, "mute.pdf", "0" * 64)], ChunkSettings(), ReadLimits(timeout_s=60)))
    assert outcome is not None and (not isinstance(outcome, ExtractionError) or outcome.reason)
