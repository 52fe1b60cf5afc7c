"""The index folder: the one module that writes it and reads it.

Layout::

    index/
      CURRENT                 name of the live version folder (one line)
      .lock                   held by the build that is running, if any
      feedback.jsonl          practitioners' « utile / pas utile » marks (kb/feedback.py)
      fusion.json             fusion weights fitted by `kb tune --apply`, if any
      ocr/SHA-SETTINGS.pdf    OCR'd copies of scanned PDFs (and .json: pages, confidences), by content
      embeddings/MODEL-KEY/   vectors already computed, by text hash (a build resumes from them)
      v-20261122T110501Z-3f2a/
        manifest.json         format, model, settings, corpus files, counts, and the size
                              and SHA-256 of every other file of the version
        documents.jsonl       one document record a line
        chunks.jsonl          one chunk a line (with its text hash), row-aligned with:
        chunks.offsets.npy    int64 (n + 1): where each line of chunks.jsonl starts (and the file size)
        chunks.docs.npy       int32 (n): each chunk's document (position in documents.jsonl)
        chunks.langs.npy      int16 (n): each chunk's language (position in the manifest's
                              chunk_languages, -1 for none): filters without parsing every chunk
        vectors.npy           float32 (n, dim), L2-normalised (no pickle)
        dense.faiss           above ``exact_max`` chunks only: the inverted file (IVF, 8-bit codes)
                              proposing candidates that the vectors re-score (kb/dense.py)
        lexical/              BM25 over the chunks (bm25s: JSON + .npy files)
        mandates.jsonl        past mandates read from the documents, row-aligned with:
        mandate_vectors.npy   their embeddings
        mandate_lexical/      BM25 over the mandates
        second_vectors.npy, mandate_second_vectors.npy
                              by a second model, when the build was given one (reranking)

:func:`save_index` writes a new version folder beside the live one, the
manifest last, and only then replaces ``CURRENT`` (``os.replace`` is atomic):
a failed or interrupted build leaves the previous index intact and a reader
never sees a half-written index. :func:`load_index` reads it back and checks
what it reads against the manifest (counts and sizes always, checksums on
request). What is large is not read at load but memory-mapped: the vectors
(held once, scored in place), the BM25 arrays, and the chunks, parsed one line
at a time when a query needs them (:class:`ChunkRows`); a damaged line raises
the same :class:`~kb.errors.IndexCorruptError` when it is read. Old versions
are pruned after the swap, never the live one nor the one it replaced.

Public entry points: :func:`save_index`, :func:`load_index`, :func:`read_status`,
:func:`read_manifest`, :func:`current_version`, :func:`build_lock`, :class:`EmbeddingCache`,
:func:`salvage_vectors`.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import mmap
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .dense import DenseInfo, build_dense, load_dense, save_dense
from .digest import file_sha256
from .files import write_atomic
from .errors import BuildLockedError, IndexCorruptError, IndexFormatError, IndexMismatchError, IndexMissingError, KbError
from .lexical import build_lexical, load_lexical, save_lexical
from .records import Chunk, Document, IndexStatus, Mandate, Skipped

FORMAT_VERSION = 5  # 5: chunks read on demand (offsets file), vectors memory-mapped, IVF above exact_max
OFFSETS = "chunks.offsets.npy"
ROW_DOCS, ROW_LANGS = "chunks.docs.npy", "chunks.langs.npy"
_ROW_CACHE = 4096
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
EMBEDDINGS = "embeddings"
_KEEP_PREVIOUS = 1
_REBUILD = "lancez `kb build` pour le réparer"


# -- what an index is ------------------------------------------------------------------------
@dataclass(frozen=True)
class Collection:
    """Row-aligned records with their text hashes, vectors, dense index and BM25 index."""

    records: Sequence[Any]  # a tuple, or the chunks of a loaded index read on demand (ChunkRows)
    text_hashes: Sequence[str]
    vectors: np.ndarray
    dense: Any = field(repr=False, default=None)  # a FAISS index over ``vectors`` (passages only)
    lexical: Any = field(repr=False, default=None)  # a bm25s model over the same rows (None when empty)
    dense_info: DenseInfo | None = None
    second_vectors: np.ndarray | None = field(repr=False, default=None)  # by the index's second model, if any

    def __len__(self) -> int:
        return len(self.records)

    @classmethod
    def build(cls, records: Sequence[Any], texts: Sequence[str], hashes: Sequence[str], vectors: np.ndarray,
              exact_max: int, dense: bool = True, second_vectors: np.ndarray | None = None,
              probes: np.ndarray | None = None) -> "Collection":
        """Index ``records`` whose lexical ``texts`` and embedded ``vectors`` are row-aligned.

        ``dense=False`` keeps no FAISS index (a few hundred rows are scored by a plain product).
        ``probes``: query vectors an approximate index is calibrated on (:func:`~kb.dense.build_dense`).
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index, info = build_dense(vectors, exact_max, probes=probes) if dense else (None, None)
        lexical = build_lexical(texts) if len(records) else None
        return cls(tuple(records), tuple(hashes), vectors, index, lexical, info, second_vectors)


