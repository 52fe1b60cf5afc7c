"""Page « Mandats »: past mandates similar to a situation or to another mandate; the full list."""
from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from kb.errors import IndexCorruptError, KbError, QueryError
from kb.mandate_search import MandateSearcher, filter_mandates
from kb.records import Mandate, RankedMandate
from kb.session import KnowledgeBase
from webui import fr
from webui.common import damaged, knowledge_base, mark

STATES = {"Tous": None, "En cours": True, "Terminés": False}
ROW = 80  # pixels: above 4rem the table wraps long titles instead of cutting them


def show_like(mandate_id: str) -> None:
    st.session_state.like = mandate_id


def years(m: Mandate) -> str:
    """The years as written, « (en cours) » added only when the text does not say it already."""
    return m.years + (" (en cours)" if m.ongoing and "en cours" not in m.years.lower() else "")


def link(url: str) -> str:
    """A link from a document: clickable only for http(s), its text inert."""
    if urlsplit(url).scheme in ("http", "https"):
        href = fr.inert(url)
        return f'<a href="{href}" target="_blank" rel="noopener noreferrer nofollow">{fr.inert(url)}</a>'
    return fr.inert(url)


def card(r: RankedMandate, query: str = "") -> None:
    m = r.mandate
    badges = "".join(f'<span class="kb-badge">{fr.inert(t)}</span>' for t in m.themes)
    with st.container(border=True):
        st.markdown(fr.document_html(
            f'<h3 class="kb-card-title">{r.rank}. {fr.inert(m.title)}</h3>'
            f'<div class="kb-meta">{fr.inert(m.client)} · {fr.inert(years(m))} · '
            f'{fr.inert(m.path)}, p. {m.page}</div>'
            f'<div>{badges}</div><p><strong>Pourquoi :</strong> {fr.inert(r.why)}</p><p>{fr.inert(m.summary)}</p>'),
            unsafe_allow_html=True, anchors=False)
        with st.expander("Description complète, livrables et liens"):
            parts = [f"<p>{fr.inert_lines(m.description)}</p>"]
            parts += [f"<p><strong>Livrable :</strong> {fr.inert(d)}</p>" for d in m.deliverables]
            parts += [f"<p>{link(u)}</p>" for u in m.links]
            st.markdown(fr.document_html("".join(parts)), unsafe_allow_html=True, anchors=False)
        with st.container(horizontal=True):
            st.button("Mandats semblables", key=f"like-{m.id}", on_click=show_like, args=(m.id,))
            if query:  # a situation was described: its result can be judged
                st.button("Utile", key=f"up-{m.id}", on_click=mark, args=(query, True, None, m), type="tertiary",
                          icon=":material/thumb_up:", help="Ce mandat ressemble à la situation (avis facultatif)")
                st.button("Pas utile", key=f"down-{m.id}", on_click=mark, args=(query, False, None, m),
                          type="tertiary", icon=":material/thumb_down:", help="Ce mandat ne ressemble pas à la situation")


def ranked(kb: KnowledgeBase, ms: MandateSearcher) -> dict[str, str]:
    """The ranked part of the page; returns the URL parameters that reproduce it."""
    if st.session_state.like:
        try:
            me = ms.get(st.session_state.like)
        except KbError:
            st.warning("Ce mandat n’existe plus dans l’index.")
            st.session_state.like = ""
            return {}
        st.subheader(f"Mandats semblables à « {fr.md_label(me.title)} »")
        st.button("Revenir à la recherche", on_click=show_like, args=("",))
        for r in ms.like(me.id, 5):
            card(r)
        return {"like": me.id}
    situation = st.session_state.situation.strip()
    if not situation:
        st.info("Décrivez une situation (client, enjeu, démarche) pour retrouver les mandats passés qui s’en "
                "rapprochent, ou parcourez la liste ci-dessous.")
        return {}
    try:
        found = kb.find_mandates(situation, 5)
    except QueryError:
        st.warning("Décrivez la situation en quelques mots significatifs.")
        return {"q": situation}
    st.subheader("Mandats les plus proches")
    for r in found:
        card(r, situation)
    return {"q": situation}


def table(ms: MandateSearcher) -> None:
    st.subheader("Tous les mandats")
    all_themes = sorted({t for m in ms.mandates for t in m.themes})
    span_years = [y for m in ms.mandates for y in (m.start, m.end) if y]
    c1, c2, c3, c4 = st.columns([2, 1.5, 2, 1.2])
    themes = c1.multiselect("Thèmes", all_themes, key="t_themes", placeholder="Tous les thèmes", select_all=False)
    client = c2.text_input("Mandataire contient", key="t_client", placeholder="ex. MRC")
    span = (c3.slider("Années", min(span_years), max(span_years), (min(span_years), max(span_years)), key="t_years")
            if span_years and min(span_years) < max(span_years) else None)
    state = c4.radio("État", list(STATES), key="t_state", horizontal=True)
    rows = filter_mandates(ms.mandates, themes, client, span, STATES[state])
    st.dataframe([{"Titre": m.title, "Mandataire": m.client, "Années": years(m), "Thèmes": ", ".join(m.themes),
                   "Source": f"{m.path}, p. {m.page}"} for m in rows],
                 hide_index=True, width="stretch", row_height=ROW, height=ROW * max(len(rows), 1) + 40,
                 column_config={"Titre": st.column_config.TextColumn("Titre", width=370),
                                "Mandataire": st.column_config.TextColumn("Mandataire", width=210),
                                "Années": st.column_config.TextColumn("Années", width=135),
                                "Thèmes": st.column_config.TextColumn("Thèmes", width=290),
                                "Source": st.column_config.TextColumn("Source", width=235)})
    st.caption(f"{len(rows)} mandat(s) sur {len(ms.mandates)}")


def page() -> None:
    st.title("Mandats")
    kb = knowledge_base()
    if kb is None:
        st.info("Aucun index n’existe encore : la page « Recherche » montre sa construction, ou la page "
                "« Index » dit qui peut le construire.")
        return
    ms = kb.mandates
    if not ms.mandates:
        st.info("Aucun mandat n’a été trouvé dans les documents indexés.")
        return
    # The text area's state is forgotten when another page is shown: keep the last description aside.
    if "situation" not in st.session_state:
        st.session_state.situation = st.query_params.get("q", "") or st.session_state.get("situation_saved", "")
    if "like" not in st.session_state:
        st.session_state.like = st.query_params.get("like", "")
    with st.form("situation_form"):
        st.text_area("Décrivez la situation", key="situation", height=90,
                     placeholder="ex. une MRC veut arrimer ses politiques sociales")
        st.caption("Ctrl+Entrée (⌘+Entrée sur Mac) lance la recherche ; Entrée passe à la ligne.")
        if st.form_submit_button("Trouver des mandats semblables", type="primary"):
            st.session_state.like = ""
    st.query_params.from_dict(ranked(kb, ms))
    st.session_state.situation_saved = st.session_state.situation
    st.divider()
    table(ms)


try:
    page()
except IndexCorruptError as exc:  # a record damaged in place is found when a query reads it
    damaged(exc)
