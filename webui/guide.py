"""Page « Guide »: the user guide, docs/GUIDE.md."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "GUIDE.md"

if GUIDE.is_file():
    st.markdown(GUIDE.read_text(encoding="utf-8"))
else:
    st.title("Guide d’utilisation")
    st.warning("Le guide (docs/GUIDE.md) est introuvable dans cette installation.")
