"""Page « Index »: what the index holds and the skipped files; for administrators, rebuild, add and
retire PDFs, and refit the search on the practitioners' « utile » marks.

The status is read after any action on this run, so it always agrees with
what the action just did.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from kb.config import corpus_dir, index_dir
from kb.corpus import Added, add_pdfs, corpus_pdfs, retire_pdf
from kb.build import read_by_older_pipeline
from kb.document import PIPELINE_VERSION
from kb.errors import KbError
from kb.feedback import as_judgments, read_marks
from kb.messages import french_reason
from kb.records import IndexStatus
from kb.store import clear_tuning, read_status, read_tuning
from kb.tune import MIN_FEEDBACK_QUERIES, TuneReport, apply_tuning, tune_on_feedback
from webui import fr
from webui.access import admin_panel
from webui.common import follow_build, knowledge_base, run_build, running_build

INDEX_TYPES = {"flat": "exact", "ivf": "approché (IVF, candidats recalculés exactement)"}


def show_status(status: IndexStatus | None) -> None:
    if status is None:
        st.warning(f"Aucun index lisible dans « {fr.md_label(str(index_dir()))} » : il faut le construire à "
                   f"partir du dossier du corpus « {fr.md_label(str(corpus_dir()))} ».")
        return
    c = st.columns(3)
    c[0].metric("Documents", fr.number(status.documents, 0))  # « 18 665 »
    c[1].metric("Passages", fr.number(status.chunks, 0))
    c[2].metric("Mandats", fr.number(status.mandates, 0))
    st.markdown(f"**Modèle :** {fr.inert(status.model)} · **Recherche :** "
                f"{INDEX_TYPES.get(status.index_type, fr.inert(status.index_type))} · **Construit le :** "
                f"{fr.date_time(status.built_at)}", unsafe_allow_html=True)
    served = Path(corpus_dir()).resolve()
    moved = (f" (construit à partir de {fr.md_label(status.corpus)})"
             if status.corpus and Path(status.corpus).resolve() != served else "")
    st.caption(f"Corpus : {fr.md_label(str(served))}{moved} · version {status.version}")
    if read_by_older_pipeline(status):
        st.info(f"Cet index a été construit avec une version antérieure de la lecture des PDF ({status.pipeline}, "
                f"la version actuelle est {PIPELINE_VERSION}) : la prochaine reconstruction relira tous les "
                f"fichiers, en réutilisant les vecteurs déjà calculés.")
    scanned = [d for d in status.ocr if d.get("pages") or d.get("unread_pages")]
    if scanned:
        st.subheader(f"Documents numérisés ({len(scanned)})")
        st.dataframe([{"Fichier": d["path"], "Pages lues par OCR": len(d.get("pages", [])),
                       "Confiance": fr.number(d["confidence"], 0) if d.get("confidence") is not None else "—",
                       "Fiabilité faible (pages)": ", ".join(map(str, d.get("low_confidence_pages", []))) or "—",
                       "Pages non lues": ", ".join(map(str, d.get("unread_pages", []))) or "—",
                       "Langue": fr.language(d.get("lang"))} for d in scanned], hide_index=True)
    if status.skipped:
        st.subheader(f"Fichiers ignorés ({len(status.skipped)})")
        st.dataframe([{"Fichier": s.path, "Raison": french_reason(s.reason)} for s in status.skipped],
                     hide_index=True, width="stretch",
                     column_config={"Fichier": st.column_config.TextColumn("Fichier", width="medium"),
                                    "Raison": st.column_config.TextColumn("Raison", width="large")})
    else:
        st.caption("Aucun fichier ignoré : tous les PDF du corpus sont indexés.")


# A build an action asks for: where to follow it, and whether to read every file again. The page runs it
# once every section is drawn, so no section stays greyed from the previous run (or hidden) meanwhile.
BuildRequest = tuple[DeltaGenerator, bool]


def rebuild_section() -> BuildRequest | None:
    st.subheader("Reconstruire")
    st.write("Ne relit que les fichiers nouveaux ou modifiés ; les recherches en cours continuent sur l’index "
             "actuel jusqu’à ce que le nouveau soit prêt.")
    full = st.checkbox("Tout reconstruire (relire et revectoriser tous les fichiers)", key="full")
    clicked, slot = st.button("Reconstruire", type="primary", key="rebuild"), st.empty()
    return (slot.container(), full) if clicked else None


def _say(a: Added) -> None:
    name = fr.md_label(a.name)
    if a.status == "refused":
        st.error(f"« {name} » refusé : {fr.md_label(french_reason(a.reason))}.")
    elif a.status == "renamed":
        st.info(f"« {name} » : enregistré sous « {fr.md_label(a.path)} » (un fichier de ce nom existait).")
    elif a.status == "unchanged":
        st.info(f"« {name} » : identique au fichier du corpus, rien à faire.")
    else:
        st.success(f"« {name} » : {'remplacé' if a.status == 'replaced' else 'ajouté au corpus'}.")


def upload_section() -> BuildRequest | None:
    limit = st.get_option("server.maxUploadSize")
    st.subheader("Ajouter des PDF")
    st.write(f"Les PDF choisis sont vérifiés, copiés dans le dossier du corpus, puis l’index est mis à jour. "
             f"{limit} Mo au plus par fichier. Un fichier illisible (vide, tronqué, protégé par un mot de passe, "
             f"endommagé) ou déjà présent sous un autre nom est refusé avec sa raison.")
    with st.form("upload_form", clear_on_submit=True):
        uploads = st.file_uploader("PDF à ajouter", type=["pdf"], accept_multiple_files=True, key="uploads")
        replace = st.checkbox("Remplacer les fichiers existants du même nom", key="replace")
        submitted = st.form_submit_button("Ajouter et mettre à jour l’index", type="primary")
    slot = st.empty()
    if not submitted:
        return None
    box = slot.container()
    with box:
        return (box, False) if _add(uploads, replace) else None


def _add(uploads: list, replace: bool) -> bool:
    """Add the chosen PDFs to the corpus and say how each went; whether the corpus changed."""
    if not uploads:
        st.warning("Choisissez d’abord un ou plusieurs PDF.")
        return False
    results = add_pdfs(corpus_dir(), [(u.name, u.getvalue()) for u in uploads], replace=replace)
    for a in results:
        _say(a)
    return any(a.status in ("added", "renamed", "replaced") for a in results)


def retire_section() -> BuildRequest | None:
    st.subheader("Retirer un document")
    st.write("Le PDF n’est pas supprimé : il est déplacé dans le dossier caché « .retires » du corpus, "
             "que l’index ignore, puis l’index est mis à jour.")
    pdfs = corpus_pdfs(corpus_dir())
    choice = st.selectbox("Document", ["", *pdfs], key="retire_choice",
                          filter_mode="contains" if len(pdfs) > 12 else None,  # typing narrows a long list
                          format_func=lambda p: p or "Choisissez un document")
    clicked, slot = st.button("Retirer ce document", disabled=not choice, key="retire"), st.empty()
    if not clicked:
        return None
    box = slot.container()
    with box:
        return (box, False) if _retire(choice) else None


def _retire(choice: str) -> bool:
    """Move the chosen PDF out of the corpus and say where; whether it moved."""
    try:
        moved = retire_pdf(corpus_dir(), choice)
    except KbError:
        st.error(f"« {fr.md_label(choice)} » n’est plus dans le corpus.")
        return False
    st.success(f"« {fr.md_label(choice)} » a été déplacé vers « {fr.md_label(moved)} » dans le dossier du "
               f"corpus ({fr.md_label(str(corpus_dir()))}). Pour le réindexer, remettez-le à sa place.")
    return True


def _weights(alpha: float, foreign: float) -> str:
    return f"sens {fr.number(alpha, 1)}, requêtes en anglais {fr.number(foreign, 1)}"


def _show_report(report: TuneReport) -> None:
    c, f = report.current, report.chosen
    st.table(pd.DataFrame([{"Poids": "actuels", "Réglage": _weights(c.alpha, c.foreign_alpha),
                            "MRR@10 sur les avis": fr.number(report.current_mrr, 3)},
                           {"Poids": "ajustés", "Réglage": _weights(f.alpha, f.foreign_alpha),
                            "MRR@10 sur les avis": f"{fr.number(report.cross_validated_mrr, 3)} (plis jamais vus)"}]
                          ).set_index("Poids"))
    st.caption(f"{report.queries} requêtes, validation croisée en {report.folds} plis : chaque pli est noté avec "
               f"les poids ajustés sur les autres ({fr.number(report.chosen_mrr, 3)} sur toutes les requêtes, "
               f"chiffre flatteur donné pour information).")
    if not report.better:
        st.info("Les poids ajustés ne font pas mieux que les poids actuels sur les plis jamais vus : rien à appliquer.")
    elif st.button("Appliquer ces poids", type="primary", key="tune_apply"):
        apply_tuning(index_dir(), report)
        del st.session_state["tune_report"]
        st.success("Poids appliqués : la recherche les utilise dès maintenant.")


def feedback_section() -> None:
    st.subheader("Apprendre des avis")
    marks = read_marks(index_dir())
    queries = len(as_judgments(marks, "passage"))
    st.write(f"{len(marks)} avis « utile » ou « pas utile » donnés sur les pages Recherche et Mandats ; "
             f"{queries} requête(s) ont un passage jugé utile. La fusion du lexical et du sens peut être "
             f"réajustée sur ces avis (au moins {MIN_FEEDBACK_QUERIES} requêtes), par validation croisée.")
    tuning = read_tuning(index_dir())
    if tuning and {"alpha", "foreign_alpha"} <= set(tuning):
        st.caption(f"Poids en service : ajustés ({_weights(float(tuning['alpha']), float(tuning['foreign_alpha']))}).")
        if st.button("Revenir aux poids par défaut", key="tune_reset"):
            clear_tuning(index_dir())
            st.session_state.pop("tune_report", None)
            st.rerun()
    kb = knowledge_base(stop_when_damaged=False)
    if kb is None:
        st.caption("Il faut d’abord un index lisible (construit ou reconstruit ci-dessus).")
    if st.button("Calculer de nouveaux poids", key="tune_fit", disabled=kb is None or queries < MIN_FEEDBACK_QUERIES):
        with st.spinner("Validation croisée sur les avis…"):
            try:
                st.session_state["tune_report"] = (kb.index.version, tune_on_feedback(kb, index_dir()))
            except KbError as exc:
                st.warning(f"{exc}.")
    version, report = st.session_state.get("tune_report", (None, None))
    if report is not None and kb is not None and version == kb.index.version:
        _show_report(report)


def _current_status() -> IndexStatus | None:
    try:
        return read_status(index_dir())
    except KbError:
        return None


# Every section is drawn before any build is followed, and what an action or a build shows goes into
# a slot of its own (st.empty: redrawn at once on every run), so a progress bar never takes the place of
# a heading, and no frozen bar or greyed section from an earlier run stays on the page while a build runs.
st.title("Index")
status_slot, build_slot = st.empty(), st.empty()
with status_slot.container():
    show_status(_current_status())  # the live index: searches use it until a build replaces it
asked = None
if admin_panel():
    requests = [rebuild_section(), upload_section(), retire_section()]  # every section drawn, then the build
    feedback_section()
    asked = next((r for r in requests if r is not None), None)  # one click a run at most
job = running_build()
if asked is not None:  # followed where it was asked
    box, full = asked
    with box:
        run_build(full)
elif job is not None:  # started earlier (on this page before a click, or by a colleague)
    with build_slot.container():
        st.info("Une construction de l’index est en cours.")
        follow_build(job)
if asked is not None or job is not None:
    with status_slot.container():
        show_status(_current_status())  # after the build: it agrees with what it did
