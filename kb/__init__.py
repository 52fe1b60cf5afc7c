"""kb: a knowledge base with hybrid semantic search over French practice documents.

The library is the product; ``kb`` (CLI) and ``app.py`` (Streamlit) are thin
front ends. Pipeline stages, one module each: :mod:`kb.extract`,
:mod:`kb.clean`, :mod:`kb.language`, :mod:`kb.chunk`, :mod:`kb.embed`,
:mod:`kb.dense`, :mod:`kb.store`, :mod:`kb.build`.
"""
__version__ = "0.1.0"
