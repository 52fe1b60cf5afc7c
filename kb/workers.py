"""Reading documents in worker processes, each bounded in memory and time.

A hostile or broken PDF (a decompression bomb, an endless content stream)
must cost one skipped file, never the build or the machine. Each worker is a
separate process whose address space is capped (``RLIMIT_AS``); the parent
gives it one document at a time and waits at most ``timeout`` seconds for the
answer. A worker that runs out of memory, crashes or overruns is killed and
replaced, and that document is skipped with its true reason. With several
workers, documents are read in parallel on all cores.

Workers are forked from a server process started once (``forkserver``), so a
new worker costs milliseconds and never inherits the threads of the process
that asked (the app's server, the embedding engine).

Public entry points: :func:`read_all`, :class:`ReadLimits`.
"""
from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .chunk import ChunkSettings
from .document import DocumentContent, read_document
from .errors import ExtractionError
from .ocr import OcrOptions

_MB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on reading one document, and how many workers read at once."""

    memory_mb: int = int(os.environ.get("KB_DOC_MEMORY_MB", "2048"))  # address space of a worker
    timeout_s: float = float(os.environ.get("KB_DOC_TIMEOUT_S", "300"))  # for one document
    workers: int = 0  # 0: one per core; -1: read in this process (no bounds; for debugging)

    def worker_count(self, tasks: int) -> int:
        return max(1, min(tasks, self.workers or os.cpu_count() or 1))

    def ocr_jobs(self, workers: int) -> int:
        """Pages each worker OCRs at once: the cores the workers leave free are shared among them
        (one document on two cores: two pages at a time, 1.9× faster measured idle)."""
        return max(1, (self.workers or os.cpu_count() or 1) // max(1, workers))


@dataclass(frozen=True)
class Job:
    """One document to read: its file, its path in the corpus, its content hash."""

    file: Path
    path: str
    sha256: str


def _unexpected(exc: BaseException) -> ExtractionError:
    return ExtractionError(f"unexpected error while reading: {type(exc).__name__}: {exc}")


def read_one(job: Job, settings: ChunkSettings, ocr: OcrOptions | None = None) -> DocumentContent | ExtractionError:
    """The per-document chain with every error turned into a reason (in whatever process runs it)."""
    try:
        content = read_document(job.file, job.path, job.sha256, settings, ocr)
        for c in content.chunks:
            c.text.encode("utf-8")  # what cannot be stored must fail here, for this file only
        return content
    except ExtractionError as exc:
        return exc
    except MemoryError:
        return ExtractionError("too large: reading it needs more memory than a document is allowed")
    except Exception as exc:  # one odd file must not stop the others
        return _unexpected(exc)


def _worker_main(conn: Connection, memory_mb: int, settings: ChunkSettings, ocr: OcrOptions | None) -> None:
    """Body of a worker: cap the address space, then read the jobs the parent sends until None.

    Before OCR'ing a document it tells the parent how many pages (``("ocr", n)``): the
    document's time bound grows by the OCR time bound of that many pages.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    limit = memory_mb * _MB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if ocr is not None:
        ocr = replace(ocr, announce=lambda pages: conn.send(("ocr", pages)))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        conn.send(read_one(job, settings, ocr))


class _Worker:
    def __init__(self, ctx, limits: ReadLimits, settings: ChunkSettings, ocr: OcrOptions | None) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, limits.memory_mb, settings, ocr), daemon=True)
        with _without_main_script():
            self.process.start()
        child.close()
        self.job: Job | None = None
        self.started = 0.0

    def give(self, job: Job) -> None:
        self.job, self.started = job, time.monotonic()
        self.conn.send(job)

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(2)
        if self.process.is_alive():
            self.kill()


def _context():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["kb._forkserver"])
    return ctx


