"""Corpus folder → index folder, incrementally and atomically (`kb build`).

Four stages, each a function a reader finds by name:

1. **scan**: every ``*.pdf`` under the corpus, hashed (a file whose size and
   modification time did not change is not even re-read);
2. **plan** (:func:`plan_build`, pure): one canonical path per content, the
   same bytes under a second name reported as a duplicate; what can be reused
   from the previous index (also under a new name), what must be read, what
   was removed;
3. **read**: the per-document chain (:mod:`kb.document`) for new or changed files;
   any error in one file skips that file with its reason;
4. **embed and write**: only texts never embedded with this model are embedded
   (:class:`~kb.store.EmbeddingCache`, persisted batch by batch so an
   interrupted build resumes), then :func:`~kb.store.save_index`.

When nothing changed, nothing is written.

Public entry points: :func:`build_index`, :func:`plan_build`, :func:`build_embedder_spec`,
:func:`lower_build_priority`.
"""
from __future__ import annotations

import hashlib
import logging
import os
import stat
import sys
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import __version__
from .chunk import ChunkSettings
from .corpus import corpus_pdfs
from .dense import EXACT_MAX, RECALL_QUERIES
from .digest import file_sha256
from .document import PIPELINE_VERSION, DocumentContent
from .embed import Embedder, choose_second_spec, choose_spec
from .errors import CorpusMissingError, ExtractionError, IndexCorruptError, IndexFormatError, IndexMissingError, KbError
from .lexical import BM25_B, BM25_K1
from .mandates import mandate_lexical_text, mandate_text, with_path
from .records import Chunk, IndexStatus, Skipped
from .store import (Collection, EmbeddingCache, KbIndex, build_lock, current_version, load_index, ocr_cache_dir,
                    read_manifest, salvage_vectors, save_index)
from .ocr import OcrOptions, OcrSettings, ocr_available, prune_cache
from .workers import Job, ReadLimits, read_all

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


def lower_build_priority() -> int:
    """Lower the calling thread's CPU priority by ``KB_BUILD_NICE`` (default 10; 0 keeps it) for good.

    A build is background work: on a machine it shares with people searching,
    queries should get the cores first. The threads and reading processes the
    build starts inherit the priority. Call it from a thread (or a process)
    that only builds, since it cannot be raised again. Linux only (elsewhere
    a thread's priority cannot be set alone); returns the niceness added.
    """
    try:
        step = max(0, int(os.environ.get("KB_BUILD_NICE", "10")))
    except ValueError:
        step = 10
    if not step or not sys.platform.startswith("linux"):
        return 0
    tid = threading.get_native_id()
    try:
        before = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, before + step))
    except (OSError, AttributeError, OverflowError, ValueError):  # not allowed: the build runs as it is
        return 0
    return min(19, before + step) - before


@dataclass(frozen=True)
class BuildOptions:
    """Settings of a build."""

    full: bool = False  # ignore everything the previous index holds
    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    exact_max: int = EXACT_MAX  # above this many chunks, an approximate (HNSW) index
    batch_size: int = 4  # texts a model call: the engine is ~10 % faster on small batches (bench_embed.py)
    save_every: int = 64  # texts a saved batch of the embedding cache (and on any interruption)
    limits: ReadLimits = field(default_factory=ReadLimits)  # memory and time per document, workers
    ocr: bool = True  # OCR scanned pages when Tesseract is installed (`kb build --no-ocr`: never)
    ocr_settings: OcrSettings = field(default_factory=OcrSettings)


@dataclass(frozen=True)
class BuildReport:
    """What a build did; ``to_dict`` is the `kb build --json` contract."""

    documents: int
    chunks: int
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    skipped: tuple[Skipped, ...]
    seconds: float
    model: str
    embedded: int  # chunks and mandates embedded by this build (0 when everything was cached)
    written: bool  # False when nothing changed and the index was left as it was
    version: str
    notes: tuple[str, ...] = ()
    mandates: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # pages of tables of contents, indexes, bibliographies
    ocr: tuple[dict[str, Any], ...] = ()  # documents with scanned pages: pages OCR'd, confidence, language

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(added=list(self.added), updated=list(self.updated), removed=list(self.removed),
                 skipped=[asdict(s) for s in self.skipped], seconds=round(self.seconds, 3), notes=list(self.notes),
                 ocr=list(self.ocr))
        return d


