"""Imported once by the process that forks the reading workers (see :mod:`kb.workers`).

Whatever is loaded here is shared by every worker instead of being loaded again
by each: the per-document chain and langdetect's language profiles (about a
second and a half to read).
"""
from .document import read_document  # noqa: F401
from .language import detect_language

detect_language("Les profils de langue sont chargés une seule fois pour tous les lecteurs.")