@contextmanager
def _without_main_script() -> Iterator[None]:
    """Start processes without this process's main script.

    Like spawn, forkserver makes each new process import the starting process's
    main script: under Streamlit that is the app's page (Streamlit puts it in
    ``sys.modules["__main__"]`` while it runs), which then ran again without a
    server in every reader and printed a burst of English warnings in the
    terminal at every build. The readers need only kb's modules.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _death_reason(worker: _Worker, limits: ReadLimits) -> ExtractionError:
    worker.process.join(5)  # the pipe closes a moment before the exit status is known
    code = worker.process.exitcode
    if code is not None and code < 0 and -code in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
        return ExtractionError(f"too large or malformed: reading it crashed the PDF engine within the "
                               f"{limits.memory_mb} MB a document is allowed")
    return ExtractionError(f"reading it stopped the reader (exit code {code})")


def read_all(jobs: Sequence[Job], settings: ChunkSettings, limits: ReadLimits | None = None,
             done: Callable[[], None] | None = None, ocr: OcrOptions | None = None,
             ) -> Iterator[tuple[Job, DocumentContent | ExtractionError]]:
    """Read every job, yielding ``(job, content or reason)`` as each finishes (not in order).

    Args:
        jobs: the documents to read.
        settings: chunk sizes.
        limits: memory and time bounds, number of workers.
        done: called after each document (progress).
        ocr: whether and where scanned pages are OCR'd (its ``announce`` hears of the pages to OCR).
    """
    limits = limits or ReadLimits()
    tick = done or (lambda: None)
    if limits.workers < 0 or not jobs:
        for job in jobs:
            yield job, read_one(job, settings, ocr)
            tick()
        return
    yield from _pool(jobs, settings, limits, tick, ocr)


def _pool(jobs: Sequence[Job], settings: ChunkSettings, limits: ReadLimits, tick: Callable[[], None],
          ocr: OcrOptions | None) -> Iterator[tuple[Job, DocumentContent | ExtractionError]]:
    ctx = _context()
    queue = list(reversed(jobs))
    announce = ocr.announce if ocr is not None and ocr.announce else (lambda pages: None)
    page_bound = ocr.settings.timeout if ocr is not None else 0.0
    count = limits.worker_count(len(jobs))
    if ocr is not None:  # a callable of this process stays here
        ocr = replace(ocr, announce=None, settings=replace(ocr.settings, jobs=limits.ocr_jobs(count)))
    workers = [_Worker(ctx, limits, settings, ocr) for _ in range(count)]
    try:
        for w in workers:
            if queue:
                w.give(queue.pop())
        while any(w.job for w in workers):
            busy = [w for w in workers if w.job]
            next_deadline = min(w.started for w in busy) + limits.timeout_s - time.monotonic()
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                         timeout=max(0.0, min(1.0, next_deadline)))
            for i, w in enumerate(workers):
                outcome = _collect(w, ready, limits)
                if outcome is None:
                    continue
                if isinstance(outcome, tuple):  # ("ocr", pages): more time for this document
                    w.started += outcome[1] * page_bound
                    announce(outcome[1])
                    continue
                job = w.job
                w.job = None
                if not w.process.is_alive() or isinstance(outcome, _Replace):
                    w.kill()
                    workers[i] = w = _Worker(ctx, limits, settings, ocr)
                    outcome = outcome.reason if isinstance(outcome, _Replace) else outcome
                yield job, outcome
                tick()
                if queue:
                    w.give(queue.pop())
    finally:
        for w in workers:
            if w.job:
                w.kill()
            else:
                w.stop()


@dataclass(frozen=True)
class _Replace:
    """The worker must be replaced; ``reason`` is the document's outcome."""

    reason: ExtractionError


def _collect(w: _Worker, ready: list, limits: ReadLimits):
    """The outcome of ``w``'s document if it is known now, else None."""
    if w.job is None:
        return None
    if w.conn in ready:
        try:
            return w.conn.recv()
        except (EOFError, OSError):
            return _Replace(_death_reason(w, limits))
    if w.process.sentinel in ready or not w.process.is_alive():
        return _Replace(_death_reason(w, limits))
    if time.monotonic() - w.started > limits.timeout_s:
        return _Replace(ExtractionError(f"too slow: reading it took more than {limits.timeout_s:g} s"))
    return None