@dataclass(frozen=True)
class Task:
    """One content of the corpus and what the build does with it."""

    sha256: str
    path: str  # the canonical path of this content
    action: str  # "reuse" (from the previous index) | "read" | "skip"
    reason: str = ""  # for "skip": the reason the previous build gave


@dataclass(frozen=True)
class BuildPlan:
    """What a build will do, decided from file hashes alone."""

    tasks: tuple[Task, ...]
    duplicates: tuple[Skipped, ...]
    removed: tuple[str, ...]  # paths indexed before and not now present


# -- 1. scan -----------------------------------------------------------------------------------------
def passage_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its text under its document title and section."""
    head = chunk.title if not chunk.section else f"{chunk.title} — {chunk.section}"
    return f"{head}\n{chunk.text}"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _file_state(path: Path, old: Mapping[str, Any] | None) -> dict[str, Any]:
    """Hash and stat of one corpus file (the hash reused when size and mtime match).

    Raises:
        ExtractionError: the file is not a regular file or cannot be read.
    """
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise ExtractionError("not a regular file (a folder, a pipe or a device named .pdf)")
        if old and old.get("size") == st.st_size and old.get("mtime_ns") == st.st_mtime_ns:
            sha = old["sha256"]
        else:
            sha = file_sha256(path)
    except FileNotFoundError:
        raise ExtractionError("cannot be read: the file vanished or is a broken link") from None
    except PermissionError:
        raise ExtractionError("cannot be read: permission denied") from None
    except OSError as exc:
        raise ExtractionError(f"cannot be read: {exc.strerror or exc}") from None
    return {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _scan(corpus: Path, prev_files: Mapping[str, Any], tick: Progress) -> tuple[dict, list[Skipped]]:
    rels = corpus_pdfs(corpus)
    files: dict[str, dict[str, Any]] = {}
    unreadable: list[Skipped] = []
    for i, rel in enumerate(rels):
        try:
            files[rel] = _file_state(corpus / rel, prev_files.get(rel))
        except ExtractionError as exc:
            unreadable.append(Skipped(rel, exc.reason))
        tick("scan", i + 1, len(rels))
    return files, unreadable


# -- 2. plan -----------------------------------------------------------------------------------------
def plan_build(files: Mapping[str, str], previous: Mapping[str, Mapping[str, Any]] | None,
               reuse: bool) -> BuildPlan:
    """Decide what to do with each content of the corpus (pure: no file is read).

    Args:
        files: the corpus now, relative path → SHA-256.
        previous: the previous index's ``files`` (path → ``sha256``, ``status``,
            ``reason``), or None when there is none.
        reuse: whether the previous documents can be reused (same pipeline).
    """
    previous = previous or {}
    by_sha: dict[str, list[str]] = defaultdict(list)
    for rel in sorted(files):
        by_sha[files[rel]].append(rel)
    indexed = {f["sha256"]: rel for rel, f in previous.items() if f.get("status") == "indexed"} if reuse else {}
    bad = {f["sha256"]: f.get("reason", "") for f in previous.values() if f.get("status") == "skipped"
           and not f.get("reason", "").startswith("duplicate of")} if reuse else {}
    tasks, duplicates = [], []
    for sha, paths in sorted(by_sha.items(), key=lambda kv: kv[1][0]):
        # Keep the name indexed before; else the shortest (copies get longer names).
        canonical = indexed[sha] if indexed.get(sha) in paths else min(paths, key=lambda p: (len(p), p))
        duplicates += [Skipped(p, f"duplicate of {canonical}") for p in paths if p != canonical]
        if sha in bad:
            tasks.append(Task(sha, canonical, "skip", bad[sha]))
        else:
            tasks.append(Task(sha, canonical, "reuse" if sha in indexed else "read"))
    removed = sorted(rel for rel, f in previous.items() if f.get("status") == "indexed" and rel not in
                     {t.path for t in tasks if t.action != "skip"})
    return BuildPlan(tuple(tasks), tuple(duplicates), tuple(removed))


# -- 3. read -----------------------------------------------------------------------------------------
class _Previous:
    """The previous index's documents, grouped for reuse by content hash."""

    def __init__(self, prev: KbIndex) -> None:
        self.documents = {d.sha256: d for d in prev.documents}
        self.dropped = {f["sha256"]: f.get("dropped", {}) for f in prev.manifest.get("files", {}).values()
                        if f.get("status") == "indexed"}
        self.chunks: dict[str, list[Chunk]] = defaultdict(list)
        self.mandates: dict[str, list] = defaultdict(list)
        for c in prev.chunks:
            self.chunks[c.doc_id].append(c)
        for m in prev.mandates.records:
            self.mandates[m.doc_id].append(m)

    def reuse(self, task: Task) -> DocumentContent:
        """The previous content of ``task``'s file, under its (possibly new) path."""
        doc = self.documents[task.sha256]
        chunks = tuple(replace(c, path=task.path) for c in self.chunks[doc.doc_id])
        return DocumentContent(replace(doc, path=task.path), chunks,
                               tuple(with_path(self.mandates[doc.doc_id], task.path)), self.dropped.get(doc.sha256, {}))


