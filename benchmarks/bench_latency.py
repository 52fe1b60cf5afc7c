"""Query latency on a busy machine: the embedding engine's thread settings, side by side, in one run.

    python benchmarks/bench_latency.py [--chunks 15000] [--queries 40] [--busy 0,4]

For each setting (run in its own process, since OpenMP reads its settings when
the engine loads) and each number of busy processes (pure-Python loops started
by this script, stopped after each measurement), the warm hybrid query latency
(passages and related mandates, every query embedded by the real model) over
a synthetic index of ``--chunks`` chunks (texts drawn from the queries'
vocabulary, random unit vectors) is printed with the load average seen.
Settings:

- ``engine default``: the OpenMP defaults (threads spin while waiting), 2 threads for a query;
- ``kb default``: idle threads sleep (``OMP_WAIT_POLICY=PASSIVE``), 1 thread for a query.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {
    "engine default (spin, 2 threads)": {"OMP_WAIT_POLICY": "", "KB_QUERY_THREADS": "2"},
    "kb default (passive, 1 thread)": {},
}


def _burn(stop_at: float) -> None:
    x = 0
    while time.time() < stop_at:
        x += 1


def measure(chunks: int, queries: int, busy: int) -> dict:
    """Runs in the child process: build the synthetic index, then time queries with ``busy`` burners."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import numpy as np

    from bench_search import QRELS, synthetic_index
    from kb.embed import load_embedder
    from kb.evaluate import load_qrels
    from kb.passages import SearchOptions
    from kb.session import KnowledgeBase

    embedder = load_embedder("e5")
    vocabulary = sorted({w for q in QRELS for r in load_qrels(q) for w in r["query"].split() if len(w) > 3})
    vocabulary += ["gouvernance", "partenaires", "communauté", "développement", "municipalité", "citoyens"]
    kb = KnowledgeBase(synthetic_index(chunks, embedder.dim, vocabulary), embedder)
    texts = [r["query"] for q in QRELS for r in load_qrels(q)][:queries]
    for t in texts[:5]:
        kb.search(t)
    procs = [multiprocessing.Process(target=_burn, args=(time.time() + 600,), daemon=True) for _ in range(busy)]
    for p in procs:
        p.start()
    time.sleep(1.0 if busy else 0.0)
    ms = []
    try:
        for t in texts:
            kb.clear_query_cache()
            start = time.perf_counter()
            kb.search(t, SearchOptions(k=10))
            ms.append((time.perf_counter() - start) * 1000)
        load = os.getloadavg()[0]
    finally:
        for p in procs:
            p.kill()
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)), "load": load}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=15_000)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--busy", default="0,4", help="numbers of busy processes, comma-separated")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.chunks, args.queries, int(args.child))))
        return
    print(f"{os.cpu_count()} cores; load before: {os.getloadavg()[0]:.1f}; {args.chunks:,} chunks, "
          f"{args.queries} queries (hybrid, each embedded)\n")
    print(f"{'setting':<36}{'busy':>6}{'load':>7}{'p50 ms':>9}{'p95 ms':>9}")
    for name, env in SETTINGS.items():
        for busy in (int(b) for b in args.busy.split(",")):
            run = subprocess.run([sys.executable, __file__, "--chunks", str(args.chunks), "--queries",
                                  str(args.queries), "--child", str(busy)], capture_output=True, text=True,
                                 env={**os.environ, **env}, check=True)
            r = json.loads(run.stdout.strip().splitlines()[-1])
            print(f"{name:<36}{busy:>6}{r['load']:>7.1f}{r['p50']:>9.1f}{r['p95']:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