@dataclass(frozen=True)
class KbIndex:
    """Everything a query needs, as one index version holds it."""

    manifest: dict[str, Any]
    documents: tuple[Document, ...]
    passages: Collection
    mandates: Collection
    path: Path | None = None  # the version folder, once saved or loaded
    row_arrays: tuple[np.ndarray, np.ndarray] | None = None  # chunks.docs.npy, chunks.langs.npy when loaded

    @property
    def chunks(self) -> Sequence[Chunk]:
        return self.passages.records

    def row_fields(self) -> tuple[np.ndarray, np.ndarray]:
        """Each chunk's document (position in ``documents``; ``len(documents)`` when unknown) and
        language (position in :attr:`chunk_languages`, -1 for none): read from the index when it has
        them (memory-mapped), else computed by one pass over the chunks."""
        if self.row_arrays is not None:
            return self.row_arrays
        return _row_fields(self.documents, self.chunks, self.chunk_languages)

    @property
    def chunk_languages(self) -> tuple[str, ...]:
        """The languages of the chunks (the manifest's list: no pass over a million chunks)."""
        langs = self.manifest.get("chunk_languages")
        return tuple(langs) if langs is not None else tuple(sorted({c.lang for c in self.chunks if c.lang}))

    @property
    def version(self) -> str:
        return self.path.name if self.path else ""

    @property
    def model_id(self) -> str:
        return self.manifest["embedder"]["model_id"]

    @property
    def embedder_spec(self) -> str:
        return self.manifest["embedder"]["spec"]

    def check_embedder(self, embedder) -> None:
        """Raise if ``embedder`` is not the model this index was built with."""
        if embedder.model_id != self.model_id:
            raise IndexMismatchError(
                f"l'index a été construit avec {self.model_id}, pas {embedder.model_id} : "
                f"reconstruisez-le avec `kb build --full --model {embedder.spec}` "
                f"ou interrogez-le avec --model {self.embedder_spec}")


def _row_fields(documents: Sequence[Document], chunks: Sequence[Chunk],
                languages: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    where = {d.doc_id: i for i, d in enumerate(documents)}
    codes = {lang: i for i, lang in enumerate(languages)}
    return (np.fromiter((where.get(c.doc_id, len(where)) for c in chunks), np.int32, len(chunks)),
            np.fromiter((codes.get(c.lang, -1) for c in chunks), np.int16, len(chunks)))


# -- JSON helpers --------------------------------------------------------------------------------
def write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> np.ndarray:
    """Write one JSON object a line; returns where each line starts, and the file size (int64, n + 1)."""
    offsets = [0]
    with open(path, "wb") as f:
        for row in rows:
            line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
            f.write(line)
            offsets.append(offsets[-1] + len(line))
    return np.asarray(offsets, dtype=np.int64)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"fichier d'index illisible, {path} ({exc}) : {_REBUILD}") from None


