"""Where things are: one environment variable per path, as documented in the README."""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CORPUS = "corpus"
DEFAULT_INDEX = "index"


def corpus_dir(arg: str | os.PathLike | None = None) -> Path:
    """``arg``, else ``KB_CORPUS``, else ``./corpus``."""
    return Path(arg or os.environ.get("KB_CORPUS") or DEFAULT_CORPUS)


def index_dir(arg: str | os.PathLike | None = None) -> Path:
    """``arg``, else ``KB_INDEX``, else ``./index``."""
    return Path(arg or os.environ.get("KB_INDEX") or DEFAULT_INDEX)
