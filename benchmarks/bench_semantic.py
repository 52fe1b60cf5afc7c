"""Would a stronger multilingual embedder lift the semantic ceiling? Measured in one run.

    python benchmarks/bench_semantic.py --model /tmp/egemma/embeddinggemma-300m \
        [--index /tmp/kb-sem/index] [--cache /tmp/kb-sem] [--repeat 1] [--threads 0] [--json OUT]

The candidate is any sentence-transformers folder with ``query``/``document``
prompts in its config (EmbeddingGemma-300m: see docs/MODELS.md for where it
comes from and how the folder is assembled). Nothing here is downloaded.

Systems, every one through the library's own ``KnowledgeBase.search`` over an
index built with ``kb build --model e5`` (phrase bonus, diversity and the top 10
as the product shows them):

  (a) kb hybrid         today: BM25 + e5 (4-bit), convex α = 0.5, foreign 0.8
  (b) e5 dense only     the index's own dense side
  (c) cand dense        the candidate alone, with its query/document prompts, and without them
  (d) fused             a second dense signal: (1-α)·lex + α(1-γ)·e5 + αγ·cand, min-max normalised
                        scores (γ = 0 is today); α, foreign α, γ chosen on the tuning sets
  (e) rescored top N    today's ranking, its best N re-scored by (1-β)·hybrid + β·cand
                        (normalised over the N); N, β chosen on the tuning sets

The candidate's document vectors (``kb.build.passage_text(chunk)`` under its
document prompt, and ``kb.mandates.mandate_text`` for mandates) are computed
once and cached under ``--cache``; query vectors are cached for the quality
runs and recomputed for every query in the latency runs.

Method. Every setting is chosen on the tuning sets only (dev_search,
search_queries, tune_search: pooled MRR@10 over their 75 queries, ties to the
higher success@1, then to the cheaper/closer-to-today setting). Leave-one-set-out
cross-validation across those three sets estimates how well each selection
procedure generalises. The held-out set (eval/heldout_search.jsonl) is scored
once, after every choice is printed, and nothing is chosen from it.
Mandates (tune_mandates + mandate_queries + dev_mandates / heldout_mandates)
reuse the passage-tuned fusion weights: nothing is tuned on mandates.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import timed  # noqa: E402

from kb.build import passage_text  # noqa: E402
from kb.evaluate import evaluate_mandates, load_qrels, passage_relevant, score_run  # noqa: E402
from kb.fusion import normalise  # noqa: E402
from kb.mandates import mandate_text  # noqa: E402
from kb.passages import PassageSearcher, SearchOptions  # noqa: E402
from kb.retrieve import Candidates, HybridRetriever  # noqa: E402
from kb.session import KnowledgeBase  # noqa: E402
from kb.store import load_index  # noqa: E402

EVAL = ROOT / "eval"
TUNING = ["dev_search.jsonl", "search_queries.jsonl", "tune_search.jsonl"]
HELDOUT = "heldout_search.jsonl"
M_TUNING = ["dev_mandates.jsonl", "mandate_queries.jsonl", "tune_mandates.jsonl"]
M_HELDOUT = "heldout_mandates.jsonl"
KINDS = ["keyword", "paraphrase", "question", "english", "typo", "fact"]


# -- measuring helpers ------------------------------------------------------------------------------
def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(ms: Sequence[float]) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


# -- the candidate model ------------------------------------------------------------------------------
class Candidate:
    """A sentence-transformers model with query/document prompts; caches every vector it computes."""

    def __init__(self, folder: str, cache_dir: Path) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        rss0, peak0 = rss_mb(), peak_mb()
        t = time.perf_counter()
        self.model = SentenceTransformer(folder, device="cpu")
        self.model.encode_query(["échauffement"])  # first call allocates; counted in the load
        self.load_s = time.perf_counter() - t
        self.rss_added, self.peak_after, self.peak_before = rss_mb() - rss0, peak_mb(), peak0
        self.torch = torch
        self.folder, self.cache_dir = folder, cache_dir
        self.name = Path(folder).name
        self.prompts = {k: self.model.prompts.get(k) for k in ("query", "document")}
        dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim())
        self.queries: dict[tuple[str, bool], np.ndarray] = {}
        self.embed_s: dict[str, float] = {}

    def query(self, text: str, prompts: bool = True, cached: bool = True) -> np.ndarray:
        key = (text, prompts)
        if not cached or key not in self.queries:
            enc = self.model.encode_query if prompts else self.model.encode
            self.queries[key] = enc([text], normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)[0].astype(np.float32)
        return self.queries[key]

    def documents(self, label: str, texts: Sequence[str], prompts: bool = True, fresh: bool = False) -> np.ndarray:
        """Document vectors, from the cache file when the same texts were embedded before."""
        h = hashlib.sha256(("\x00".join(texts) + f"|{prompts}|{self.name}|{self.prompts}").encode()).hexdigest()[:16]
        path = self.cache_dir / f"{self.name}-{label}-{'prompt' if prompts else 'plain'}-{h}.npy"
        meta = path.with_suffix(".json")
        if path.exists() and meta.exists() and not fresh:
            self.embed_s[f"{label}-{prompts}"] = json.loads(meta.read_text())["seconds"]
            return np.load(path)
        enc = self.model.encode_document if prompts else self.model.encode
        t = time.perf_counter()
        vecs = enc(list(texts), batch_size=8, normalize_embeddings=True, convert_to_numpy=True,
                   show_progress_bar=False).astype(np.float32)
        seconds = time.perf_counter() - t
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(path, vecs)
        meta.write_text(json.dumps({"seconds": seconds, "texts": len(texts), "when": time.ctime(),
                                    "threads": self.torch.get_num_threads()}))
        self.embed_s[f"{label}-{prompts}"] = seconds
        return vecs


# -- the systems ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    """One system. Defaults are today's kb hybrid."""

    dense_model: str = "e5"  # dense-only runs: e5 | cand | cand-plain
    alpha: float = 0.5  # weight of the dense side (lexical gets 1 - alpha)
    foreign_alpha: float = 0.8  # the same for a query in another language than the corpus
    gamma: float = 0.0  # share of the candidate within the dense side
    rerank_n: int = 0  # re-score the best N of the hybrid ranking (0: no reranking)
    beta: float = 1.0  # reranking: weight of the candidate against the first-stage score

    def label(self) -> str:
        parts = []
        if (self.alpha, self.foreign_alpha) != (0.5, 0.8) or self.gamma:
            parts.append(f"α={self.alpha:g} fα={self.foreign_alpha:g} γ={self.gamma:g}")
        if self.rerank_n:
            parts.append(f"top {self.rerank_n} β={self.beta:g}")
        return ", ".join(parts) or "today"