class ChunkRows(Sequence):
    """The chunks of a loaded index, parsed from the memory-mapped ``chunks.jsonl`` when asked for.

    A query needs the texts and citations of its candidates only: at a million
    chunks, holding them all as Python objects took gigabytes and seconds.
    Row ``i`` is the line between ``offsets[i]`` and ``offsets[i + 1]``; the
    rows last read are kept (a bounded cache).
    """

    def __init__(self, path: Path, offsets: np.ndarray, make: Callable[[dict[str, Any]], Any]) -> None:
        self.path, self.offsets, self.make = path, offsets, make
        size = int(offsets[-1])
        if offsets.ndim != 1 or offsets[0] != 0 or (len(offsets) > 1 and not np.all(np.diff(offsets) > 0)):
            raise ValueError(f"{OFFSETS} does not describe the lines of {path.name}")
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size != size:
                raise ValueError(f"{OFFSETS} ends at {size}, not at the end of {path.name}")
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._cache: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as its JSON object."""
        try:
            return json.loads(self._map[int(self.offsets[i]):int(self.offsets[i + 1])])
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IndexCorruptError(f"fichier d'index illisible, {self.path} (ligne {i + 1} : {exc}) : "
                                    f"{_REBUILD}") from None

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        cached = self._cache.get(i)
        if cached is None:
            if len(self._cache) >= _ROW_CACHE:
                self._cache.clear()
            try:
                cached = self._cache[i] = self.make(self.row(i))
            except (KeyError, TypeError, ValueError) as exc:
                raise IndexCorruptError(f"index endommagé, {self.path} (ligne {i + 1} : {exc}) : {_REBUILD}") from None
        return cached

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def field(self, name: str) -> "FieldView":
        return FieldView(self, name)


class FieldView(Sequence):
    """One field of every row of a :class:`ChunkRows` (the text hashes), read on demand."""

    def __init__(self, rows: ChunkRows, name: str) -> None:
        self.rows, self.name = rows, name

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        try:
            return self.rows.row(i)[self.name]
        except (KeyError, TypeError):
            raise IndexCorruptError(f"index endommagé, {self.rows.path} (ligne {i + 1}) : {_REBUILD}") from None


def _inventory(folder: Path) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of every file under ``folder`` (but the manifest), by relative path."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            out[p.relative_to(folder).as_posix()] = {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
    return out


# -- the live version -------------------------------------------------------------------------
def current_version(index_dir: str | Path) -> Path:
    """The live version folder of an index.

    Raises:
        IndexMissingError: no index was ever built there.
        IndexCorruptError: the pointer or the folder it names is broken.
    """
    index_dir = Path(index_dir)
    pointer = index_dir / CURRENT
    if not pointer.exists():
        raise IndexMissingError(f"aucun index dans {index_dir} : lancez d'abord `kb build`")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"index endommagé, {pointer} est illisible ({exc}) : {_REBUILD}") from None
    version = index_dir / name
    if not name or "/" in name or not (version / MANIFEST).is_file():
        raise IndexCorruptError(f"index endommagé dans {index_dir} ({CURRENT} désigne une version "
                                f"absente, {name!r}) : {_REBUILD}")
    return version


def read_manifest(version: Path, any_format: bool = False) -> dict[str, Any]:
    """The manifest of one version folder, checked for its format (unless ``any_format``)."""
    try:
        manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"index endommagé, manifeste illisible ({version / MANIFEST} : {exc}) : {_REBUILD}") from None
    found = manifest.get("format_version") if isinstance(manifest, dict) else None
    if not isinstance(found, int) or isinstance(found, bool):
        raise IndexCorruptError(f"index endommagé, manifeste sans format ({version / MANIFEST}) : {_REBUILD}")
    if found != FORMAT_VERSION and not any_format:
        raise IndexFormatError(f"l'index de {version.parent} est au format {found}, cette version de kb lit "
                                f"le format {FORMAT_VERSION} : {_REBUILD}")
    return manifest


def read_status(index_dir: str | Path) -> IndexStatus:
    """What `kb status` shows; reads only the manifest (cheap)."""
    version = current_version(index_dir)
    m = read_manifest(version)
    try:
        return IndexStatus(str(version.parent), version.name, m["documents"], m["chunks"], m["mandates"],
                           m["embedder"]["model_id"], m["embedder"]["spec"], m["dense"]["type"], m["built_at"],
                           m.get("corpus"), tuple(Skipped(s["path"], s["reason"]) for s in m["skipped"]),
                           tuple(m.get("ocr", ())), (m.get("pipeline") or {}).get("version"))
    except (KeyError, TypeError) as exc:
        raise IndexCorruptError(f"index endommagé, il manque {exc} au manifeste de {version} : {_REBUILD}") from None


# -- saving ----------------------------------------------------------------------------------------
def save_index(index_dir: str | Path, index: KbIndex) -> KbIndex:
    """Write ``index`` as a new version of ``index_dir`` and make it live.

    The manifest gains the counts and the size and checksum of every file.
    Returns the index with its ``path`` and final manifest. Call under :func:`build_lock`.
    """
    with _VersionWriter(index_dir) as writer:
        folder = writer.path
        write_jsonl(folder / "documents.jsonl", (asdict(d) for d in index.documents))
        _save_collection(folder, "", index.passages, lambda c: c.to_dict())
        _save_collection(folder, "mandate_", index.mandates, lambda m: m.to_dict())
        languages = sorted({c.lang for c in index.chunks if c.lang})
        rows = _row_fields(index.documents, index.chunks, languages)
        np.save(folder / ROW_DOCS, rows[0], allow_pickle=False)
        np.save(folder / ROW_LANGS, rows[1], allow_pickle=False)
        manifest = {**index.manifest, "format_version": FORMAT_VERSION, "documents": len(index.documents),
                    "chunks": len(index.passages), "mandates": len(index.mandates),
                    "dense": index.passages.dense_info.to_dict(), "chunk_languages": languages,
                    "checksums": _inventory(folder)}
        write_json(folder / MANIFEST, manifest)
        path = writer.commit()
    return replace(index, manifest=manifest, path=path, row_arrays=rows)


def _records_file(prefix: str) -> str:
    return "mandates.jsonl" if prefix else "chunks.jsonl"


def _save_collection(folder: Path, prefix: str, c: Collection, to_dict) -> None:
    offsets = write_jsonl(folder / _records_file(prefix),
                          ({**to_dict(r), "text_hash": h} for r, h in zip(c.records, c.text_hashes)))
    np.save(folder / f"{prefix}vectors.npy", np.ascontiguousarray(c.vectors, dtype=np.float32), allow_pickle=False)
    if not prefix:
        np.save(folder / OFFSETS, offsets, allow_pickle=False)
        if c.dense_info is not None and c.dense_info.type != "flat":
            save_dense(c.dense, folder / "dense.faiss")
    if c.lexical is not None:
        save_lexical(c.lexical, folder / f"{prefix}lexical")
    if c.second_vectors is not None:
        np.save(folder / f"{prefix}second_vectors.npy", np.ascontiguousarray(c.second_vectors, dtype=np.float32),
                allow_pickle=False)


class _VersionWriter:
    """A new version folder; it becomes live only on :meth:`commit` (else it is deleted)."""

    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=".partial-", dir=self.index_dir))
        self.committed: Path | None = None

    def __enter__(self) -> "_VersionWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.committed is None:
            shutil.rmtree(self.path, ignore_errors=True)

    def commit(self) -> Path:
        for f in self.path.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        final = self.index_dir / f"v-{stamp}-{self.path.name[-6:]}"
        os.rename(self.path, final)
        previous = _pointed(self.index_dir)
        write_atomic(self.index_dir / CURRENT, lambda f: f.write((final.name + "\n").encode("utf-8")))
        _fsync_dir(self.index_dir)
        self.committed = final
        _prune(self.index_dir, keep={final.name, previous})
        return final


def _pointed(index_dir: Path) -> str:
    try:
        return (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _prune(index_dir: Path, keep: set[str]) -> None:
    """Delete old versions; never the live one, nor the one it replaced (readers may hold it)."""
    for p in index_dir.glob("v-*"):
        if p.is_dir() and p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- loading ---------------------------------------------------------------------------------------
def load_index(index_dir: str | Path, verify: bool = False) -> KbIndex:
    """Load the live version of the index at ``index_dir``.

    Args:
        index_dir: the index folder.
        verify: also compare every file's SHA-256 with the manifest (sizes and counts are always checked).

    Raises:
        IndexMissingError / IndexCorruptError: with a sentence that says what to do.
    """
    version = current_version(index_dir)
    manifest = read_manifest(version)
    _check_files(version, manifest, verify)
    try:
        documents = tuple(_document(r) for r in read_jsonl(version / "documents.jsonl"))
        passages = _load_collection(version, "", _chunk, DenseInfo(**manifest["dense"]))
        mandates = _load_collection(version, "mandate_", _mandate, None)
        rows = _load_row_arrays(version, len(passages), len(documents), len(manifest.get("chunk_languages") or ()))
    except (KeyError, TypeError, ValueError, OSError, RuntimeError) as exc:
        raise IndexCorruptError(f"index endommagé dans {version} ({type(exc).__name__} : {exc}) : {_REBUILD}") from None
    for name, c, n in (("chunks", passages, manifest.get("chunks")), ("mandates", mandates, manifest.get("mandates"))):
        if not (len(c) == c.vectors.shape[0] == n) or (c.dense is not None and c.dense.ntotal != len(c)):
            raise IndexCorruptError(f"index endommagé dans {version} ({n} {name} selon le manifeste, {len(c)} "
                                    f"enregistrements, {c.vectors.shape[0]} vecteurs) : {_REBUILD}")
    if len(documents) != manifest.get("documents"):
        raise IndexCorruptError(f"index endommagé dans {version} (documents.jsonl contredit le manifeste) : "
                                f"{_REBUILD}")
    return KbIndex(manifest, documents, passages, mandates, version, rows)


def _load_row_arrays(version: Path, n: int, documents: int, languages: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``chunks.docs.npy`` and ``chunks.langs.npy`` memory-mapped and checked; None for an index built
    before they existed (the searcher then computes them once)."""
    if not (version / ROW_DOCS).exists():
        return None
    docs = np.load(version / ROW_DOCS, allow_pickle=False, mmap_mode="r")
    langs = np.load(version / ROW_LANGS, allow_pickle=False, mmap_mode="r")
    if docs.shape != (n,) or langs.shape != (n,) or docs.dtype != np.int32 or langs.dtype != np.int16:
        raise ValueError(f"{ROW_DOCS} / {ROW_LANGS} do not hold one value a chunk")
    if n and (docs.min() < 0 or docs.max() > documents or langs.min() < -1 or langs.max() >= languages):
        raise ValueError(f"{ROW_DOCS} / {ROW_LANGS} point outside the documents or languages")
    return docs, langs