class _OcrProgress:
    """Pages OCR'd out of the pages announced so far, as the progress stage « ocr »."""

    def __init__(self, tick: Progress) -> None:
        self.tick, self.announced, self.done = tick, 0, 0

    def announce(self, pages: int) -> None:
        self.announced += pages
        self.tick("ocr", self.done, self.announced)

    def finished(self, content: DocumentContent | ExtractionError) -> None:
        if isinstance(content, DocumentContent) and content.document.ocr_pages and self.announced:
            self.done = min(self.announced, self.done + len(content.document.ocr_pages))
            self.tick("ocr", self.done, self.announced)


def _read(corpus: Path, plan: BuildPlan, prev: KbIndex | None, options: BuildOptions, ocr: OcrOptions,
          tick: Progress) -> tuple[list[DocumentContent], list[Skipped]]:
    """Reuse, skip or read each task; new documents are read by bounded worker processes."""
    previous = _Previous(prev) if prev is not None else None
    outcomes: dict[str, DocumentContent | Skipped] = {}
    jobs = []
    for task in plan.tasks:
        if task.action == "skip":
            outcomes[task.path] = Skipped(task.path, task.reason)
        elif task.action == "reuse" and previous is not None:
            outcomes[task.path] = previous.reuse(task)
        else:
            jobs.append(Job(corpus / task.path, task.path, task.sha256))
    total = len(plan.tasks)
    progress = iter(range(len(outcomes) + 1, total + 1))
    tick("extract", len(outcomes), total)
    pages = _OcrProgress(tick)
    for job, outcome in read_all(jobs, options.chunking, options.limits, lambda: tick("extract", next(progress), total),
                                 replace(ocr, announce=pages.announce)):
        pages.finished(outcome)
        if isinstance(outcome, ExtractionError):
            if outcome.reason.startswith("unexpected error"):
                log.error("unexpected error reading %s: %s", job.path, outcome.reason)
            outcome = Skipped(job.path, outcome.reason)
        outcomes[job.path] = outcome
    ordered = [outcomes[t.path] for t in plan.tasks]  # plan order: rows never depend on timing
    return ([o for o in ordered if isinstance(o, DocumentContent)],
            [o for o in ordered if isinstance(o, Skipped)])


