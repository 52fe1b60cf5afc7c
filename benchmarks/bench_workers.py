"""Reading documents in bounded worker processes: speed-up and peak memory, in one run.

    python benchmarks/bench_workers.py [--corpus DIR ...] [--bomb-mb 3000]

1. For each corpus (default: the demo corpus; add e.g. the Debian PDFs that
   `scripts/fetch_real_corpus.sh` collects), the time to read every document
   (extract, clean, chunk, mandates) in this process (no bounds), with one
   bounded worker, and with one worker per core.
2. A corpus of the demo PDFs plus a decompression bomb (a 1.5 MB PDF whose
   page inflates to ``--bomb-mb`` MB): the build's outcome for the bomb and the
   peak resident memory of the whole process tree (this process, the worker
   server and its workers), sampled every 50 ms from /proc.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from kb.corpus import corpus_pdfs  # noqa: E402
from kb.chunk import ChunkSettings  # noqa: E402
from kb.workers import Job, ReadLimits, read_all  # noqa: E402


def _tree_rss_mb(root_pid: int) -> float:
    """Resident memory of ``root_pid`` and all its descendants (MB)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total / 1e6


class PeakMemory:
    """Samples the process tree's resident memory in a thread."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss_mb(os.getpid()))
            time.sleep(0.05)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def read_seconds(corpus: Path, workers: int) -> tuple[float, int]:
    jobs = [Job(corpus / rel, rel, f"{i:064d}") for i, rel in enumerate(corpus_pdfs(corpus))]
    start = time.perf_counter()
    outcomes = list(read_all(jobs, ChunkSettings(), ReadLimits(workers=workers)))
    return time.perf_counter() - start, len(outcomes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", action="append", type=Path, help="a folder of PDFs (repeatable)")
    ap.add_argument("--bomb-mb", type=int, default=3000)
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}\n")
    print(f"{'corpus':<40}{'files':>6}{'in-process s':>14}{'1 worker s':>12}{'all cores s':>13}{'speed-up':>10}")
    for corpus in args.corpus or [ROOT / "corpus"]:
        read_seconds(corpus, 1)  # start the worker server once, outside the timings
        inproc, n = read_seconds(corpus, -1)
        one, _ = read_seconds(corpus, 1)
        every, _ = read_seconds(corpus, 0)
        print(f"{str(corpus)[-40:]:<40}{n:>6}{inproc:>14.1f}{one:>12.1f}{every:>13.1f}{one / every:>9.2f}×",
              flush=True)

    from kb.build import build_index
    from kb.embed import HashEmbedder
    from test_faults import _bomb

    work = Path(tempfile.mkdtemp(prefix="kb-bomb-"))
    try:
        shutil.copytree(ROOT / "corpus", work / "corpus")
        _bomb(work / "corpus" / "bombe.pdf", args.bomb_mb)
        size = (work / "corpus" / "bombe.pdf").stat().st_size / 1e6
        with PeakMemory() as peak:
            report = build_index(work / "corpus", work / "index", HashEmbedder())
        bomb = next(s.reason for s in report.skipped if s.path == "bombe.pdf")
        print(f"\nCorpus with a decompression bomb ({size:.1f} MB inflating to {args.bomb_mb:,} MB): "
              f"{report.documents} documents indexed, bomb skipped: « {bomb} »; "
              f"peak resident memory of the whole process tree {peak.peak:.0f} MB "
              f"(bound per worker: {ReadLimits().memory_mb} MB of address space)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