def salvage_vectors(index_dir: str | Path, model_id: str, second: bool = False) -> dict[str, np.ndarray]:
    """Vectors that can still be trusted in a damaged index, by text hash (for the repairing build).

    A records file and its vectors are kept only when both match the checksums
    of a readable manifest of the same model (of this format or an earlier one:
    records and vectors files have kept their names); anything else is embedded again.
    ``second``: the second model's vectors instead of the first's.
    """
    key, stem = ("second_embedder", "second_vectors") if second else ("embedder", "vectors")
    try:
        version = current_version(index_dir)
        manifest = read_manifest(version, any_format=True)
        if manifest[key]["model_id"] != model_id:
            return {}
        sums = manifest["checksums"]
    except (KbError, KeyError, TypeError):
        return {}
    out: dict[str, np.ndarray] = {}
    for prefix in ("", "mandate_"):
        names = (_records_file(prefix), f"{prefix}{stem}.npy")
        try:
            if not all(file_sha256(version / n) == sums[n]["sha256"] for n in names):
                continue
            rows = read_jsonl(version / names[0])
            vectors = np.load(version / names[1], allow_pickle=False)
        except (KbError, KeyError, TypeError, OSError, ValueError):
            continue
        if vectors.ndim == 2 and len(rows) == vectors.shape[0]:
            out.update((r.get("text_hash", ""), v) for r, v in zip(rows, vectors.astype(np.float32)))
    out.pop("", None)
    return out


