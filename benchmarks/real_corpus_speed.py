"""Speed of kb on real PDFs with the real model, beside the obvious pipeline, in one run.

    bash scripts/fetch_real_corpus.sh          # ~108 Debian documentation PDFs
    python benchmarks/real_corpus_speed.py [--corpus DIR] [--limit N] [--busy 4] [--repeat 2]
    python benchmarks/real_corpus_speed.py --queries-only INDEX [--busy 4]   # kb's queries on an index built before

- **kb**: ``build_index`` with the bundled e5 model; the time of each stage
  (scan, extract with OCR, embed, write) taken from its progress callback;
  the tokens e5 is fed for the passages (its own tokenizer, ``passage:``
  prefix, at most 512 a passage); the index's load time; then a warm search
  (passages and related mandates, the query embedded each time, no cache).
- **baseline**: pypdf ``extract_text`` per page, fixed 200-word chunks, the
  same e5 model, a flat FAISS index (``IndexFlatIP``): extraction, embedding,
  tokens; a query is embedded and searched.
- Latency p50 / p95 over ``benchmarks/real_queries.txt`` (written before any
  passage was read; timing only), ``--repeat`` times, first idle, then with
  ``--busy`` CPU-bound processes beside it (one Python loop each). The
  machine's load average is printed with every figure: wall times depend on
  what else it runs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import start_busy, timed  # noqa: E402
from real_corpus import DEFAULT_CORPUS, count_pages, pick  # noqa: E402

from kb.build import build_index  # noqa: E402
from kb.embed import load_embedder  # noqa: E402
from kb.session import KnowledgeBase  # noqa: E402
from kb.store import load_index  # noqa: E402

QUERIES = ROOT / "benchmarks" / "real_queries.txt"
MAX_TOKENS = 512


class StageClock:
    """Wall seconds per build stage, from ``progress(stage, done, total)`` calls."""

    def __init__(self) -> None:
        self.spent: Counter[str] = Counter()
        self.current, self.last = "start", time.perf_counter()

    def __call__(self, stage: str, done: int, total: int) -> None:  # noqa: ARG002
        now = time.perf_counter()
        self.spent[self.current] += now - self.last
        self.current, self.last = stage, now

    def finish(self) -> dict[str, float]:
        self(self.current, 0, 0)
        return {k: round(v, 1) for k, v in self.spent.items()}


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def tokens(model, texts: list[str]) -> int:
    return sum(min(model.token_count(t), MAX_TOKENS) for t in texts)


def percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return ms[len(ms) // 2], ms[min(len(ms) - 1, int(len(ms) * 0.95))]


def timed_queries(run, queries: list[str], repeat: int) -> tuple[float, float]:
    """p50 / p95 ms of ``run`` over ``queries`` (``repeat`` passes after a warm-up on five)."""
    return percentiles(timed(run, queries, repeat, warm=5))


def run_kb(files: list[Path], work: Path, embedder) -> dict:
    corpus = work / "corpus"
    corpus.mkdir()
    for f in files:
        (corpus / f.name).symlink_to(f)
    clock = StageClock()
    t = time.perf_counter()
    report = build_index(corpus, work / "index", embedder, progress=clock)
    seconds, stages = time.perf_counter() - t, clock.finish()
    t = time.perf_counter()
    index = load_index(work / "index")
    kb = KnowledgeBase(index, embedder)
    kb.warm_up()
    loaded = time.perf_counter() - t
    texts = [c.text for c in index.passages.records]
    return {"documents": report.documents, "chunks": report.chunks, "build_s": round(seconds, 1), "stages": stages,
            "tokens": tokens(embedder._model, texts), "load_s": round(loaded, 2), "load_avg": load(),
            "search": lambda q: (kb.clear_query_cache(), kb.search(q))}


def run_baseline(files: list[Path], embedder, words: int = 200, batch: int = 32) -> dict:
    import faiss
    import pypdf

    t = time.perf_counter()
    chunks = []
    for path in files:
        try:
            text = "\n".join(p.extract_text() or "" for p in pypdf.PdfReader(path).pages)
        except Exception:  # noqa: BLE001 - a file the baseline cannot read is simply left out
            continue
        w = text.split()
        chunks += [" ".join(w[i:i + words]) for i in range(0, len(w), words)]
    extract = time.perf_counter() - t
    t = time.perf_counter()
    vectors = np.vstack([embedder.embed(chunks[i:i + batch]) for i in range(0, len(chunks), batch)])
    embed = time.perf_counter() - t
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors.astype(np.float32))

    def search(q: str) -> None:
        index.search(embedder.embed([q], query=True), 10)

    return {"chunks": len(chunks), "build_s": round(extract + embed, 1),
            "stages": {"extract": round(extract, 1), "embed": round(embed, 1)},
            "tokens": tokens(embedder._model, chunks), "load_avg": load(), "search": search}


def queries_only(index_dir: Path, busy: int, repeat: int) -> int:
    """kb's query latency on an existing index, idle then with ``busy`` CPU-bound processes beside it."""
    queries = [q for q in QUERIES.read_text(encoding="utf-8").splitlines() if q.strip() and not q.startswith("#")]
    embedder = load_embedder("e5")
    kb = KnowledgeBase(load_index(index_dir), embedder)
    kb.warm_up()

    def search(q: str) -> None:
        kb.clear_query_cache()
        kb.search(q)

    print(f"{len(kb.index.chunks)} chunks; {os.cpu_count()} cores; load average {load()} at start", flush=True)
    idle = timed_queries(search, queries, repeat)
    stop_busy = start_busy(busy)
    try:
        time.sleep(3)
        loaded = timed_queries(search, queries, repeat)
    finally:
        stop_busy()
    print(f"kb query p50 / p95 ms: idle {idle[0]:.1f} / {idle[1]:.1f}; {busy} busy {loaded[0]:.1f} / {loaded[1]:.1f} "
          f"(load average {load()} at the end)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--limit", type=int, default=10, help="N files spread over the corpus (0: all)")
    ap.add_argument("--busy", type=int, default=4, help="CPU-bound processes for the loaded run")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--queries-only", type=Path, default=None, metavar="INDEX",
                    help="skip the builds: time kb's queries on an index this script (or kb build) made")
    args = ap.parse_args()
    if args.queries_only:
        return queries_only(args.queries_only, args.busy, args.repeat)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}: run scripts/fetch_real_corpus.sh first", file=sys.stderr)
        return 2
    files = pick(args.corpus, args.limit or None)
    queries = [q for q in QUERIES.read_text(encoding="utf-8").splitlines() if q.strip() and not q.startswith("#")]
    embedder = load_embedder("e5")
    print(f"{len(files)} PDFs, {count_pages(files)} pages; model {embedder.model_id}; {os.cpu_count()} cores; "
          f"load average {load()} at start", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        systems = {"kb": run_kb(files, Path(tmp), embedder), "baseline": run_baseline(files, embedder)}
        for name, s in systems.items():
            s["idle_ms"] = timed_queries(s["search"], queries, args.repeat) + (load(),)
        stop_busy = start_busy(args.busy)
        try:
            time.sleep(3)
            for name, s in systems.items():
                s["busy_ms"] = timed_queries(s["search"], queries, args.repeat) + (load(),)
        finally:
            stop_busy()
    print(f"\n{'system':10} {'chunks':>7} {'tokens':>9} {'build s':>8}  stages (s)                               "
          f"{'idle p50/p95 ms':>16} {f'{args.busy} busy p50/p95 ms':>20}")
    for name, s in systems.items():
        stages = ", ".join(f"{k} {v}" for k, v in s["stages"].items())
        idle, busy = s["idle_ms"], s["busy_ms"]
        print(f"{name:10} {s['chunks']:>7} {s['tokens']:>9} {s['build_s']:>8}  {stages:40} "
              f"{idle[0]:>7.1f} / {idle[1]:>6.1f} {busy[0]:>9.1f} / {busy[1]:>7.1f}   (load {idle[2]} / {busy[2]})")
    kb = systems["kb"]
    print(f"\nkb: {kb['documents']} documents indexed, index loaded and warmed in {kb['load_s']} s; "
          f"build load average at its end {kb['load_avg']}")
    if args.json:
        args.json.write_text(json.dumps({n: {k: v for k, v in s.items() if k != "search"}
                                         for n, s in systems.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
