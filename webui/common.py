"""Glue shared by the pages: cached loaders and the build runner (no retrieval logic here).

A build runs in a background thread, one at a time per process and index: the
page that started it follows its progress, and so does any other session that
opens a page meanwhile. Leaving the page does not stop it.
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from kb.build import BuildOptions, BuildReport, build_embedder_spec, build_index, lower_build_priority
from kb.config import corpus_dir, index_dir
from kb.embed import Embedder, load_embedder
from kb.errors import (BuildLockedError, CorpusMissingError, IndexCorruptError, IndexFormatError, IndexMissingError,
                       KbError)
from kb.feedback import record
from kb.ocr import cached_copy
from kb.preview import render_page
from kb.session import KnowledgeBase, fitted_fusion
from kb.store import current_version, load_index, ocr_cache_dir, read_tuning
from webui import fr

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner="Chargement du modèle…")
def embedder(spec: str | None) -> Embedder:
    """One embedder per model and process."""
    return load_embedder(spec)


@st.cache_resource(show_spinner="Chargement de l’index…", max_entries=2)
def _knowledge_base(index_path: str, version: str, tuning: str) -> KnowledgeBase:  # noqa: ARG001 (cache keys)
    index = load_index(index_path)
    kb = KnowledgeBase(index, embedder(index.embedder_spec), fitted_fusion(index_path))
    kb.warm_up()
    return kb


def knowledge_base(stop_when_damaged: bool = True) -> KnowledgeBase | None:
    """The knowledge base over the live index version; a rebuild elsewhere is picked up on the next run.

    A damaged index (or one of an earlier format) stops the page with one French
    sentence and the way to repair it; with ``stop_when_damaged=False`` (the Index
    page, which is that way) it is simply None.
    """
    try:
        version = current_version(index_dir()).name
        tuning = repr(read_tuning(index_dir()))  # weights applied by `kb tune --apply` are picked up at once
        return _knowledge_base(str(Path(index_dir()).resolve()), version, tuning)
    except IndexMissingError:
        return None
    except IndexCorruptError as exc:
        if stop_when_damaged:
            damaged(exc)
        return None


def damaged(exc: IndexCorruptError) -> None:
    """Stop the page with the French sentence for a damaged index, or one of an earlier format."""
    if isinstance(exc, IndexFormatError):
        st.error("L’index a été construit par une version précédente de kb : il faut le reconstruire une fois. "
                 "La reconstruction réutilise les vecteurs déjà calculés.")
    else:
        st.error("L’index est endommagé (un de ses fichiers manque ou a été modifié) : il faut le reconstruire. "
                 "La reconstruction réutilise tout ce qui est intact.")
    st.page_link("webui/maintenance.py", label="Aller à la page « Index » pour le reconstruire")
    st.stop()


def page_source(kb: KnowledgeBase, chunk) -> Path:
    """The PDF to show a passage's page from: the OCR'd copy for a scanned page, else the corpus file."""
    doc = next((d for d in kb.index.documents if d.doc_id == chunk.doc_id), None)
    if doc is not None and doc.ocr_pages:
        copy = cached_copy(ocr_cache_dir(index_dir()), doc.sha256)
        if copy is not None:
            return copy
    return pdf_path(chunk.path)


def mark(query: str, useful: bool, chunk=None, mandate=None) -> None:
    """Keep a practitioner's « utile / pas utile » with the index (a button's callback)."""
    record(index_dir(), query, useful, chunk=chunk, mandate=mandate)
    st.toast("Merci : votre avis est enregistré." if useful else "Merci : nous en tiendrons compte.")


@st.cache_data(show_spinner=False, max_entries=64)
def page_png(pdf_path: str, page: int, mark: str) -> bytes:
    return render_page(pdf_path, page, mark)


def pdf_path(rel: str) -> Path:
    return Path(corpus_dir()) / rel


# -- builds ------------------------------------------------------------------------------------------
_STAGES = {"scan": (0.0, 0.05, "Lecture des fichiers"), "extract": (0.05, 0.45, "Extraction du texte"),
           "embed": (0.45, 0.95, "Vectorisation"), "write": (0.95, 1.0, "Écriture de l’index")}


@dataclass(eq=False)
class BuildJob:
    """One build running (or finished) in a background thread."""

    full: bool
    stage: str = ""
    done: int = 0
    total: int = 0
    report: BuildReport | None = None
    error: str = ""
    finished: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def progress(self, stage: str, done: int, total: int) -> None:
        if self.stop.is_set():  # the server is stopping: the build saves its vectors and ends
            raise _ServerStopping()
        self.stage, self.done, self.total = stage, done, total

    def fraction(self) -> tuple[float, str]:
        lo, hi, label = _STAGES.get(self.stage, (0.0, 0.0, "Préparation"))
        frac = lo + (hi - lo) * (self.done / self.total if self.total else 1.0)
        return min(frac, 1.0), f"{label} : {self.done}/{self.total}" if self.total else f"{label}…"


class _ServerStopping(Exception):
    """Raised in a build's progress report when the server stops."""