def _check_files(version: Path, manifest: dict[str, Any], verify: bool) -> None:
    checksums = manifest.get("checksums")
    if not isinstance(checksums, dict) or not checksums:
        raise IndexCorruptError(f"index endommagé, le manifeste de {version} ne liste aucun fichier : {_REBUILD}")
    for rel, want in checksums.items():
        p = version / rel
        try:
            size = p.stat().st_size
        except OSError:
            raise IndexCorruptError(f"index endommagé, {p} est absent : {_REBUILD}") from None
        if size != want.get("bytes") or (verify and file_sha256(p) != want.get("sha256")):
            raise IndexCorruptError(f"index endommagé, {p} n'a plus la taille ou la somme de contrôle que "
                                    f"le manifeste indique : {_REBUILD}")


def _load_collection(version: Path, prefix: str, make, info: DenseInfo | None) -> Collection:
    """Passages (``info`` given): rows read on demand, vectors memory-mapped; mandates (a few): read whole."""
    if info is not None:
        rows = ChunkRows(version / _records_file(prefix), np.load(version / OFFSETS, allow_pickle=False), make)
        records, hashes = rows, rows.field("text_hash")
    else:
        dicts = read_jsonl(version / _records_file(prefix))
        records, hashes = tuple(make(r) for r in dicts), tuple(r["text_hash"] for r in dicts)
    vectors = np.load(version / f"{prefix}vectors.npy", allow_pickle=False, mmap_mode="r" if info else None)
    if vectors.dtype != np.float32 or vectors.ndim != 2:
        raise ValueError(f"{prefix}vectors.npy holds {vectors.dtype} {vectors.shape}")
    dense = load_dense(version / "dense.faiss", info, vectors) if info is not None else None
    lexical = load_lexical(version / f"{prefix}lexical") if len(records) else None
    second_file = version / f"{prefix}second_vectors.npy"
    second = np.load(second_file, allow_pickle=False, mmap_mode="r") if second_file.exists() else None
    if second is not None and (second.ndim != 2 or second.shape[0] != vectors.shape[0]):
        raise ValueError(f"{second_file.name} holds {second.shape}, not one vector a row")
    return Collection(records, hashes, vectors, dense, lexical, info, second)


