"""kb — Streamlit front end. Thin: the pages call the `kb` library (see webui/)."""
import streamlit as st

st.set_page_config(page_title="Base de connaissances", page_icon=":material/menu_book:", layout="wide")
st.navigation([
    st.Page("webui/recherche.py", title="Recherche", icon=":material/search:", default=True),
    st.Page("webui/mandats.py", title="Mandats", icon=":material/work_history:"),
    st.Page("webui/maintenance.py", title="Index", icon=":material/settings:"),
]).run()