class State:
    """The configuration the patched searchers read, switched between runs."""

    def __init__(self, cand: Candidate) -> None:
        self.cand, self.cfg, self.cached = cand, Config(), True

    def qvec(self, text: str, prompts: bool = True) -> np.ndarray:
        return self.cand.query(text, prompts, self.cached)


class CandRetriever(HybridRetriever):
    """The hybrid retriever with the candidate as a second dense signal (or alone, in dense mode)."""

    def __init__(self, collection, fusion, state: State, vectors: np.ndarray,
                 plain: np.ndarray | None = None) -> None:
        super().__init__(collection, fusion)
        self.state, self.vectors, self.plain = state, vectors, plain

    def cand_scores(self, query, mask, n, exclude, plain: bool = False) -> dict[int, float]:
        vecs = self.plain if plain else self.vectors
        scores = vecs @ self.state.qvec(query.text, prompts=not plain)
        rows = np.flatnonzero(mask) if mask is not None else np.arange(len(scores))
        rows = rows[rows != exclude] if exclude is not None else rows
        order = np.argsort(-scores[rows], kind="stable")[:n or self.fusion.candidates]
        return {int(rows[i]): float(scores[rows[i]]) for i in order}

    def retrieve(self, query, mode="hybrid", mask=None, n=None, exclude=None) -> Candidates:
        cfg = self.state.cfg
        n = n or self.fusion.candidates
        if mode == "dense" and cfg.dense_model != "e5":
            g = self.cand_scores(query, mask, n, exclude, plain=cfg.dense_model == "cand-plain")
            return Candidates(dict(g), {}, g)
        c = super().retrieve(query, mode, mask, n, exclude)
        if mode != "hybrid" or (cfg.alpha, cfg.foreign_alpha, cfg.gamma) == (0.5, 0.8, 0.0):
            return c
        a = cfg.foreign_alpha if self.is_foreign(query) else cfg.alpha
        g = self.cand_scores(query, mask, n, exclude) if cfg.gamma else {}
        ne, ng, nl = normalise(c.dense), normalise(g), normalise(c.lexical)
        fused = {d: a * (1 - cfg.gamma) * ne.get(d, 0.0) + a * cfg.gamma * ng.get(d, 0.0)
                 + (1 - a) * nl.get(d, 0.0) for d in set(ne) | set(ng) | set(nl)}
        return Candidates(fused, c.lexical, c.dense)


