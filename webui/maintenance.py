"""Page « Index »: what the index holds, skipped files, rebuild, add PDFs."""
from __future__ import annotations

import streamlit as st

from kb.config import corpus_dir, index_dir
from kb.corpus import add_pdfs
from kb.errors import KbError
from kb.store import read_status
from webui.common import run_build, show_build_report

st.title("Index")

try:
    status = read_status(index_dir())
except KbError:
    status = None
    st.warning(f"Aucun index lisible dans `{index_dir()}` : construisez-le à partir de `{corpus_dir()}`.")

if status:
    c = st.columns(3)
    c[0].metric("Documents", status.documents)
    c[1].metric("Passages", status.chunks)
    c[2].metric("Mandats", status.mandates)
    st.write(f"**Modèle :** {status.model} · **Index :** {status.index_type} · "
             f"**Construit le :** {status.built_at.replace('T', ' ').rstrip('Z')} UTC")
    st.caption(f"Corpus : {status.corpus} · version {status.version}")
    if status.skipped:
        st.subheader(f"Fichiers ignorés ({len(status.skipped)})")
        st.table([{"Fichier": s.path, "Raison": s.reason} for s in status.skipped])
    else:
        st.caption("Aucun fichier ignoré.")

st.subheader("Reconstruire")
st.write("Ne relit que les fichiers nouveaux ou modifiés ; les recherches en cours continuent sur l'index "
         "actuel jusqu'à ce que le nouveau soit prêt.")
full = st.checkbox("Tout reconstruire (relire et revectoriser tous les fichiers)", key="full")
if st.button("Reconstruire", type="primary"):
    report = run_build(full)
    if report:
        show_build_report(report)

st.subheader("Ajouter des PDF")
uploads = st.file_uploader("Déposez des PDF : ils sont copiés dans le dossier du corpus, puis l'index est "
                           "mis à jour.", type=["pdf"], accept_multiple_files=True, key="uploads")
replace = st.checkbox("Remplacer les fichiers existants du même nom", key="replace")
if uploads and st.button("Ajouter et mettre à jour l'index"):
    for a in add_pdfs(corpus_dir(), [(u.name, u.getvalue()) for u in uploads], replace=replace):
        labels = {"added": "ajouté", "replaced": "remplacé", "unchanged": "identique, inchangé",
                  "renamed": f"enregistré sous {a.path} (un fichier de ce nom existait)"}
        (st.error if a.status.startswith("refused") else st.write)(
            f"`{a.name}` : {labels.get(a.status, 'refusé, ce n’est pas un PDF')}")
    report = run_build()
    if report:
        show_build_report(report)
