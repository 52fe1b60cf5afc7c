"""Page « Recherche »: cited passages with highlights, page previews, related mandates.

The query and the filters live in the URL; widgets that belong to one result
(the open passage, the page preview) are keyed by the search, so a new search
starts with every passage closed.
"""
from __future__ import annotations

import hashlib
import time
from collections import Counter

import streamlit as st

from kb.analyzer import fold
from kb.errors import IndexCorruptError, QueryError
from kb.passages import SearchOptions
from kb.records import Hit, SearchResult
from kb.session import KnowledgeBase
from webui import fr
from webui.access import can_write
from webui.common import (damaged, follow_build, knowledge_base, mark, page_png, page_source, pdf_path,
                          running_build, start_build)

EXAMPLES = ("gouvernance partagée", "participation citoyenne", "comment faire participer les citoyens")
PARAMS = ("q", "doc", "year", "lang", "type")


def run_query(text: str) -> None:
    """Callback of the example and suggestion buttons: search for ``text``."""
    st.session_state.f_q = text


def no_index() -> None:
    """No index yet: build it (automatically the first time, for a session allowed to write) or say who can."""
    job = running_build()
    if job is None and can_write() and not st.session_state.get("auto_build_tried"):
        st.session_state.auto_build_tried = True
        job = start_build()
    if job is not None:
        st.info("Première mise en route : l’index est en cours de construction à partir des PDF du corpus "
                "(moins d’une minute pour le corpus de démonstration, davantage sur une machine occupée). "
                "La recherche s’ouvrira d’elle-même.")
        if follow_build(job).report is not None:
            st.rerun()
    elif can_write():
        st.info("Aucun index n’existe encore. Construisez-le à partir des PDF du dossier du corpus.")
        if st.button("Construire l’index maintenant", type="primary") and follow_build(start_build()).report:
            st.rerun()
    else:
        st.info("Aucun index n’existe encore : un administrateur doit le construire depuis la page « Index ».")


def restore_state() -> None:
    """Fill the filters from the URL (a shared link, a reload) or from this session's last search."""
    saved = st.session_state.get("search_saved", {})
    url_has_search = any(k in st.query_params for k in PARAMS)
    for key in PARAMS:
        if f"f_{key}" not in st.session_state:
            st.session_state[f"f_{key}"] = st.query_params.get(key, "") if url_has_search else saved.get(key, "")


def filters(kb: KnowledgeBase) -> None:
    """Document, year, language and type, in one row under the search box."""
    docs = {d.path: d for d in kb.index.documents}
    years = sorted({str(d.year) for d in docs.values() if d.year})
    langs = list(kb.index.chunk_languages)
    types = sorted({d.doc_type for d in docs.values()})
    for key, options in (("doc", docs), ("year", years), ("lang", langs), ("type", types)):
        if st.session_state[f"f_{key}"] not in ("", *options):  # a stale link: drop the unknown value
            st.session_state[f"f_{key}"] = ""
    shared = Counter(d.title for d in docs.values())

    def label(p: str) -> str:  # a title two documents share is told apart by the file's name
        return docs[p].title if shared[docs[p].title] == 1 else f"{docs[p].title} ({p.rsplit('/', 1)[-1]})"

    doc, year, lang, kind = st.columns([3, 1, 1, 1.4])
    # In title order; past a dozen documents, typing part of a title narrows the list.
    doc.selectbox("Document", ["", *sorted(docs, key=lambda p: (fold(label(p)), p))], key="f_doc",
                  filter_mode="contains" if len(docs) > 12 else None,
                  format_func=lambda p: label(p) if p else "Tous les documents")
    # A filter with a single value would narrow nothing: shown, greyed.
    year.selectbox("Année", ["", *years], key="f_year", filter_mode=None, format_func=lambda y: y or "Toutes",
                   disabled=len(years) < 2)
    lang.selectbox("Langue", ["", *sorted(langs, key=lambda x: fold(fr.language(x)))], key="f_lang",
                   filter_mode=None, format_func=lambda x: fr.language(x) if x else "Toutes", disabled=len(langs) < 2)
    kind.selectbox("Type de document", ["", *types], key="f_type", filter_mode=None,
                   format_func=lambda x: x or "Tous", disabled=len(types) < 2)


def search_box() -> str:
    with st.form("search_form", border=False):
        box, button = st.columns([6, 1], vertical_alignment="bottom")
        box.text_input("Votre question ou vos mots-clés", key="f_q", placeholder="ex. gouvernance partagée")
        button.form_submit_button("Rechercher", type="primary", width="stretch")
    return st.session_state.f_q


def empty_state() -> None:
    st.write("Tapez une question ou quelques mots : les accents sont facultatifs, et l’anglais est compris. "
             "Par exemple :")
    with st.container(horizontal=True):
        for text in EXAMPLES:
            st.button(text, key=f"ex-{text}", on_click=run_query, args=(text,), icon=":material/search:")


def notices(result: SearchResult) -> None:
    """What to know about the query: a correction, a suggestion, English, words found nowhere."""
    if result.corrected:
        st.markdown(f"Résultats pour « **{fr.inert(result.suggestion)}** » (aucun résultat pour "
                    f"« {fr.inert(result.query)} »)", unsafe_allow_html=True, anchors=False)
        return
    if result.language == "en":
        st.caption("Requête reconnue comme anglaise : les passages français sont trouvés par le sens.")
    if result.unknown_words and result.hits:
        words = ", ".join(f"« {fr.inert(w)} »" for w in result.unknown_words)
        st.markdown(f"Introuvable dans les documents : {words}. Vérifiez l’orthographe ; voici les passages "
                    "les plus proches par le sens.", unsafe_allow_html=True, anchors=False)
    if result.suggestion:
        st.button(f"Vouliez-vous dire : {fr.md_label(result.suggestion)} ?", type="tertiary", key="suggestion",
                  on_click=run_query, args=(result.suggestion,), icon=":material/spellcheck:")


