"""French for people: the library's skip reasons, which stay stable codes in the index and in `--json`.

Public entry point: :func:`french_reason`.
"""
from __future__ import annotations

import re

# The reasons given by extraction, the per-document chain, the build, the readers and OCR → French, in order.
_REASONS: tuple[tuple[str, str], ...] = (
    (r"empty file", "fichier vide"),
    (r"not a PDF \(no %PDF header\)", "ce n’est pas un PDF (pas d’en-tête %PDF)"),
    (r"truncated PDF \(no end-of-file marker\)", "PDF incomplet (pas de fin de fichier), sans doute un téléchargement interrompu"),
    (r"corrupt PDF: PDFium cannot parse it", "PDF endommagé : impossible de le lire"),
    (r"corrupt PDF: page (\d+) cannot be read.*", r"PDF endommagé : la page \1 est illisible"),
    (r"PDF has no pages", "le PDF n’a aucune page"),
    (r"encrypted: needs a password to open", "protégé par un mot de passe : impossible de l’ouvrir"),
    (r"encrypted with an unsupported security handler", "chiffré avec une protection non prise en charge"),
    (r"no text layer: needs OCR: install (.+?) \((.+)\)",
     r"document numérisé : installez \1 pour le lire (\2)"),
    (r"no text layer: needs OCR: kb build --no-ocr", "document numérisé : non lu (kb build --no-ocr)"),
    (r"no text layer: needs OCR.*", "document numérisé sans texte : il faut une reconnaissance de caractères (OCR)"),
    (r"no words to index: .*", "rien à indexer : la couche de texte ne contient que des chiffres et des symboles"),
    (r"nothing to index: .*", "rien à indexer : seulement une table des matières, un index ou une bibliographie"),
    (r"unreadable text: the letters do not form words.*",
     "texte illisible : les lettres ne forment pas de mots (polices sans correspondance Unicode)"),
    (r"duplicate of (.+)", r"doublon de \1 (mêmes octets)"),
    (r"not a regular file.*", "ce n’est pas un fichier ordinaire (dossier, tube ou périphérique nommé .pdf)"),
    (r"cannot be read: the file vanished or is a broken link", "illisible : le fichier a disparu ou le lien est brisé"),
    (r"cannot be read: permission denied", "illisible : permission refusée"),
    (r"cannot be read: (.+)", r"illisible : \1"),
    (r"too large: .*", "trop volumineux : sa lecture dépasse la mémoire permise pour un document"),
    (r"too large or malformed: .*", "trop volumineux ou malformé : sa lecture dépasse la mémoire permise"),
    (r"too slow: reading it took more than (\S+) s", r"trop long : sa lecture a pris plus de \1 s"),
    (r"reading it stopped the reader.*", "sa lecture a interrompu le lecteur de PDF"),
    (r"unexpected error while reading: (.+)", r"erreur inattendue à la lecture : \1"),
    (r"needs OCR: (.+)", r"reconnaissance de caractères (OCR) nécessaire : \1"),
    (r"OCR failed: (.+)", r"échec de la reconnaissance de caractères (OCR) : \1"),
    (r"OCR timed out: Tesseract read no word in (\S+) s a page \((\d+) pages?\)",
     r"reconnaissance de caractères (OCR) trop longue : aucun mot lu en \1 s par page (\2 page(s))"),
    (r"OCR timed out: (.+)", r"reconnaissance de caractères (OCR) trop longue : \1"),
    (r"OCR found no text: Tesseract read no word on the (\d+) pages? scanned",
     r"la reconnaissance de caractères (OCR) n’a lu aucun mot sur \1 page(s) numérisée(s) (image sans texte ?)"),
    (r"OCR found no text: (.+)", r"la reconnaissance de caractères (OCR) n’a lu aucun mot : \1"),
)


def french_reason(reason: str) -> str:
    """A skip or refusal reason in French; an unknown reason is returned as it is."""
    for pattern, french in _REASONS:
        if re.fullmatch(pattern, reason, flags=re.S):
            return re.sub(pattern, french, reason, count=1, flags=re.S)
    return reason
