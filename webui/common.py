"""Glue shared by the pages: cached loaders and the build runner (no retrieval logic here)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from kb.build import BuildOptions, BuildReport, build_embedder_spec, build_index
from kb.config import corpus_dir, index_dir
from kb.embed import load_embedder
from kb.errors import BuildLockedError, IndexMissingError, KbError
from kb.preview import render_page
from kb.session import KnowledgeBase
from kb.store import current_version, load_index


@st.cache_resource(show_spinner="Chargement du modèle…")
def embedder(spec: str | None):
    """One embedder per model and process."""
    return load_embedder(spec)


@st.cache_resource(show_spinner="Chargement de l'index…", max_entries=2)
def _knowledge_base(index_path: str, version: str) -> KnowledgeBase:
    index = load_index(index_path)
    kb = KnowledgeBase(index, embedder(index.embedder_spec))
    kb.warm_up()
    return kb


def knowledge_base() -> KnowledgeBase | None:
    """The knowledge base over the live index version; a rebuild elsewhere is picked up on the next run."""
    try:
        version = current_version(index_dir()).name
    except IndexMissingError:
        return None
    return _knowledge_base(str(Path(index_dir()).resolve()), version)


@st.cache_data(show_spinner=False, max_entries=64)
def page_png(pdf_path: str, page: int, mark: str) -> bytes:
    return render_page(pdf_path, page, mark)


def pdf_path(rel: str) -> Path:
    return Path(corpus_dir()) / rel


_STAGES = {"scan": (0.0, 0.05, "Lecture des fichiers"), "extract": (0.05, 0.45, "Extraction du texte"),
           "embed": (0.45, 0.95, "Vectorisation"), "write": (0.95, 1.0, "Écriture de l'index")}


def run_build(full: bool = False) -> BuildReport | None:
    """Run the incremental build with a live progress bar; show errors in French."""
    bar = st.progress(0.0, text="Préparation…")

    def progress(stage: str, done: int, total: int) -> None:
        lo, hi, label = _STAGES.get(stage, (0.0, 1.0, stage))
        frac = lo + (hi - lo) * (done / total if total else 1.0)
        bar.progress(min(frac, 1.0), text=f"{label} : {done}/{total}")

    try:
        spec = build_embedder_spec(index_dir())  # the index's model unless KB_EMBEDDER asks otherwise
        report = build_index(corpus_dir(), index_dir(), embedder(spec), BuildOptions(full=full), progress)
    except BuildLockedError:
        bar.empty()
        st.warning("Une reconstruction est déjà en cours (une autre session). Réessayez dans un moment.")
        return None
    except KbError as exc:
        bar.empty()
        st.error(f"La construction a échoué : {exc}")
        return None
    bar.progress(1.0, text="Terminé")
    st.session_state["last_build"] = report
    return report


def show_build_report(report: BuildReport) -> None:
    state = "Index mis à jour" if report.written else "L'index était déjà à jour"
    st.success(f"{state} : {report.documents} documents, {report.chunks} passages, {report.mandates} mandats "
               f"({report.seconds:.1f} s ; {report.embedded} textes vectorisés).")
    for label, paths in (("Ajouté", report.added), ("Mis à jour", report.updated), ("Retiré", report.removed)):
        for p in paths:
            st.write(f"{label} : `{p}`")
    if report.skipped:
        st.warning(f"{len(report.skipped)} fichier(s) ignoré(s) :")
        st.table([{"Fichier": s.path, "Raison": s.reason} for s in report.skipped])