# -- 4. embed and write ------------------------------------------------------------------------------
def _embed(texts: list[str], hashes: list[str], embedder: Embedder, cache: EmbeddingCache,
           options: BuildOptions, tick: Progress) -> int:
    """Embed the texts the cache lacks, a few per model call; returns how many were embedded.

    Vectors are saved every ``options.save_every`` texts and when the build stops
    on an error or Ctrl-C, so a rebuild resumes where it stopped.
    """
    missing = sorted({h: i for i, h in enumerate(hashes) if cache.get(h) is None}.values())
    done_h: list[str] = []
    done_v: list[np.ndarray] = []

    def save() -> None:
        if done_h:
            cache.put(list(done_h), np.concatenate(done_v))
            done_h.clear()
            done_v.clear()

    try:
        for start in range(0, len(missing), options.batch_size):
            batch = missing[start:start + options.batch_size]
            vectors = np.asarray(embedder.embed([texts[i] for i in batch]), dtype=np.float32)
            if vectors.shape != (len(batch), embedder.dim):
                raise KbError(f"le modèle {embedder.model_id} a rendu {vectors.shape} vecteurs "
                              f"pour {len(batch)} textes de dimension {embedder.dim}")
            done_v.append(vectors)
            done_h.extend(hashes[i] for i in batch)
            if len(done_h) >= options.save_every:
                save()
            tick("embed", min(start + options.batch_size, len(missing)), len(missing))
    except BaseException:
        try:
            save()  # what was embedded before the failure is kept for the next build
        except Exception:  # the build's own error is the one to report
            log.warning("embeddings not saved for resuming", exc_info=True)
        raise
    save()
    return len(missing)


def _stack(cache: EmbeddingCache, hashes: list[str], dim: int) -> np.ndarray:
    if not hashes:
        return np.zeros((0, dim), dtype=np.float32)
    return np.stack([cache.get(h) for h in hashes]).astype(np.float32)


@dataclass
class _Models:
    """The build's embedders and their caches (the second one is optional)."""

    embedder: Embedder
    cache: EmbeddingCache
    second: Embedder | None = None
    second_cache: EmbeddingCache | None = None

    def manifest(self) -> dict[str, Any]:
        out = {"embedder": _model_entry(self.embedder)}
        if self.second is not None:
            out["second_embedder"] = _model_entry(self.second)
        return out


def _model_entry(e: Embedder) -> dict[str, Any]:
    return {"spec": e.spec, "model_id": e.model_id, "dim": e.dim}


def _assemble(contents: list[DocumentContent], models: _Models, options: BuildOptions,
              tick: Progress) -> tuple[KbIndex, int]:
    """Embed what is missing and index both collections; returns the index (not yet saved)."""
    chunks = [c for d in contents for c in d.chunks]
    mandates = [m for d in contents for m in d.mandates]
    chunk_texts = [passage_text(c) for c in chunks]
    mandate_texts = [mandate_text(m) for m in mandates]
    hashes = [text_hash(t) for t in chunk_texts + mandate_texts]
    embedded = _embed(chunk_texts + mandate_texts, hashes, models.embedder, models.cache, options, tick)
    if models.second is not None:
        embedded += _embed(chunk_texts + mandate_texts, hashes, models.second, models.second_cache, options, tick)
    ch, mh = hashes[:len(chunks)], hashes[len(chunks):]
    tick("write", 0, 1)

    def second(h: list[str]) -> np.ndarray | None:
        return None if models.second is None else _stack(models.second_cache, h, models.second.dim)

    dim = models.embedder.dim
    probes = probe_queries(chunk_texts, models.embedder) if len(chunks) > options.exact_max else None
    passages = Collection.build(chunks, chunk_texts, ch, _stack(models.cache, ch, dim), options.exact_max,
                                second_vectors=second(ch), probes=probes)
    mandate_rows = Collection.build(mandates, [mandate_lexical_text(m) for m in mandates], mh,
                                    _stack(models.cache, mh, dim), options.exact_max, dense=False,
                                    second_vectors=second(mh))
    return KbIndex(models.manifest(), tuple(d.document for d in contents), passages, mandate_rows), embedded


