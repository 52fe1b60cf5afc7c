"""Search quality and cost, side by side, in one run.

    python benchmarks/bench_search.py [--repeat 5] [--synthetic 100000] [--skip-synthetic]
    python benchmarks/bench_search.py --scale 15000,100000,300000,1000000

1. Quality on the judged query sets (eval/dev_search.jsonl = ../shared/eval, and
   eval/search_queries.jsonl, our own): kb hybrid vs lexical-only vs dense-only
   vs a naive baseline (raw pypdf text, fixed 120-word windows, plain BM25 with
   no French analysis).
2. Cost on the demo corpus: full build, no-change rebuild, index size on disk,
   warm query latency p50/p95, peak memory.
3. Warm query latency on a synthetic corpus (default 100,000 chunks: random unit
   vectors, texts drawn from the demo vocabulary), to show how cost grows.
4. ``--scale``: for each size, a synthetic index built, saved and loaded as the
   product does (benchmarks/bench_scale.py, each phase in its own process so
   that its peak memory is its own): build time per part, load, first query,
   warm latency, memory, and the approximate index's build time and recall@10.
"""
from __future__ import annotations

import argparse
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.build import build_index  # noqa: E402
from kb.embed import load_embedder  # noqa: E402
from kb.evaluate import load_qrels, passage_relevant, score_run  # noqa: E402
from kb.passages import SearchOptions  # noqa: E402
from kb.session import KnowledgeBase  # noqa: E402
from kb.store import load_index  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from common import QRELS, percentiles, synthetic_index, timed  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


class NaiveBaseline:
    """Raw pypdf text, fixed 120-word windows, plain BM25 (lower-case word split, nothing else)."""

    def __init__(self, corpus: Path) -> None:
        import bm25s
        import pypdf

        self.passages: list[tuple[str, str]] = []
        for pdf in sorted(corpus.rglob("*.pdf")):
            words = " ".join(p.extract_text() or "" for p in pypdf.PdfReader(pdf).pages).split()
            for i in range(0, len(words), 120):
                self.passages.append((pdf.relative_to(corpus).as_posix(), " ".join(words[i:i + 120])))
        self.model = bm25s.BM25()
        self.model.index([self.tokens(t) or ["∅"] for _, t in self.passages], show_progress=False)

    @staticmethod
    def tokens(text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())

    def search(self, query: str, k: int = 10) -> list[tuple[str, str]]:
        ids = [self.model.vocab_dict[t] for t in self.tokens(query) if t in self.model.vocab_dict]
        if not ids:
            return []
        scores = self.model.get_scores(ids)
        return [self.passages[i] for i in np.argsort(-scores)[:k] if scores[i] > 0]


def quality(run, rows) -> dict[str, float]:
    results = {id(r): run(r["query"]) for r in rows}
    report = score_run("search", rows, lambda r: [passage_relevant(r, p, t) for p, t in results[id(r)]],
                       lambda r: 1, lambda r: "")
    return report.metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5, help="timed passes over the queries")
    ap.add_argument("--synthetic", type=int, default=100_000, help="chunks in the synthetic corpus")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--scale", help="comma-separated sizes: build, save, load and query a synthetic index of each")
    args = ap.parse_args()
    if args.scale:
        from bench_scale import run_scale

        run_scale([int(n) for n in args.scale.split(",")], args.repeat)
        return

    sets = {q.name: load_qrels(q) for q in QRELS}
    queries = [r["query"] for rows in sets.values() for r in rows]
    sets[f"all {len(queries)} queries"] = [r for rows in list(sets.values()) for r in rows]
    embedder = load_embedder("e5")
    work = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    try:
        # -- build -------------------------------------------------------------------
        t = time.perf_counter()
        full = build_index(ROOT / "corpus", work / "index", embedder)
        full_s = time.perf_counter() - t
        t = time.perf_counter()
        again = build_index(ROOT / "corpus", work / "index", embedder)
        noop_s = time.perf_counter() - t
        assert not again.written
        index = load_index(work / "index")
        searcher = KnowledgeBase(index, embedder)
        t = time.perf_counter()
        naive = NaiveBaseline(ROOT / "corpus")
        naive_build_s = time.perf_counter() - t

        def run(s: KnowledgeBase, mode: str, related: int):
            def fn(q: str):
                s.clear_query_cache()  # measure the embedding of every query
                return s.search(q, SearchOptions(k=10, mode=mode, related=related)).hits
            return fn

        systems = {  # hybrid: the whole product path, passages and related mandates
            "kb hybrid": run(searcher, "hybrid", 3),
            "kb lexical only": run(searcher, "lexical", 0),
            "kb dense only": run(searcher, "dense", 0),
        }
        print(f"Demo corpus: {full.documents} documents, {full.chunks} chunks; {len(queries)} judged queries; "
              f"model {full.model}\n")
        header = f"{'system':<18}" + "".join(f"{name:>34}" for name in sets) + f"{'p50 ms':>9}{'p95 ms':>9}"
        print(header)
        print(f"{'':<18}" + "".join(f"{'s@1   s@5   MRR@10':>34}" for _ in sets))
        rows_out = []
        for name, fn in systems.items():
            cells = []
            for rows in sets.values():
                m = quality(lambda q: [(h.chunk.path, h.chunk.text) for h in fn(q)], rows)
                cells.append(f"{m['success@1']:.3f} {m['success@5']:.3f} {m['MRR@10']:.3f}")
            p50, p95 = percentiles(timed(fn, queries, args.repeat))
            rows_out.append(f"{name:<18}" + "".join(f"{c:>34}" for c in cells) + f"{p50:>9.2f}{p95:>9.2f}")
        cells = []
        for rows in sets.values():
            m = quality(naive.search, rows)
            cells.append(f"{m['success@1']:.3f} {m['success@5']:.3f} {m['MRR@10']:.3f}")
        p50, p95 = percentiles(timed(naive.search, queries, args.repeat))
        rows_out.append(f"{'naive baseline':<18}" + "".join(f"{c:>34}" for c in cells) + f"{p50:>9.2f}{p95:>9.2f}")
        print("\n".join(rows_out))
        print(f"\nBuild (demo corpus): full {full_s:.1f} s ({full.chunks} chunks + {full.mandates} mandates embedded), "
              f"no-change rebuild {noop_s * 1000:.0f} ms; naive baseline build {naive_build_s:.1f} s")
        print(f"Index size on disk: {folder_mb(work / 'index'):.2f} MB; peak memory so far: {peak_mb():.0f} MB")

        # -- scale ---------------------------------------------------------------------
        if not args.skip_synthetic:
            vocabulary = sorted({w for c in index.chunks for w in re.findall(r"[^\W\d_]{3,}", c.text)})
            t = time.perf_counter()
            dim = index.passages.vectors.shape[1]
            synth = synthetic_index(args.synthetic, dim, vocabulary)
            setup_s = time.perf_counter() - t
            s2 = KnowledgeBase(synth, embedder)
            print(f"\nSynthetic corpus: {args.synthetic:,} chunks × {dim} dims, "
                  f"dense index {synth.manifest['dense']['type']}, BM25 + vectors built in {setup_s:.0f} s")
            print(f"{'mode':<18}{'p50 ms':>9}{'p95 ms':>9}")
            for mode in ("hybrid", "lexical", "dense"):
                p50, p95 = percentiles(timed(run(s2, mode, 0), queries, max(1, args.repeat // 2)))
                print(f"{mode:<18}{p50:>9.1f}{p95:>9.1f}")
            print(f"Peak memory: {peak_mb():.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
