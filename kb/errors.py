"""Exception hierarchy.

Rule (as in pypdf): raise when the caller must act, log when the library handled
it. A bad file in a corpus is not an exception for the build: it becomes a
``Skipped`` record with its reason.
"""
from __future__ import annotations


class KbError(Exception):
    """Base class of every error kb raises on purpose."""


class ExtractionError(KbError):
    """A file could not be turned into text; ``reason`` is short and user-facing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IndexMissingError(KbError):
    """There is no index at the given location."""


class IndexCorruptError(KbError):
    """The index folder exists but cannot be read."""


class IndexFormatError(IndexCorruptError):
    """The index was written by an earlier version of kb, in another format: a rebuild upgrades it."""


class CorpusMissingError(KbError):
    """The corpus folder to build from does not exist."""


class BuildLockedError(KbError):
    """Another build is running on the same index folder."""


class IndexMismatchError(KbError):
    """The index was built with another embedding model or format."""


class ConfigError(KbError):
    """Bad configuration (unknown embedder backend, missing model folder...)."""


class QueryError(KbError):
    """A query that cannot be answered; ``kind`` is "empty", "stopwords" or "mode"."""

    def __init__(self, message: str, kind: str = "empty") -> None:
        super().__init__(message)
        self.kind = kind
