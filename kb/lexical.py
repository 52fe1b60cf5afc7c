"""BM25 over French-analysed chunks (bm25s), stored as plain files in the index.

Public entry points: :func:`build_lexical`, :func:`save_lexical`,
:func:`load_lexical`, :func:`lexical_scores`.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .analyzer import analyze

LEXICAL_DIR = "lexical"
BM25_K1, BM25_B = 1.2, 0.75


def build_lexical(texts: Iterable[str]):
    """A BM25 model over ``texts`` (rows align with the chunks).

    Each text's terms are kept as one small array of term numbers, not as
    strings: at a million chunks, lists of strings alone took gigabytes.
    """
    import bm25s

    model = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    vocab: dict[str, int] = {}
    ids = [np.fromiter((vocab.setdefault(t, len(vocab)) for t in analyze(text) or ["∅"]), dtype=np.int32)
           for text in texts]  # bm25s needs one token a document
    if ids:
        model.index((ids, vocab), show_progress=False)
    return model


def save_lexical(model, folder: Path) -> None:
    model.save(str(folder), show_progress=False, allow_pickle=False)


def load_lexical(folder: Path):
    """The BM25 model saved in ``folder``; its score arrays are memory-mapped, not read."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s.BM25.load(str(folder), mmap=True, show_progress=False, allow_pickle=False)


def vocabulary(model) -> dict[str, int]:
    """The model's terms (empty for an empty index)."""
    return getattr(model, "vocab_dict", None) or {}


def lexical_scores(model, terms: Sequence[str], n: int) -> np.ndarray:
    """BM25 score of every chunk for the query ``terms`` (zeros when none is known)."""
    vocab = vocabulary(model)
    ids = [vocab[t] for t in terms if t in vocab]
    if not ids:
        return np.zeros(n, dtype=np.float32)
    return np.asarray(model.get_scores(ids), dtype=np.float32)