def card_title(hit: Hit) -> str:
    c = hit.chunk
    section = f" · <em>{fr.inert(c.section)}</em>" if c.section else ""
    return (f'<h3 class="kb-card-title">{hit.rank}. {fr.inert(c.title)} '
            f'<span class="kb-where">— {fr.inert(c.page_label)}{section}</span></h3>')


def preview(kb: KnowledgeBase, hit: Hit, key: str) -> None:
    c = hit.chunk
    path = page_source(kb, c)
    if not path.exists():
        st.warning(f"Le fichier « {fr.md_label(c.path)} » n’est plus dans le corpus.")
        return
    label = f"Page {c.page} de « {c.title} », le passage cité encadré"
    st.image(page_png(str(path), c.page, c.text), caption=fr.md_label(label), alt=label)
    original = pdf_path(c.path)  # the corpus file, never the OCR'd copy the page image may come from
    if original.exists():
        st.download_button("Télécharger le PDF", original.read_bytes(), file_name=original.name,
                           mime="application/pdf", key=f"dl-{key}")


def usefulness(query: str, key: str, chunk=None, mandate=None) -> None:
    with st.container(horizontal=True):
        st.button("Utile", key=f"up-{key}", on_click=mark, args=(query, True, chunk, mandate), type="tertiary",
                  icon=":material/thumb_up:", help="Ce résultat répond à ma recherche (avis facultatif, gardé avec l’index)")
        st.button("Pas utile", key=f"down-{key}", on_click=mark, args=(query, False, chunk, mandate),
                  type="tertiary", icon=":material/thumb_down:", help="Ce résultat ne répond pas à ma recherche")


def card(kb: KnowledgeBase, hit: Hit, search_key: str, query: str) -> None:
    c, key = hit.chunk, f"{search_key}-{hit.chunk.chunk_id}"
    with st.container(border=True):
        st.markdown(fr.document_html(card_title(hit) + '<div class="kb-passage">'
                                  + fr.highlighted(hit.snippet, hit.snippet_highlights) + "</div>"),
                    unsafe_allow_html=True, anchors=False)
        st.caption(f"{fr.md_label(c.path)} · pertinence {fr.number(hit.score)}")
        with st.expander("Passage complet et page du PDF", key=f"x-{key}"):
            st.markdown(fr.document_html('<div class="kb-passage">' + fr.highlighted(c.text, hit.highlights)
                                      + "</div>"), unsafe_allow_html=True, anchors=False)
            if st.toggle("Afficher la page citée", key=f"pv-{key}"):
                preview(kb, hit, key)
        usefulness(query, key, chunk=c)


def related(result: SearchResult, search_key: str) -> None:
    st.subheader("Mandats liés")
    if not result.related_mandates:
        st.caption("Aucun mandat passé ne se rapproche de cette recherche.")
    for r in result.related_mandates:
        m = r.mandate
        with st.container(border=True):
            st.markdown(fr.document_html(f'<h3 class="kb-card-title">{fr.inert(m.title)}</h3>'
                                      f'<div class="kb-meta">{fr.inert(m.client)} · {fr.inert(m.years)}</div>'
                                      f"<p>{fr.inert(m.summary)}</p>"), unsafe_allow_html=True, anchors=False)
            usefulness(result.query, f"{search_key}-m-{m.id}", mandate=m)


def results(kb: KnowledgeBase, result: SearchResult, opts: SearchOptions, elapsed_ms: float,
            search_key: str) -> None:
    main, side = st.columns([3, 1.15], gap="large")
    with main:
        notices(result)
        if not result.hits:
            filtered = any((opts.doc, opts.year, opts.lang, opts.doc_type))
            st.warning("Aucun passage ne correspond. Essayez d’autres mots ou une formulation plus simple"
                       + (", ou retirez des filtres." if filtered else "."))
        else:
            st.caption(f"{fr.count(len(result.hits), 'passage')} · {fr.number(elapsed_ms, 0)} ms")
        for hit in result.hits:
            card(kb, hit, search_key, result.query)
    with side:
        related(result, search_key)


def page() -> None:
    st.title("Recherche")
    kb = knowledge_base()
    if kb is None:
        no_index()
        st.stop()
    restore_state()
    query = search_box()
    filters(kb)
    current = {k: st.session_state[f"f_{k}"] for k in PARAMS if st.session_state[f"f_{k}"]}
    st.query_params.from_dict(current)
    st.session_state.search_saved = current
    if not query.strip():
        empty_state()
        return
    opts = SearchOptions(k=10, doc=current.get("doc"), year=int(current.get("year", 0)) or None,
                         lang=current.get("lang"), doc_type=current.get("type"))
    started = time.perf_counter()
    try:
        result = kb.search(query, opts)
    except QueryError as exc:
        st.warning("Votre requête ne contient que des mots vides (« le », « de »…) : ajoutez un mot "
                   "significatif." if exc.kind == "stopwords" else "Tapez quelques mots à chercher.")
        return
    search_key = hashlib.sha1(repr(sorted(current.items())).encode()).hexdigest()[:10]
    results(kb, result, opts, (time.perf_counter() - started) * 1000, search_key)


try:
    page()
except IndexCorruptError as exc:  # a record damaged in place is found when a query reads it
    damaged(exc)
