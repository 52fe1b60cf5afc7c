"""Page « Recherche »: cited passages with highlights, page previews, related mandates."""
from __future__ import annotations

import time

import streamlit as st

from kb.errors import QueryError
from kb.passages import SearchOptions
from kb.snippet import highlight_html
from webui.common import knowledge_base, page_png, pdf_path, run_build, show_build_report

EXAMPLES = "« gouvernance partagée », « participation citoyenne », « comment faire participer les citoyens »"
PARAMS = ("q", "doc", "year", "lang", "type")

st.title("Recherche")
kb = knowledge_base()
if kb is None:
    st.info("Aucun index n'existe encore. Construisez-le à partir des PDF du dossier du corpus.")
    if st.button("Construire l'index maintenant", type="primary"):
        report = run_build()
        if report:
            show_build_report(report)
            st.rerun()
    st.stop()

# The URL holds the query and the filters: a result page can be shared and survives a reload.
# Streamlit forgets the state of widgets on pages not shown, so coming back from another page
# restores the last search from a plain session key.
saved = st.session_state.get("search_saved", {})
url_has_search = any(k in st.query_params for k in PARAMS)
for key in PARAMS:
    if f"f_{key}" not in st.session_state:
        st.session_state[f"f_{key}"] = st.query_params.get(key, "") if url_has_search else saved.get(key, "")

docs = {d.path: d for d in kb.index.documents}
years = sorted({str(d.year) for d in docs.values() if d.year})
langs = sorted({c.lang for c in kb.index.chunks if c.lang})
types = sorted({d.doc_type for d in docs.values()})
for key, options in (("doc", docs), ("year", years), ("lang", langs), ("type", types)):
    if st.session_state[f"f_{key}"] not in ("", *options):  # a stale link: drop the unknown value
        st.session_state[f"f_{key}"] = ""

with st.sidebar:
    st.header("Filtres")
    st.selectbox("Document", ["", *sorted(docs)], key="f_doc",
                 format_func=lambda p: "Tous les documents" if not p else docs[p].title)
    st.selectbox("Année", ["", *years], key="f_year", format_func=lambda y: y or "Toutes")
    st.selectbox("Langue", ["", *langs], key="f_lang", format_func=lambda x: x or "Toutes")
    st.selectbox("Type de document", ["", *types], key="f_type", format_func=lambda x: x or "Tous")

query = st.text_input("Votre question ou vos mots-clés", key="f_q", placeholder="ex. gouvernance partagée")
current = {k: st.session_state[f"f_{k}"] for k in PARAMS if st.session_state[f"f_{k}"]}
st.query_params.from_dict(current)
st.session_state.search_saved = current

if not query.strip():
    st.info(f"Tapez une question ou quelques mots, par exemple {EXAMPLES}. "
            "Les accents sont facultatifs, et l'anglais est compris.")
    st.stop()

opts = SearchOptions(k=10, doc=st.session_state.f_doc or None, year=int(st.session_state.f_year or 0) or None,
                     lang=st.session_state.f_lang or None, doc_type=st.session_state.f_type or None)
started = time.perf_counter()
try:
    result = kb.search(query, opts)
except QueryError as exc:
    if exc.kind == "stopwords":
        st.warning("Votre requête ne contient que des mots vides (« le », « de »…) : ajoutez un mot significatif.")
    else:
        st.warning("Tapez quelques mots à chercher.")
    st.stop()
elapsed = (time.perf_counter() - started) * 1000

main, side = st.columns([3, 1.15], gap="large")
with main:
    if not result.hits:
        filtered = any((opts.doc, opts.year, opts.lang, opts.doc_type))
        st.warning("Aucun passage ne correspond. Essayez d'autres mots ou une formulation plus simple"
                   + (", ou retirez des filtres dans la barre latérale." if filtered else "."))
    else:
        st.caption(f"{len(result.hits)} passages · {elapsed:.0f} ms")
    if result.unknown_words and result.hits:
        words = ", ".join(f"« {w} »" for w in result.unknown_words)
        st.info(f"Absent des documents : {words}. Vérifiez l'orthographe ; voici les passages les plus "
                "proches par le sens.")
    for hit in result.hits:
        c = hit.chunk
        with st.container(border=True):
            st.markdown(f"**{hit.rank}. {c.title}** — {c.page_label}" + (f" · *{c.section}*" if c.section else ""))
            st.markdown(highlight_html(hit.snippet, hit.snippet_highlights), unsafe_allow_html=True)
            st.caption(f"{c.path} · pertinence {hit.score:.2f}")
            with st.expander("Passage complet et page du PDF"):
                st.markdown(highlight_html(c.text, hit.highlights), unsafe_allow_html=True)
                if st.toggle("Afficher la page citée", key=f"pv-{c.chunk_id}"):
                    path = pdf_path(c.path)
                    if path.exists():
                        st.image(page_png(str(path), c.page, c.text), caption=f"{c.title}, page {c.page}")
                        st.download_button("Télécharger le PDF", path.read_bytes(), file_name=path.name,
                                           mime="application/pdf", key=f"dl-{c.chunk_id}")
                    else:
                        st.warning(f"Le fichier {c.path} n'est plus dans le corpus.")
with side:
    st.subheader("Mandats liés")
    if not result.related_mandates:
        st.caption("Aucun mandat passé ne se rapproche de cette recherche.")
    for r in result.related_mandates:
        m = r.mandate
        with st.container(border=True):
            st.markdown(f"**{m.title}**")
            st.caption(f"{m.client} · {m.years}")
            st.write(m.summary)
