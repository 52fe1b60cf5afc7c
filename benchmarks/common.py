"""What several benchmarks share: the judged query sets, timing, busy processes, and a synthetic index.

Imported by the benchmarks (``sys.path`` holds this folder when one runs).
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from typing import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.dense import EXACT_MAX  # noqa: E402
from kb.embed import load_embedder  # noqa: E402
from kb.records import Chunk, Document  # noqa: E402
from kb.store import Collection, KbIndex  # noqa: E402

QRELS = [ROOT / "eval" / "dev_search.jsonl", ROOT / "eval" / "search_queries.jsonl"]


# N busy processes (pure-Python loops, 10 minutes at most): the first forks the others, so they are one
# process group, stopped together. In this process's session they share its scheduling group (the kernel
# groups tasks by session, autogroup, or by service and user, cgroups under systemd); started as a session
# of their own they are one job of another group, as another user's build would be.
_BUSY = ("import os, sys, time\nfor _ in range(int(sys.argv[1]) - 1):\n    if os.fork() == 0:\n        break\n"
         "end = time.time() + 600\nwhile time.time() < end:\n    pass\n")


def start_busy(n: int, other_session: bool = False) -> Callable[[], None]:
    """Start ``n`` busy processes (``other_session``: as a job of another session); a function stopping them."""
    if not n:
        return lambda: None
    job = subprocess.Popen([sys.executable, "-c", _BUSY, str(n)], start_new_session=other_session,
                           preexec_fn=None if other_session else os.setpgrp)
    return lambda: os.killpg(job.pid, signal.SIGKILL)


def percentiles(ms: list[float]) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def timed(fn, queries: list[str], repeat: int, warm: int | None = None) -> list[float]:
    """Milliseconds of every call of ``fn`` over ``queries``, ``repeat`` times, after a warm-up
    pass over the first ``warm`` queries (all by default)."""
    for q in queries[:warm]:  # warm-up
        fn(q)
    ms = []
    for _ in range(repeat):
        for q in queries:
            t = time.perf_counter()
            fn(q)
            ms.append((time.perf_counter() - t) * 1000)
    return ms


def synthetic_index(n: int, dim: int, vocabulary: list[str], seed: int = 0) -> KbIndex:
    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = [Document(f"d{i:05d}", f"synth/{i:05d}.pdf", f"Document {i}", 2020, "fr", 10, f"{i:064d}")
            for i in range(n // 50 + 1)]
    chunks = [Chunk(f"d{i // 50:05d}-{i:04d}", f"d{i // 50:05d}", f"synth/{i // 50:05d}.pdf", f"Document {i // 50}",
                    1 + (i % 50) // 5, 1 + (i % 50) // 5, "", "fr", " ".join(pyrng.choices(vocabulary, k=120)))
              for i in range(n)]
    passages = Collection.build(chunks, [c.text for c in chunks], [""] * n, vectors, EXACT_MAX)
    mandates = Collection.build([], [], [], np.zeros((0, dim), np.float32), EXACT_MAX, dense=False)
    manifest = {"embedder": {"spec": "e5", "model_id": load_embedder("e5").model_id},
                "dense": passages.dense_info.to_dict()}
    return KbIndex(manifest, tuple(docs), passages, mandates)
