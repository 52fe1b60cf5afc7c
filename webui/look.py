"""The app's look and language: page settings, styles, and Streamlit's own strings in French."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import streamlit as st

PAGE_ICON = "📚"  # an emoji is drawn locally; a :material/…: icon would be fetched from a font host

# <mark> #1f1f1f on #ffe58f: contrast 14.6:1 (WCAG AA asks 4.5:1).
CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
mark { background: #ffe58f; color: #1f1f1f; padding: 0 .08em; border-radius: 2px; }
[data-testid="stMarkdownContainer"] h3.kb-card-title {
  font-size: 1.05rem !important; font-weight: 600 !important; margin: 0 0 .35rem 0 !important;
  padding: 0 !important; line-height: 1.45 !important; scroll-margin-top: 4rem; }
[data-testid="stMarkdownContainer"] h3.kb-card-title .kb-where { font-weight: 400; }
.kb-meta { color: #555a66; font-size: .875rem; }
.kb-badge { display: inline-block; background: #e8eefc; color: #1d3f8f; border-radius: .6rem;
            padding: .05rem .55rem; margin: 0 .3rem .3rem 0; font-size: .82rem; }
.kb-passage { line-height: 1.6; }
:focus-visible { outline: 3px solid #1d4ed8 !important; outline-offset: 2px; }
</style>
"""


@lru_cache(maxsize=1)
def _translator() -> str:
    return "<script>" + (Path(__file__).with_name("french.js")).read_text(encoding="utf-8") + "</script>"


def install() -> None:
    """Styles and the French translator of Streamlit's built-in strings (once per browser tab)."""
    st.html(CSS)
    st.html(_translator(), unsafe_allow_javascript=True)