def probe_queries(texts: Sequence[str], embedder: Embedder, count: int = RECALL_QUERIES, seed: int = 0) -> np.ndarray:
    """Query-like vectors to calibrate an approximate index on: 2 to 5 consecutive words of random
    passages, embedded as queries (as people type them: far from every stored row)."""
    rng = np.random.default_rng(seed)
    out = []
    for row in rng.choice(len(texts), min(count, len(texts)), replace=False):
        words = texts[int(row)].split()
        size = int(rng.integers(2, 6))
        start = int(rng.integers(0, max(1, len(words) - size + 1)))
        out.append(" ".join(words[start:start + size]) or "document")
    return embedder.embed(out, query=True)


# -- the whole build ---------------------------------------------------------------------------------
def _previous(index_dir: Path, full: bool, notes: list[str]) -> tuple[KbIndex | None, bool]:
    """The live index, every file checked against its checksum; and whether it is damaged."""
    if full:
        return None, False
    try:
        return load_index(index_dir, verify=True), False
    except IndexMissingError:
        return None, False
    except IndexFormatError:
        notes.append("l'index venait d'une version précédente de kb : il est reconstruit au format actuel, "
                     "les vecteurs déjà calculés sont réutilisés")
        return None, True
    except IndexCorruptError as exc:
        notes.append(f"l'index était endommagé : il est reconstruit, les vecteurs intacts sont réutilisés ({exc})")
        return None, True


def _live_files(index_dir: Path) -> dict[str, Any]:
    """The live index's files as its manifest lists them ({} when there is no readable one)."""
    try:
        return read_manifest(current_version(index_dir), any_format=True).get("files", {})
    except KbError:
        return {}


def _pipeline_fingerprint(options: BuildOptions) -> dict[str, Any]:
    """What a PDF turns into depends on these: when one changes, every file is read again
    (installing Tesseract, or --no-ocr, changes the last one)."""
    ocr = options.ocr and ocr_available(options.ocr_settings.language) is None
    return {"version": PIPELINE_VERSION, "chunking": options.chunking.to_dict(),
            "ocr": options.ocr_settings.fingerprint() if ocr else "off"}


def read_by_older_pipeline(status: IndexStatus) -> bool:
    """Whether the index ``status`` describes was read by an older version of the PDF reading
    (``PIPELINE_VERSION``): its next build reads every file again, reusing the vectors computed."""
    return status.pipeline is not None and status.pipeline < PIPELINE_VERSION


def build_embedder_spec(index_dir: str | Path, requested: str | None = None) -> str:
    """The embedder a build uses: the one asked for, else ``KB_EMBEDDER``, else the index's own, else e5."""
    return choose_spec(requested, _manifest_spec(index_dir, "embedder"))


def build_second_spec(index_dir: str | Path, requested: str | None = None) -> str | None:
    """The second model a build adds: the one asked for (``none``: drop it), else ``KB_SECOND_MODEL``,
    else the index's own, else none."""
    return choose_second_spec(requested, _manifest_spec(index_dir, "second_embedder"))


def _manifest_spec(index_dir: str | Path, key: str) -> str | None:
    """The model spec the live index records under ``key`` (an index of an earlier format too), or None."""
    try:
        spec = (read_manifest(current_version(index_dir), any_format=True).get(key) or {}).get("spec")
    except (KbError, AttributeError):
        return None
    return spec if isinstance(spec, str) else None


def _file_entries(files: dict, plan: BuildPlan, contents: list[DocumentContent],
                  skipped: list[Skipped]) -> dict[str, dict[str, Any]]:
    entries = {rel: dict(f) for rel, f in files.items()}
    for s in skipped:
        entries.setdefault(s.path, {"sha256": None})
        if s.path in entries:
            entries[s.path].update(status="skipped", reason=s.reason)
    for d in contents:
        entries[d.document.path].update(status="indexed", doc_id=d.document.doc_id, dropped=dict(d.dropped))
    return entries