def _chunk(row: dict[str, Any]) -> Chunk:
    return Chunk(**{k: row[k] for k in Chunk.__dataclass_fields__})


def _document(row: dict[str, Any]) -> Document:
    d = {k: row[k] for k in Document.__dataclass_fields__ if k in row}
    for k in ("ocr_pages", "low_confidence_pages", "unread_pages"):
        d[k] = tuple(d.get(k, ()))
    return Document(**d)


def _mandate(row: dict[str, Any]) -> Mandate:
    m = {k: row[k] for k in Mandate.__dataclass_fields__}
    for k in ("deliverables", "links", "themes"):
        m[k] = tuple(m[k])
    return Mandate(**m)


# -- what lives beside the versions: practitioners' marks, fitted fusion weights -----------------
FEEDBACK = "feedback.jsonl"
TUNING = "fusion.json"
OCR_CACHE = "ocr"


def ocr_cache_dir(index_dir: str | Path) -> Path:
    """Where OCR'd copies of scanned PDFs are kept by content hash (they survive rebuilds)."""
    return Path(index_dir) / OCR_CACHE


def feedback_path(index_dir: str | Path) -> Path:
    """Where the app's « utile / pas utile » marks are kept (they survive rebuilds)."""
    return Path(index_dir) / FEEDBACK