class RescoringSearcher(PassageSearcher):
    """Passage search whose best N candidates (after the phrase bonus) are re-scored by the candidate."""

    state: State

    def rank(self, query, opts):
        ranking = super().rank(query, opts)
        cfg = self.state.cfg
        if not cfg.rerank_n or opts.mode != "hybrid" or not ranking:
            return ranking
        top, rest = ranking[:cfg.rerank_n], ranking[cfg.rerank_n:]
        q = self.state.qvec(query.text)
        first = normalise(dict(top))
        cand = normalise({r: float(self.retriever.vectors[r] @ q) for r, _ in top})
        new = {r: (1 - cfg.beta) * first[r] + cfg.beta * cand[r] for r, _ in top}
        return sorted(new.items(), key=lambda x: (-x[1], x[0])) + rest


def patched_kb(index, embedder, state: State, vectors: np.ndarray, plain: np.ndarray,
               mandate_vectors: np.ndarray) -> KnowledgeBase:
    """A KnowledgeBase whose passage and mandate retrievers also see the candidate."""
    kb = KnowledgeBase(index, embedder)
    searcher = RescoringSearcher(index)
    searcher.state = state
    searcher.retriever = CandRetriever(index.passages, None, state, vectors, plain)
    kb.passages = searcher
    kb.mandates.retriever = CandRetriever(index.mandates, None, state, mandate_vectors)
    return kb


# -- scoring ----------------------------------------------------------------------------------------
def run_passages(kb: KnowledgeBase, rows: Sequence[dict], mode: str) -> dict[str, int | None]:
    """Rank of the first relevant hit in the top 10 for each query id (None: not found)."""
    out = {}
    for r in rows:
        hits = kb.search(r["query"], SearchOptions(k=10, mode=mode, related=0)).hits
        rel = [passage_relevant(r, h.chunk.path, h.chunk.text) for h in hits]
        out[r["id"]] = next((i + 1 for i, x in enumerate(rel) if x), None)
    return out


def metrics(firsts: Sequence[int | None]) -> dict[str, float]:
    """success@1, success@5, MRR@10 from first-relevant ranks (kb.evaluate.score_run does the arithmetic)."""
    rows = [{"id": str(i), "query": ""} for i in range(len(firsts))]
    rel = {str(i): [False] * 10 for i in range(len(firsts))}
    for i, f in enumerate(firsts):
        if f is not None:
            rel[str(i)][f - 1] = True
    m = score_run("search", rows, lambda r: rel[r["id"]], lambda r: 1, lambda r: "").metrics
    return {"s@1": m["success@1"], "s@5": m["success@5"], "MRR": m["MRR@10"], "n": len(firsts)}


def breakdown(rows: Sequence[dict], firsts: dict[str, int | None]) -> dict[str, dict[str, float]]:
    out = {}
    for kind in KINDS + ["(none)"]:
        sel = [firsts[r["id"]] for r in rows if r.get("kind", "(none)") == kind]
        if sel:
            out[kind] = metrics(sel)
    out["all"] = metrics([firsts[r["id"]] for r in rows])
    return out


def select(grid: Sequence[Config], results: dict[Config, dict[str, int | None]], rows: Sequence[dict],
           cost: Callable[[Config], tuple]) -> Config:
    """Best pooled MRR@10 over ``rows``, then success@1, then the lowest cost."""
    def key(cfg):
        m = metrics([results[cfg][r["id"]] for r in rows])
        return (-round(m["MRR"], 9), -round(m["s@1"], 9)) + cost(cfg)
    return min(grid, key=key)


def cross_validate(grid, results, sets: dict[str, list[dict]], cost) -> tuple[dict, list[str]]:
    """Leave one tuning set out: choose on the two others, score on the one left out."""
    firsts, lines = {}, []
    for held, rows in sets.items():
        train = [r for name, rs in sets.items() if name != held for r in rs]
        cfg = select(grid, results, train, cost)
        f = {r["id"]: results[cfg][r["id"]] for r in rows}
        firsts.update(f)
        m = metrics(list(f.values()))
        lines.append(f"    chosen without {held:<22} {cfg.label():<34} on it: "
                     f"s@1 {m['s@1']:.3f} s@5 {m['s@5']:.3f} MRR {m['MRR']:.3f}")
    return firsts, lines