def _scanned(contents: list[DocumentContent]) -> tuple[dict[str, Any], ...]:
    """What OCR did, document by document (only documents with scanned pages)."""
    return tuple({"path": d.document.path, "pages": list(d.document.ocr_pages),
                  "confidence": d.document.ocr_confidence, "low_confidence_pages": list(d.document.low_confidence_pages),
                  "unread_pages": list(d.document.unread_pages), "lang": d.document.lang}
                 for d in contents if d.document.ocr_pages or d.document.unread_pages)


def _summary(contents: list[DocumentContent], skipped: list[Skipped], entries: dict, prev_files: dict,
             plan: BuildPlan, embedder: Embedder, notes: list[str]) -> dict[str, Any]:
    """The fields of the build report that do not depend on writing."""
    added, updated, unchanged = _changes(entries, prev_files)
    dropped: dict[str, int] = {}
    for d in contents:
        for kind, n in d.dropped.items():
            dropped[kind] = dropped.get(kind, 0) + n
    return dict(documents=len(contents), chunks=sum(len(d.chunks) for d in contents), added=tuple(added),
                updated=tuple(updated), removed=plan.removed, unchanged=unchanged, skipped=tuple(skipped),
                model=embedder.model_id, notes=tuple(notes), mandates=sum(len(d.mandates) for d in contents),
                dropped=dropped, ocr=_scanned(contents))


def _changes(entries: dict, prev_files: dict) -> tuple[list[str], list[str], int]:
    added, updated, unchanged = [], [], 0
    for rel, e in sorted(entries.items()):
        if e.get("status") != "indexed":
            continue
        old = prev_files.get(rel)
        if old is None or old.get("status") != "indexed":
            added.append(rel)
        elif old["sha256"] != e["sha256"]:
            updated.append(rel)
        else:
            unchanged += 1
    return added, updated, unchanged


def _same_files(entries: dict, prev_files: dict) -> bool:
    keys = ("sha256", "status", "reason")
    return ({k: {kk: v.get(kk) for kk in keys} for k, v in entries.items()}
            == {k: {kk: v.get(kk) for kk in keys} for k, v in prev_files.items()})


def _seeded_models(index_dir: Path, prev: KbIndex | None, damaged: bool, embedder: Embedder,
                   second: Embedder | None) -> _Models:
    """Both models with their caches, holding every vector the live index (or its intact files) has."""
    models = _Models(embedder, EmbeddingCache(index_dir, embedder.model_id), second,
                     EmbeddingCache(index_dir, second.model_id) if second is not None else None)
    if prev is not None and prev.model_id == embedder.model_id:
        for c in (prev.passages, prev.mandates):
            models.cache.remember(c.text_hashes, c.vectors)
    elif damaged:
        _remember(models.cache, salvage_vectors(index_dir, embedder.model_id))
    if second is not None and prev is not None and _second_id(prev) == second.model_id:
        for c in (prev.passages, prev.mandates):
            if c.second_vectors is not None:
                models.second_cache.remember(c.text_hashes, c.second_vectors)
    elif second is not None and damaged:
        _remember(models.second_cache, salvage_vectors(index_dir, second.model_id, second=True))
    return models


def _remember(cache: EmbeddingCache, salvaged: dict[str, np.ndarray]) -> None:
    if salvaged:
        cache.remember(list(salvaged), np.array(list(salvaged.values())))


def _model_note(prev: KbIndex, embedder: Embedder, second: Embedder | None) -> str:
    if prev.model_id != embedder.model_id:
        return f"modèle changé ({prev.model_id} → {embedder.model_id}) : tous les passages sont revectorisés"
    new = second.model_id if second is not None else "aucun"
    return f"second modèle changé ({_second_id(prev) or 'aucun'} → {new})"


def _second_id(index: KbIndex) -> str | None:
    return index.manifest.get("second_embedder", {}).get("model_id")


