"""Cost at scale: a synthetic index built, saved, loaded and queried as the product does.

    python benchmarks/bench_scale.py [--sizes 15000,100000,300000,1000000] [--repeat 2]
    (or python benchmarks/bench_search.py --scale ...)

Texts: 120 words drawn from the demo corpus's own words with their frequencies
(French, as written: the analyser drops the function words as it does for real
text). Vectors: synthetic, never embedded (a million texts through the model
would take days here): unit vectors around 2,000 random centres, because real
embeddings are clustered and uniform noise has no neighbours for an inverted
file to find. Queries: the judged queries, each embedded by the real model.

Each size runs in two processes, so that each phase's peak memory is its own:
``build`` (texts, BM25, dense index, save) and ``query`` (load, first query,
first query filtered on language, warm latency, recall of the approximate index against exact search on the
judged queries' vectors). The load average is printed with every line.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> dict[str, float]:
    """Resident memory now: total, anonymous, and file-backed (memory maps, reclaimable by the kernel)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) / 1024
    return out


def mapped_mb(folder: Path) -> dict[str, float]:
    """Resident pages of each memory-mapped file of the index folder (from /proc/self/smaps)."""
    out: dict[str, float] = {}
    name = None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5:
            name = head[5].split(str(folder), 1)[1].split("/", 2)[-1] if len(head) > 5 and str(folder) in head[5] \
                else None
        elif name and head and head[0] == "Rss:":
            out[name] = out.get(name, 0.0) + int(head[1]) / 1024
    return {k: round(v, 1) for k, v in out.items() if v >= 1}


def load() -> float:
    return os.getloadavg()[0]


def corpus_words() -> tuple[list[str], list[int]]:
    import pypdf

    counts: Counter[str] = Counter()
    for pdf in sorted((ROOT / "corpus").rglob("*.pdf")):
        for page in pypdf.PdfReader(pdf).pages:
            counts.update(re.findall(r"[^\W\d_]{2,}", page.extract_text() or ""))
    words = sorted(counts)
    return words, [counts[w] for w in words]


