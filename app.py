"""kb — Streamlit front end. Thin: the pages call the `kb` library (see webui/)."""
import streamlit as st

from webui import look
from webui.access import require_reader

st.set_page_config(page_title="Base de connaissances", page_icon=look.PAGE_ICON, layout="wide")
look.install()
require_reader()
st.navigation([
    st.Page("webui/recherche.py", title="Recherche", icon=":material/search:", default=True),
    st.Page("webui/mandats.py", title="Mandats", icon=":material/work_history:"),
    st.Page("webui/maintenance.py", title="Index", icon=":material/settings:"),
    st.Page("webui/guide.py", title="Guide", icon=":material/help:"),
], position="top").run()