def build_index(corpus_dir: str | Path, index_dir: str | Path, embedder: Embedder,
                options: BuildOptions | None = None, progress: Progress | None = None,
                second: Embedder | None = None) -> BuildReport:
    """Index every PDF under ``corpus_dir`` into ``index_dir``.

    Args:
        corpus_dir: folder of PDFs (sub-folders included).
        index_dir: index folder; created if needed.
        embedder: an :class:`~kb.embed.Embedder`.
        options: build settings.
        progress: called as ``progress(stage, done, total)``.
        second: a second, stronger model whose vectors re-score the best candidates at query time.

    Returns:
        A :class:`BuildReport`. Files that cannot be indexed are in ``skipped``
        with their reason; they never make the build fail.

    Raises:
        CorpusMissingError: there is no such corpus folder.
        BuildLockedError: another build is running on this index.
    """
    options = options or BuildOptions()
    corpus, index_dir = Path(corpus_dir), Path(index_dir)
    if not corpus.is_dir():
        raise CorpusMissingError(f"dossier du corpus introuvable : {corpus}")
    started, tick, notes = time.perf_counter(), progress or (lambda stage, done, total: None), []
    with build_lock(index_dir):
        prev, damaged = _previous(index_dir, options.full, notes)
        prev_files = prev.manifest.get("files", {}) if prev else {}
        same_pipeline = bool(prev) and prev.manifest.get("pipeline") == _pipeline_fingerprint(options)
        same_model = bool(prev) and prev.model_id == embedder.model_id and _second_id(prev) == (
            second.model_id if second is not None else None)
        if prev and not same_model:
            notes.append(_model_note(prev, embedder, second))
        if prev and not same_pipeline:
            notes.append("réglages d'extraction ou de découpage changés : tous les fichiers sont relus")

        # A full rebuild reads everything again, but reports its changes against the live index.
        shown_files = prev_files or (_live_files(index_dir) if options.full else {})
        files, unreadable = _scan(corpus, prev_files, tick)
        plan = plan_build({rel: f["sha256"] for rel, f in files.items()}, shown_files, same_pipeline)
        ocr = OcrOptions(options.ocr, ocr_cache_dir(index_dir), options.ocr_settings)
        contents, skipped = _read(corpus, plan, prev if same_pipeline else None, options, ocr, tick)
        skipped = sorted([*unreadable, *plan.duplicates, *skipped], key=lambda s: s.path)
        entries = _file_entries(files, plan, contents, skipped)
        report = _summary(contents, skipped, entries, shown_files, plan, embedder, notes)
        if prev is not None and same_model and same_pipeline and _same_files(entries, prev_files):
            return BuildReport(**report, seconds=time.perf_counter() - started, embedded=0, written=False,
                               version=prev.version)

        models = _seeded_models(index_dir, prev, damaged, embedder, second)
        index, embedded = _assemble(contents, models, options, tick)
        index = save_index(index_dir, replace(index, manifest=_manifest(index, corpus, options, skipped, entries,
                                                                                report["ocr"])))
        models.cache.clear()
        prune_cache(ocr.cache_dir, {d.document.sha256 for d in contents})
        tick("write", 1, 1)
        return BuildReport(**report, seconds=time.perf_counter() - started, embedded=embedded, written=True,
                           version=index.version)


def _manifest(index: KbIndex, corpus: Path, options: BuildOptions, skipped: list[Skipped],
              entries: dict, ocr: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    return {
        "kb_version": __version__,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "corpus": str(corpus.resolve()),
        **index.manifest,
        "lexical": {"type": "bm25", "k1": BM25_K1, "b": BM25_B, "analyzer": "french-fold-snowball-v1"},
        "pipeline": _pipeline_fingerprint(options),
        "extractor": "pypdfium2",
        "skipped": [asdict(s) for s in skipped],
        "files": entries,
        "ocr": list(ocr),
    }


__all__ = ["build_index", "plan_build", "build_embedder_spec", "BuildOptions", "BuildReport", "BuildPlan", "Task",
           "passage_text"]