def read_tuning(index_dir: str | Path) -> dict[str, Any] | None:
    """The fusion weights `kb tune --apply` fitted for this index, or None."""
    try:
        data = json.loads((Path(index_dir) / TUNING).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_tuning(index_dir: str | Path, data: dict[str, Any]) -> None:
    """Replace the fitted fusion weights atomically."""
    path = Path(index_dir) / TUNING
    write_atomic(path, lambda f: f.write((json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")))


def clear_tuning(index_dir: str | Path) -> None:
    """Back to the default fusion weights."""
    (Path(index_dir) / TUNING).unlink(missing_ok=True)


# -- the build lock and the embedding cache -------------------------------------------------------
def remove_stale_partials(index_dir: Path) -> None:
    """Delete folders left by builds that were killed (only call under the build lock)."""
    for p in index_dir.glob(".partial-*"):
        shutil.rmtree(p, ignore_errors=True)


@contextmanager
def build_lock(index_dir: str | Path) -> Iterator[None]:
    """Only one build at a time per index folder (readers never wait).

    Raises:
        BuildLockedError: another build holds the lock.
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLockedError(f"une autre construction est déjà en cours sur {index_dir}") from None
        try:
            remove_stale_partials(index_dir)
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class EmbeddingCache:
    """Vectors by (text hash, model id), written batch by batch so an interrupted build resumes.

    One folder per model under ``index/embeddings/``; each batch is one pair of
    files (``NNNNNN.npy`` vectors, ``NNNNNN.json`` hashes) written atomically,
    so a kill mid-batch loses that batch only. Use under :func:`build_lock`.
    """

    def __init__(self, index_dir: str | Path, model_id: str) -> None:
        key = hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:16]
        self.folder = Path(index_dir) / EMBEDDINGS / key
        self.model_id = model_id
        self._vectors: dict[str, np.ndarray] = {}
        self._loaded = False
        self._batches = 0  # batch files on disk: the next one's number

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        found = sorted(self.folder.glob("[0-9]*.json"))
        self._batches = len(found)
        for keys_file in found:
            try:
                hashes = json.loads(keys_file.read_text(encoding="utf-8"))
                vectors = np.load(keys_file.with_suffix(".npy"), allow_pickle=False)
            except (OSError, ValueError, UnicodeDecodeError):
                continue  # a damaged batch is embedded again, nothing worse
            if isinstance(hashes, list) and vectors.ndim == 2 and len(hashes) == vectors.shape[0]:
                self._vectors.update(zip(hashes, vectors.astype(np.float32)))

    def get(self, text_hash: str) -> np.ndarray | None:
        self._load()
        return self._vectors.get(text_hash)

    def put(self, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Remember and persist one batch."""
        self._load()
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = self.folder / f"{self._batches:06d}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
        self._batches += 1
        write_atomic(stem.with_suffix(".npy"), lambda f: np.save(f, np.asarray(vectors, np.float32), allow_pickle=False))
        write_atomic(stem.with_suffix(".json"), lambda f: f.write(json.dumps(list(hashes)).encode("utf-8")))
        self._vectors.update(zip(hashes, np.asarray(vectors, np.float32)))

    def remember(self, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Hold vectors already stored elsewhere (the live index) without writing them again."""
        self._load()
        self._vectors.update(zip(hashes, vectors))

    def clear(self) -> None:
        """Forget this cache on disk, and every other model's (after a successful build)."""
        shutil.rmtree(self.folder.parent, ignore_errors=True)
        self._vectors.clear()


__all__ = ["Collection", "KbIndex", "save_index", "load_index", "read_status", "read_manifest",
           "current_version", "build_lock", "EmbeddingCache", "salvage_vectors", "feedback_path", "read_tuning",
           "write_tuning"]
