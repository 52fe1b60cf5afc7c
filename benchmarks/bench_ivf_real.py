"""Does the inverted file's build-time recall check hold for real queries over real passages?

    python benchmarks/bench_ivf_real.py --index DIR [--lists 256] [--nprobes 4,8,16,32,64]

Above 200,000 chunks kb searches an inverted file (FAISS IVF, 8-bit codes,
candidates re-scored exactly) and picks ``nprobe`` at build time as the
smallest whose recall@10 against exact search reaches 0.95 on *held-out
queries made from stored rows plus noise* (:func:`kb.dense.choose_nprobe`).
The million-chunk benchmark measures that on random vectors. This one asks
whether the same check predicts the recall of *real queries* over *real
passages*: it takes the vectors of a real index (e.g. the Debian
documentation archive, ``benchmarks/real_corpus.py``), builds kb's inverted
file over them with ``--lists`` lists (256 over ~20,000 vectors visits the
same share of the lists at a given ``nprobe`` share as 1,024 lists at a million),
and prints recall@10 by ``nprobe`` for:

- real queries: every query of ``eval/*.jsonl``, ``../shared/eval`` and
  ``benchmarks/real_queries.txt``, embedded by the index's model;
- the build-time check's queries (stored rows plus noise);
- the same two kinds over random unit vectors of the same size (the setting
  of ``bench_scale.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.dense import IvfIndex, _exact_batch, _train_ivf, held_out_queries, recall_at  # noqa: E402
from kb.embed import load_embedder  # noqa: E402
from kb.store import load_index  # noqa: E402


def real_queries() -> list[str]:
    texts = [line.strip() for line in (ROOT / "benchmarks" / "real_queries.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    for folder in (ROOT / "eval", ROOT.parent / "shared" / "eval"):
        for path in sorted(folder.glob("*.jsonl")):
            texts += [json.loads(line)["query"] for line in path.read_text().splitlines() if line.strip()]
    return sorted(set(texts))


def recalls(vectors: np.ndarray, queries: dict[str, np.ndarray], lists: int, nprobes: list[int]) -> dict:
    start = time.perf_counter()
    ivf = _train_ivf(vectors, lists, 0)
    ivf.add(np.ascontiguousarray(vectors, dtype=np.float32))
    built = time.perf_counter() - start
    out = {}
    for name, q in queries.items():
        truth = _exact_batch(vectors, q, 10)
        out[name] = [recall_at(IvfIndex(ivf, vectors, p), vectors, q, 10, truth) for p in nprobes]
    return {"built_s": built, "recall": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True)
    ap.add_argument("--lists", type=int, default=256)
    ap.add_argument("--nprobes", default="4,8,16,32,64")
    args = ap.parse_args()
    nprobes = [int(p) for p in args.nprobes.split(",")]
    index = load_index(args.index)
    vectors = np.asarray(index.passages.vectors, dtype=np.float32)
    texts = real_queries()
    embedder = load_embedder(index.embedder_spec)
    real = embedder.embed(texts, query=True)
    n, dim = vectors.shape
    rng = np.random.default_rng(0)
    synthetic = rng.standard_normal((n, dim)).astype(np.float32)
    synthetic /= np.linalg.norm(synthetic, axis=1, keepdims=True)
    print(f"{n:,} real passage vectors ({index.embedder_spec}), {len(texts)} real queries, {args.lists} lists "
          f"({n // args.lists} vectors a list); load average {os.getloadavg()[0]:.1f}\n")
    print(f"{'vectors':<10}{'queries':<28}" + "".join(f"{f'nprobe {p}':>11}" for p in nprobes))
    for label, vecs in (("real", vectors), ("random", synthetic)):
        queries = {"real queries": real, "build-time check (rows+noise)": held_out_queries(vecs, 200, 0)}
        r = recalls(vecs, queries, args.lists, nprobes)
        for name, values in r["recall"].items():
            print(f"{label:<10}{name:<28}" + "".join(f"{v:>11.3f}" for v in values))
    share = ", ".join(f"{p / args.lists:.1%}" for p in nprobes)
    print(f"\nshare of the lists visited: {share} (kb at 1M: 32 of 1,024 = 3.1 %)")


if __name__ == "__main__":
    main()