def clustered_vectors(n: int, dim: int, seed: int = 0, centres: int = 2000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim), dtype=np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    out = np.empty((n, dim), np.float32)
    for lo in range(0, n, 100_000):
        m = min(n, lo + 100_000) - lo
        x = c[rng.integers(0, centres, m)] + rng.standard_normal((m, dim), dtype=np.float32) / np.sqrt(dim)
        out[lo:lo + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def build(n: int, folder: Path) -> dict:
    from kb.dense import EXACT_MAX, build_dense
    from kb.embed import load_embedder
    from kb.lexical import build_lexical
    from kb.records import Chunk, Document
    from kb.store import Collection, KbIndex, save_index

    fig: dict = {"n": n, "load_start": load()}
    embedder = load_embedder("e5")
    words, weights = corpus_words()
    t = time.perf_counter()
    rng = random.Random(0)
    texts = [" ".join(rng.choices(words, weights, k=120)) for _ in range(n)]
    docs = tuple(Document(f"d{i:06d}", f"synth/{i:06d}.pdf", f"Document {i}", 2020, "fr", 10, f"{i:064d}", chunks=50)
                 for i in range(n // 50 + 1))
    chunks = [Chunk(f"d{i // 50:06d}-{i:04d}", f"d{i // 50:06d}", f"synth/{i // 50:06d}.pdf", f"Document {i // 50}",
                    1 + (i % 50) // 5, 1 + (i % 50) // 5, "", "fr", texts[i]) for i in range(n)]
    vectors = clustered_vectors(n, embedder.dim)
    fig["generate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    lexical = build_lexical(texts)
    fig["bm25_s"] = time.perf_counter() - t
    t = time.perf_counter()
    dense, info = build_dense(vectors, EXACT_MAX)
    fig["dense_s"] = time.perf_counter() - t
    fig["dense"] = info.to_dict()
    passages = Collection(tuple(chunks), tuple("" for _ in range(n)), vectors, dense, lexical, info)
    mandates = Collection.build([], [], [], np.zeros((0, embedder.dim), np.float32), EXACT_MAX, dense=False)
    manifest = {"embedder": {"spec": "e5", "model_id": embedder.model_id, "dim": embedder.dim},
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "skipped": []}
    t = time.perf_counter()
    save_index(folder, KbIndex(manifest, docs, passages, mandates))
    fig["save_s"] = time.perf_counter() - t
    fig["disk_mb"] = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6
    fig["peak_mb"], fig["load_end"] = peak_mb(), load()
    return fig


def query(n: int, folder: Path, repeat: int) -> dict:
    from common import QRELS, percentiles, timed
    from kb.dense import ExactIndex, IvfIndex, held_out_queries, recall_at
    from kb.embed import load_embedder
    from kb.evaluate import load_qrels
    from kb.passages import SearchOptions
    from kb.session import KnowledgeBase
    from kb.store import load_index

    fig: dict = {"n": n, "load_start": load()}
    embedder = load_embedder("e5")
    embedder.embed(["échauffement du modèle"], query=True)
    base = rss_mb()["VmRSS"]
    t = time.perf_counter()
    kb = KnowledgeBase(load_index(folder), embedder)
    fig["load_s"] = time.perf_counter() - t
    queries = [r["query"] for q in QRELS for r in load_qrels(q)]
    t = time.perf_counter()
    kb.search(queries[0], SearchOptions(k=10))
    fig["first_s"] = time.perf_counter() - t
    fig["first_query"] = queries[0]
    t = time.perf_counter()  # the first query with a filter (per-chunk document and language arrays)
    kb.search(queries[1], SearchOptions(k=10, lang="fr"))
    fig["first_filtered_s"] = time.perf_counter() - t

    def run(mode: str, embed: bool = True):
        def fn(q: str):
            if embed:
                kb.clear_query_cache()
            return kb.search(q, SearchOptions(k=10, mode=mode, related=0 if mode != "hybrid" else 3))
        return fn

    for mode in ("hybrid", "lexical", "dense"):
        fig[f"ms_{mode}"] = percentiles(timed(run(mode), queries, repeat, warm=10))
    # The same hybrid queries with their vectors cached: what the index costs, the model aside.
    fig["ms_hybrid_cached"] = percentiles(timed(run("hybrid", embed=False), queries, repeat))
    fig["ms_embed"] = percentiles(timed(lambda q: embedder.embed([q], query=True), queries, repeat, warm=5))
    fig["rss"] = rss_mb()  # the product's path only; exact search below maps every vector in
    fig["mapped"] = mapped_mb(folder)
    c = kb.index.passages
    vecs = np.stack([kb.query(q).vector for q in queries])
    fig["recall_queries"] = recall_at(c.dense, c.vectors, vecs) if c.dense_info.type != "flat" else 1.0
    if c.dense_info.type == "ivf":  # recall and cost of each nprobe, on the judged queries and on held-out ones
        held = held_out_queries(c.vectors, 200, 5)
        truth = [ExactIndex(c.vectors).search(q, 10)[1] for q in held]
        fig["sweep"] = []
        for nprobe in (8, 16, 32, 64, 128, 256):
            index = IvfIndex(c.dense.ivf, c.vectors, nprobe)
            t = time.perf_counter()
            judged = recall_at(index, c.vectors, vecs)
            ms = (time.perf_counter() - t) * 1000 / len(vecs)
            fig["sweep"].append((nprobe, judged, recall_at(index, c.vectors, held, truth=truth), ms))
        c.dense.ivf.nprobe = c.dense_info.nprobe
    t = time.perf_counter()
    for q in vecs:
        ExactIndex(c.vectors).search(q, 100)
    fig["exact_ms"] = (time.perf_counter() - t) * 1000 / len(vecs)
    fig["rss_after_exact"], fig["model_rss_mb"] = rss_mb(), base
    fig["peak_mb"], fig["load_end"] = peak_mb(), load()
    fig["dense"] = kb.index.manifest["dense"]
    return fig


def child(phase: str, n: int, folder: str, repeat: int) -> dict:
    out = build(n, Path(folder)) if phase == "build" else query(n, Path(folder), repeat)
    print(json.dumps(out))
    return out


def run_scale(sizes: list[int], repeat: int = 2) -> None:
    print(f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
          f"load before: {load():.1f}")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="kb-scale-") as tmp:
            b = _child("build", n, tmp, repeat)
            q = _child("query", n, tmp, repeat)
        d = b["dense"]
        approx = (f"IVF nlist {d['nlist']} nprobe {d['nprobe']}, recall@10 {d['recall_at_10']:.3f} (held-out), "
                  f"{q['recall_queries']:.3f} (judged queries)" if d["type"] == "ivf" else "exact")
        print(f"\n{n:,} chunks — dense: {approx}")
        print(f"  build: texts+vectors generated {b['generate_s']:.0f} s, BM25 {b['bm25_s']:.0f} s, "
              f"dense {b['dense_s']:.1f} s, save (with checksums) {b['save_s']:.0f} s; "
              f"peak {b['peak_mb']:.0f} MB; on disk {b['disk_mb']:.0f} MB; load {b['load_start']:.1f}→{b['load_end']:.1f}")
        r = q["rss"]
        print(f"  query: load {q['load_s']:.2f} s, first query {q['first_s'] * 1000:.0f} ms, first filtered "
              f"{q['first_filtered_s'] * 1000:.0f} ms; "
              f"warm p50/p95 ms: hybrid {q['ms_hybrid'][0]:.0f}/{q['ms_hybrid'][1]:.0f}, lexical {q['ms_lexical'][0]:.0f}/"
              f"{q['ms_lexical'][1]:.0f}, dense {q['ms_dense'][0]:.0f}/{q['ms_dense'][1]:.0f}; exact dense alone "
              f"{q['exact_ms']:.1f} ms; hybrid with the query vector cached {q['ms_hybrid_cached'][0]:.0f}/"
              f"{q['ms_hybrid_cached'][1]:.0f}; the query's embedding alone {q['ms_embed'][0]:.0f}/{q['ms_embed'][1]:.0f}")
        print(f"  memory: peak {q['peak_mb']:.0f} MB, resident after queries {r['VmRSS']:.0f} MB "
              f"(anonymous {r['RssAnon']:.0f}, file-backed maps {r['RssFile']:.0f}; model and libraries before "
              f"the index: {q['model_rss_mb']:.0f}; after the exact-search comparison "
              f"{q['rss_after_exact']['VmRSS']:.0f}); load {q['load_start']:.1f}→{q['load_end']:.1f}", flush=True)
        print(f"  resident pages of the index's memory maps (MB): {q['mapped']}")
        for nprobe, judged, held, ms in q.get("sweep", ()):
            print(f"  nprobe {nprobe:>3}: recall@10 {held:.3f} held-out, {judged:.3f} judged queries; "
                  f"{ms:.1f} ms a query (IVF + exact re-scoring of 100, and the recall check)")


def _child(phase: str, n: int, folder: str, repeat: int) -> dict:
    run = subprocess.run([sys.executable, __file__, "--child", phase, "--sizes", str(n), "--folder", folder,
                          "--repeat", str(repeat)], capture_output=True, text=True)
    if run.returncode:
        sys.stderr.write(run.stderr)
        raise SystemExit(f"{phase} {n} failed")
    line = run.stdout.strip().splitlines()[-1]
    print(f"  [{phase} {n}] {line}", file=sys.stderr, flush=True)
    return json.loads(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="15000,100000,300000,1000000")
    ap.add_argument("--repeat", type=int, default=2, help="timed passes over the judged queries")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, int(args.sizes), args.folder, args.repeat)
        return
    run_scale([int(n) for n in args.sizes.split(",")], args.repeat)


if __name__ == "__main__":
    main()
