"""Streamlit front end (thin: all logic lives in the `kb` package).

Until the search interface lands (issue « The Streamlit app »), this page shows
what the index holds and lets a maintainer browse the indexed passages.
"""
from __future__ import annotations

import streamlit as st

from kb.config import index_dir
from kb.errors import KbError
from kb.index import index_status, load_index

st.set_page_config(page_title="kb — base de connaissances", layout="wide")
st.title("Base de connaissances")

try:
    status = index_status(index_dir())
except KbError as exc:
    st.error(f"Index introuvable : {exc}")
    st.stop()

cols = st.columns(4)
cols[0].metric("Documents", status["documents"])
cols[1].metric("Passages", status["chunks"])
cols[2].metric("Index", status["index_type"])
cols[3].metric("Construit le", status["built_at"].replace("T", " ").rstrip("Z"))
st.caption(f"Modèle : {status['model']}")
if status["skipped"]:
    with st.expander(f"{len(status['skipped'])} fichier(s) ignoré(s)"):
        for s in status["skipped"]:
            st.write(f"**{s['path']}** : {s['reason']}")


@st.cache_resource
def _index(version: str):
    return load_index(index_dir())


index = _index(status["version"])
titles = {d.path: d.title for d in index.documents}
doc = st.selectbox("Document", sorted(titles), format_func=lambda p: f"{titles[p]} ({p})")
for c in (c for c in index.chunks if c.path == doc):
    pages = f"p. {c.page}" if c.page == c.page_end else f"p. {c.page}–{c.page_end}"
    with st.container(border=True):
        st.caption(f"{pages} · {c.section}" if c.section else pages)
        st.write(c.text)