# -- printing ---------------------------------------------------------------------------------------
def table(title: str, systems: dict[str, dict[str, dict[str, float]]]) -> str:
    cols = [k for k in KINDS + ["(none)", "all"] if any(k in b for b in systems.values())]
    n = {k: next(b[k]["n"] for b in systems.values() if k in b) for k in cols}
    head = f"{'system':<62}" + "".join(f"{f'{k} ({n[k]})':>17}" for k in cols)
    lines = [title, head, f"{'':<62}" + "".join(f"{'s@1  s@5  MRR':>17}" for _ in cols)]
    for name, b in systems.items():
        cells = [f"{b[k]['s@1']:.2f} {b[k]['s@5']:.2f} {b[k]['MRR']:.2f}" if k in b else "-" for k in cols]
        lines.append(f"{name:<62}" + "".join(f"{c:>17}" for c in cells))
    return "\n".join(lines)


def machine_state() -> dict[str, Any]:
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    return {"nproc": os.cpu_count(), "loadavg": os.getloadavg(), "when": time.ctime(),
            "git": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain", "kb"))}


# -- main -------------------------------------------------------------------------------------------
def ensure_index(index: Path) -> None:
    if not (index / "CURRENT").exists():
        subprocess.run([sys.executable, "-m", "kb.cli", "build", "--model", "e5", "--corpus", str(ROOT / "corpus"),
                        "--index", str(index)], cwd=ROOT, check=True)


def fusion_grid() -> tuple[list[Config], list[Config]]:
    """(γ only, today's α) and (α, foreign α and γ jointly)."""
    gammas = (0.0, 0.25, 0.5, 0.75, 1.0)
    g_only = [Config(gamma=g) for g in gammas]
    joint = [Config(alpha=a, foreign_alpha=fa, gamma=g) for g in gammas
             for a in (0.3, 0.4, 0.5, 0.6, 0.7) for fa in (0.6, 0.7, 0.8, 0.9, 1.0)]
    return g_only, joint


def rerank_grid() -> tuple[list[Config], list[Config]]:
    betas = (0.25, 0.5, 0.75, 1.0)
    return [Config(rerank_n=30, beta=b) for b in betas], [Config(rerank_n=n, beta=b) for n in (10, 20, 30, 50)
                                                          for b in betas]


def fusion_cost(c: Config) -> tuple:
    return (c.gamma > 0, abs(c.alpha - 0.5) + abs(c.foreign_alpha - 0.8), c.gamma)


def rerank_cost(c: Config) -> tuple:
    return (c.rerank_n, c.beta)


def main() -> None:  # noqa: C901 - one linear script
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="the candidate's sentence-transformers folder")
    ap.add_argument("--index", default="/tmp/kb-sem/index", help="built with `kb build --model e5` if missing")
    ap.add_argument("--cache", default="/tmp/kb-sem", help="where the candidate's document vectors are cached")
    ap.add_argument("--repeat", type=int, default=1, help="timed passes over the queries")
    ap.add_argument("--threads", type=int, default=0, help="torch threads for the candidate (0: torch's default)")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--reembed", action="store_true", help="embed the corpus again (to time it) instead of the cache")
    ap.add_argument("--tune-only", action="store_true", help="stop before the held-out set (to check the tuning)")
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args()
    if not (Path(args.model) / "modules.json").exists():
        sys.exit(f"{args.model}: not a sentence-transformers folder (docs/MODELS.md says how to assemble one)")
    out: dict[str, Any] = {"machine_start": machine_state(), "args": vars(args)}
    print(f"machine: {out['machine_start']}")

    index_dir = Path(args.index)
    ensure_index(index_dir)
    peak0 = peak_mb()
    t = time.perf_counter()
    index = load_index(index_dir)
    kb = KnowledgeBase(index)
    kb.warm_up()
    e5_load = time.perf_counter() - t
    out["e5"] = {"load_s": e5_load, "peak_mb": peak_mb(), "rss_mb": rss_mb(), "model": index.embedder_spec}
    print(f"kb + e5 loaded (index {index_dir}, {len(index.chunks)} chunks, {len(index.mandates.records)} mandates): "
          f"{e5_load:.1f} s, peak RSS {peak_mb():.0f} MB (before {peak0:.0f})")

    cand = Candidate(args.model, Path(args.cache))
    if args.threads:
        cand.torch.set_num_threads(args.threads)
    print(f"candidate {cand.name} ({cand.dim}-d), prompts {cand.prompts}: load {cand.load_s:.1f} s, "
          f"RSS +{cand.rss_added:.0f} MB, peak RSS {cand.peak_before:.0f} → {cand.peak_after:.0f} MB, "
          f"torch threads {cand.torch.get_num_threads()}")
    vectors = cand.documents("chunks", [passage_text(c) for c in index.chunks], fresh=args.reembed)
    plain = cand.documents("chunks", [passage_text(c) for c in index.chunks], prompts=False)
    m_vectors = cand.documents("mandates", [mandate_text(m) for m in index.mandates.records], fresh=args.reembed)
    print(f"corpus embedded by the candidate (document prompt): {cand.embed_s['chunks-True']:.1f} s for "
          f"{len(index.chunks)} chunks + {cand.embed_s['mandates-True']:.1f} s for {len(m_vectors)} mandates "
          f"(cached under {args.cache})")
    out["candidate"] = {"folder": args.model, "dim": cand.dim, "load_s": cand.load_s, "rss_added_mb": cand.rss_added,
                        "peak_before_mb": cand.peak_before, "peak_after_mb": cand.peak_after,
                        "embed_s": cand.embed_s, "threads": cand.torch.get_num_threads()}

    state = State(cand)
    kbc = patched_kb(index, kb.embedder, state, vectors, plain, m_vectors)
    tuning = {name: load_qrels(EVAL / name) for name in TUNING}
    heldout = load_qrels(EVAL / HELDOUT)
    tune_rows = [r for rows in tuning.values() for r in rows]

    def run(cfg: Config, rows, mode="hybrid", base=False):
        state.cfg = cfg
        return run_passages(kb if base else kbc, rows, mode)

    # -- fixed systems on the tuning sets ------------------------------------------------------------
    fixed = {"(a) kb hybrid (today)": (Config(), "hybrid", True),
             "(b) e5 dense only": (Config(), "dense", True),
             "(c) cand dense only, with prompts": (Config(dense_model="cand"), "dense", False),
             "(c) cand dense only, no prompts": (Config(dense_model="cand-plain"), "dense", False)}
    tune_firsts = {name: run(cfg, tune_rows, mode, base) for name, (cfg, mode, base) in fixed.items()}

    # -- tuning grids ----------------------------------------------------------------------------------
    t = time.perf_counter()
    g_only, joint = fusion_grid()
    r30, r_all = rerank_grid()
    results = {cfg: run(cfg, tune_rows) for cfg in dict.fromkeys(joint + g_only + r_all)}
    assert results[Config()] == tune_firsts["(a) kb hybrid (today)"], "the patched searcher must reproduce today"
    print(f"\ntuning grid: {len(results)} settings × {len(tune_rows)} queries in {time.perf_counter() - t:.0f} s")
    procedures = {"(d) fused, γ tuned (α 0.5, fα 0.8)": (g_only, fusion_cost),
                  "(d') fused, α, fα, γ tuned": (joint, fusion_cost),
                  "(e) rescored top 30, β tuned": (r30, rerank_cost),
                  "(e') rescored top N, N and β tuned": (r_all, rerank_cost)}
    chosen: dict[str, Config] = {}
    cv_firsts: dict[str, dict] = {}
    print("\nCross-validation (leave one tuning set out; chosen by pooled MRR@10 of the two others):")
    for name, (grid, cost) in procedures.items():
        print(f"  {name}")
        cv_firsts[name], lines = cross_validate(grid, results, tuning, cost)
        print("\n".join(lines))
        chosen[name] = select(grid, results, tune_rows, cost)
    base_cv = {"(a) kb hybrid (today)": tune_firsts["(a) kb hybrid (today)"]}
    print("\n" + table(f"Cross-validated estimate, the 3 tuning sets pooled ({len(tune_rows)} queries)",
                       {n: breakdown(tune_rows, f) for n, f in {**base_cv, **cv_firsts}.items()}))

    print("\nChosen on all the tuning sets (fixed from here on; held-out not yet looked at):")
    for name, cfg in chosen.items():
        print(f"  {name:<40} {cfg.label()}")
    cv = {n: metrics(list(f.values())) for n, f in cv_firsts.items()}
    best = min(cv, key=lambda n: (-round(cv[n]["MRR"], 9), -round(cv[n]["s@1"], 9)))
    print(f"Recommended before the held-out set (best cross-validated MRR@10, {cv[best]['MRR']:.3f}): "
          f"{best}: {chosen[best].label()}")
    out["recommended"] = {"procedure": best, "config": asdict(chosen[best]), "cv": cv}
    out["chosen"] = {n: asdict(c) for n, c in chosen.items()}
    systems = {**{n: (c, m, b) for n, (c, m, b) in fixed.items()},
               **{f"{n}: {c.label()}": (c, "hybrid", False) for n, c in chosen.items()}}
    for name, cfg in chosen.items():
        tune_firsts[f"{name}: {cfg.label()}"] = results[cfg]
    tune_tables = {n: breakdown(tune_rows, tune_firsts[n]) for n in systems}
    print("\n" + table(f"TUNING sets pooled ({len(tune_rows)} queries; the chosen settings are fitted to these)",
                       tune_tables))
    for set_name, rows in tuning.items():
        print("\n" + table(f"  {set_name}", {n: {"all": breakdown(rows, tune_firsts[n])["all"]} for n in systems}))
    out["tune"] = tune_tables
    if args.tune_only:
        return

    # -- held-out: once --------------------------------------------------------------------------------
    held_firsts = {name: run(cfg, heldout, mode, base) for name, (cfg, mode, base) in systems.items()}
    held_tables = {n: breakdown(heldout, f) for n, f in held_firsts.items()}
    print("\n" + table(f"HELD-OUT ({len(heldout)} queries written blind; scored once, nothing chosen on it)",
                       held_tables))
    out["heldout"] = held_tables
    out["heldout_firsts"] = held_firsts

    # -- mandates (passage-tuned weights, nothing tuned here) ------------------------------------------
    m_systems = {"(a) kb hybrid (today)": Config(), "e5 dense only (α=1)": Config(alpha=1.0, foreign_alpha=1.0),
                 "cand dense only (α=1, γ=1)": Config(alpha=1.0, foreign_alpha=1.0, gamma=1.0),
                 **{n: c for n, c in chosen.items() if c.gamma}}
    m_tune = [r for name in M_TUNING for r in load_qrels(EVAL / name)]
    m_held = load_qrels(EVAL / M_HELDOUT)
    out["mandates"] = {}
    print("\nMandates (success@1, success@3, MRR@5; fused rows reuse the passage-tuned weights)")
    print(f"{'system':<62}{f'tuning sets ({len(m_tune)})':>24}{f'held-out ({len(m_held)})':>24}")
    for name, cfg in m_systems.items():
        state.cfg = cfg
        cells = []
        for rows in (m_tune, m_held):
            m = evaluate_mandates(kb if cfg == Config() else kbc, rows).metrics
            cells.append(f"{m['success@1']:.2f} {m['success@3']:.2f} {m['MRR@5']:.2f}")
        out["mandates"][name] = cells
        print(f"{name:<62}" + "".join(f"{c:>24}" for c in cells))

    # -- latency -------------------------------------------------------------------------------------
    if not args.skip_latency:
        latency(args, out, kb, kbc, state, systems, [r["query"] for r in tune_rows + heldout])
    out["machine_end"] = machine_state()
    print(f"\nmachine at the end: {out['machine_end']}; peak RSS {peak_mb():.0f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, ensure_ascii=False, default=str))


def latency(args, out, kb, kbc, state, systems, queries) -> None:
    """Warm latency of the product path (passages + 3 related mandates), every query embedded."""
    print(f"\nWarm latency, {len(queries)} queries × {args.repeat}, each query embedded (no vector cache), "
          f"passages + related mandates; torch threads {state.cand.torch.get_num_threads()}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'system':<70}{'p50 ms':>9}{'p95 ms':>9}")
    out["latency"] = {}
    for name, (cfg, mode, base) in systems.items():
        target = kb if base else kbc

        def fn(q: str, target=target, mode=mode, cfg=cfg):
            state.cfg = cfg
            target.clear_query_cache()
            state.cand.queries.clear()  # embedded once per query, shared by passages and mandates
            return target.search(q, SearchOptions(k=10, mode=mode, related=3))
        p50, p95 = pct(timed(fn, queries, args.repeat, warm=10))
        out["latency"][name] = (p50, p95)
        print(f"{name:<70}{p50:>9.1f}{p95:>9.1f}")
    for threads in (1, 2):
        state.cand.torch.set_num_threads(threads)
        p50, p95 = pct(timed(lambda q: state.cand.query(q, cached=False), queries, args.repeat, warm=10))
        out["latency"][f"candidate query embedding alone, {threads} thread(s)"] = (p50, p95)
        print(f"{f'candidate query embedding alone, torch threads {threads}':<70}{p50:>9.1f}{p95:>9.1f}")


if __name__ == "__main__":
    main()