_RUNNING: set[BuildJob] = set()  # builds to stop cleanly if the server stops


def _stop_builds() -> None:
    """At exit (Ctrl-C or SIGTERM to the server), let each running build save the vectors it has computed.

    Run before the interpreter joins its threads (a build's thread is not a daemon): a daemon
    thread still inside torch when the interpreter finalises aborts the process (« terminate
    called without an active exception »), and a build cut wherever it was lost up to 63 vectors.
    The build stops at its next progress report (the next batch of 4 texts, or the next file).
    """
    for job in list(_RUNNING):
        job.stop.set()
    deadline = time.monotonic() + 60
    for job in list(_RUNNING):
        job.finished.wait(max(0.0, deadline - time.monotonic()))


# Before non-daemon threads are joined (Python ≥ 3.9; else at exit).
getattr(threading, "_register_atexit", atexit.register)(_stop_builds)


class _Builds:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.job: BuildJob | None = None


@st.cache_resource(show_spinner=False)
def _builds(index_path: str) -> _Builds:
    return _Builds()


def _here() -> _Builds:
    return _builds(str(Path(index_dir()).resolve()))


def running_build() -> BuildJob | None:
    """The build running in this process for this index, if any."""
    job = _here().job
    return job if job is not None and not job.finished.is_set() else None


def _failure(exc: Exception) -> str:
    if isinstance(exc, BuildLockedError):
        return "Une reconstruction est déjà en cours (lancée ailleurs, par exemple en ligne de commande)."
    if isinstance(exc, CorpusMissingError):
        return f"Le dossier du corpus n’existe pas : {corpus_dir()}."
    if isinstance(exc, KbError):
        return f"La construction a échoué (détail technique : {exc})."
    return f"La construction a échoué sur une erreur inattendue (détail technique : {type(exc).__name__}: {exc})."


def _run(job: BuildJob, corpus: str, index: str, spec: str) -> None:
    try:
        lower_build_priority()  # this thread only builds: the colleagues' searches get the cores first
        # A model of its own: sharing the searches' instance made every search wait for the build's
        # batch in progress (about 3 s a query, see the README's latency table).
        model = load_embedder(spec)
        job.report = build_index(corpus, index, model, BuildOptions(full=job.full), job.progress)
    except _ServerStopping:
        job.error = "La construction a été arrêtée avec le serveur ; les vecteurs déjà calculés servent à la prochaine."
    except Exception as exc:  # reported to the page, never silent
        if not isinstance(exc, KbError):
            log.exception("build failed")
        job.error = _failure(exc)
    finally:
        _RUNNING.discard(job)
        job.finished.set()


def start_build(full: bool = False) -> BuildJob:
    """Start a build in the background, or return the one already running."""
    builds = _here()
    with builds.lock:
        if builds.job is not None and not builds.job.finished.is_set():
            return builds.job
        spec = build_embedder_spec(index_dir())  # the index's model unless KB_EMBEDDER asks otherwise
        job = BuildJob(full)
        _RUNNING.add(job)  # before it runs, so that it is never left out (the thread removes it when done)
        try:  # not a daemon: at exit it is told to stop (_stop_builds), then joined
            threading.Thread(target=_run, args=(job, corpus_dir(), index_dir(), spec), name="kb-build").start()
        except BaseException:
            _RUNNING.discard(job)
            raise
        builds.job = job
        return job


def follow_build(job: BuildJob) -> BuildJob:
    """Show the job's progress bar until it ends; then its outcome in French."""
    bar = st.progress(0.0, text="Préparation…")
    while not job.finished.wait(0.3):
        frac, text = job.fraction()
        bar.progress(frac, text=text)
    bar.empty()
    if job.error:
        st.error(job.error)
    elif job.report is not None:
        show_build_report(job.report)
    return job


def run_build(full: bool = False) -> BuildReport | None:
    """Build now and follow it on this page; the report, or None on failure.

    A build already running may have scanned the corpus before this page changed it: it is
    followed to its end, then a new one starts.
    """
    current = running_build()
    if current is not None:
        st.info("Une autre construction est en cours ; la vôtre la suivra.")
        follow_build(current)
    return follow_build(start_build(full)).report


def show_build_report(report: BuildReport) -> None:
    state = "Index mis à jour" if report.written else "L’index était déjà à jour"
    st.success(f"{state} : {fr.count(report.documents, 'document')}, {fr.count(report.chunks, 'passage')}, "
               f"{fr.count(report.mandates, 'mandat')} ({fr.number(report.seconds, 1)} s ; "
               f"{fr.count(report.embedded, 'texte vectorisé', 'textes vectorisés')}).")
    lines = [f"{label} : {fr.inert(p)}" for label, paths in
             (("Ajouté", report.added), ("Mis à jour", report.updated), ("Retiré de l’index", report.removed))
             for p in paths]
    if lines:
        st.markdown("<br>".join(lines), unsafe_allow_html=True)
    if report.skipped:
        st.warning(f"{len(report.skipped)} fichier(s) ignoré(s) ; la page « Index » donne leurs raisons.")
