"""Page « Mandats »: past mandates similar to a situation or to another mandate; the full list."""
from __future__ import annotations

import streamlit as st

from kb.errors import KbError, QueryError
from kb.mandate_search import filter_mandates
from webui.common import knowledge_base

st.title("Mandats")
kb = knowledge_base()
if kb is None:
    st.info("Aucun index n'existe encore : construisez-le depuis la page « Index ».")
    st.stop()
ms = kb.mandates
if not ms.mandates:
    st.info("Aucun mandat n'a été trouvé dans les documents indexés.")
    st.stop()

# The text area's state is forgotten when another page is shown: keep the last description aside.
if "situation" not in st.session_state:
    st.session_state.situation = st.query_params.get("q", "") or st.session_state.get("situation_saved", "")
if "like" not in st.session_state:
    st.session_state.like = st.query_params.get("like", "")


def show_like(mandate_id: str) -> None:
    st.session_state.like = mandate_id


def card(r) -> None:
    m = r.mandate
    with st.container(border=True):
        st.markdown(f"**{r.rank}. {m.title}**")
        st.caption(f"{m.client} · {m.years}" + (" · en cours" if m.ongoing else "") + f" · {m.path}, p. {m.page}")
        if m.themes:
            st.markdown(" ".join(f":blue-badge[{t}]" for t in m.themes))
        st.write(f"*Pourquoi :* {r.why}")
        st.write(m.summary)
        with st.expander("Description complète"):
            st.write(m.description)
            for d in m.deliverables:
                st.write(f"**Livrable :** {d}")
            for link in m.links:
                st.write(link)
        st.button("Mandats semblables", key=f"like-{m.id}", on_click=show_like, args=(m.id,))


with st.form("situation_form"):
    st.text_area("Décrivez la situation", key="situation", height=90,
                 placeholder="ex. une MRC veut arrimer ses politiques sociales")
    submitted = st.form_submit_button("Trouver des mandats semblables", type="primary")
if submitted:
    st.session_state.like = ""

params = {}
if st.session_state.like:
    try:
        me = ms.get(st.session_state.like)
    except KbError:
        st.warning("Ce mandat n'existe plus dans l'index.")
        st.session_state.like = ""
    else:
        params["like"] = me.id
        st.subheader(f"Mandats semblables à « {me.title} »")
        st.button("Revenir à la recherche", on_click=show_like, args=("",))
        for r in ms.like(me.id, 5):
            card(r)
elif st.session_state.situation.strip():
    situation = st.session_state.situation.strip()
    params["q"] = situation
    try:
        found = kb.find_mandates(situation, 5)
    except QueryError:
        st.warning("Décrivez la situation en quelques mots significatifs.")
    else:
        st.subheader("Mandats les plus proches")
        for r in found:
            card(r)
else:
    st.info("Décrivez une situation (client, enjeu, démarche) pour retrouver les mandats passés qui s'en "
            "rapprochent, ou parcourez la liste ci-dessous.")
st.query_params.from_dict(params)
st.session_state.situation_saved = st.session_state.situation

st.divider()
st.subheader("Tous les mandats")
all_themes = sorted({t for m in ms.mandates for t in m.themes})
years = [y for m in ms.mandates for y in (m.start, m.end) if y]
c1, c2, c3, c4 = st.columns([2, 1.5, 2, 1.2])
themes = c1.multiselect("Thèmes", all_themes, key="t_themes")
client = c2.text_input("Mandataire contient", key="t_client")
span = (c3.slider("Années", min(years), max(years), (min(years), max(years)), key="t_years")
        if years and min(years) < max(years) else None)
state = c4.radio("État", ["Tous", "En cours", "Terminés"], key="t_state")
rows = filter_mandates(ms.mandates, themes, client, span, {"Tous": None, "En cours": True, "Terminés": False}[state])
st.dataframe([{"Titre": m.title, "Mandataire": m.client, "Années": m.years, "En cours": m.ongoing,
               "Thèmes": ", ".join(m.themes), "Source": f"{m.path}, p. {m.page}", "id": m.id} for m in rows],
             hide_index=True, width="stretch")
st.caption(f"{len(rows)} mandat(s) sur {len(ms.mandates)}")
