"""Choose the fusion from measurements: every setting on every judged query set.

    python benchmarks/sweep_fusion.py [--index DIR] QRELS.jsonl [QRELS.jsonl ...]

Prints MRR@10 and success@1 per set for RRF (several k and weights) and for the
convex combination of min-max normalised scores (several alpha). The default
in kb.retrieve.FusionSettings is the setting picked from this table.
"""
from __future__ import annotations

import argparse
from dataclasses import replace

from kb.evaluate import evaluate_search, load_qrels
from kb.store import load_index
from kb.retrieve import FusionSettings
from kb.session import KnowledgeBase


class CachedEmbedder:
    """The index's embedder, remembering query vectors across settings."""

    def __init__(self, inner) -> None:
        self.inner, self.spec, self.model_id, self.dim, self.cache = inner, inner.spec, inner.model_id, inner.dim, {}

    def embed(self, texts, query=False):
        import numpy as np

        key = (tuple(texts), query)
        if key not in self.cache:
            self.cache[key] = self.inner.embed(texts, query)
        return np.array(self.cache[key])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("qrels", nargs="+")
    ap.add_argument("--index", default="index")
    args = ap.parse_args()
    from kb.embed import load_embedder

    index = load_index(args.index)
    embedder = CachedEmbedder(load_embedder(index.embedder_spec))
    sets = {q: load_qrels(q) for q in args.qrels}
    base = FusionSettings()
    settings = {"lexical only": ("lexical", base), "dense only": ("dense", base)}
    for k in (10, 30, 60):
        for wd in (0.5, 1.0, 1.5, 2.0):
            settings[f"rrf k={k} dense×{wd}"] = ("hybrid", replace(base, method="rrf", rrf_k=k, dense_weight=wd))
    for alpha in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        settings[f"convex alpha={alpha}"] = ("hybrid", replace(base, method="convex", alpha=alpha,
                                                                  foreign_alpha=alpha))
    for alpha in (0.4, 0.5, 0.6):
        for fa in (0.7, 0.8, 0.9):
            settings[f"convex {alpha}, foreign {fa}"] = ("hybrid", replace(base, method="convex", alpha=alpha,
                                                                            foreign_alpha=fa))
    names = [q.rsplit("/", 1)[-1] for q in sets]
    print(f"{'setting':<26}" + "".join(f"{n[:22]:>24}" for n in names) + f"{'mean MRR':>10}")
    for label, (mode, fusion) in settings.items():
        searcher = KnowledgeBase(index, embedder, fusion)
        cells, mrrs = [], []
        for rows in sets.values():
            m = evaluate_search(searcher, rows, mode=mode).metrics
            mrrs.append(m["MRR@10"])
            cells.append(f"MRR {m['MRR@10']:.3f} s@1 {m['success@1']:.2f}")
        print(f"{label:<26}" + "".join(f"{c:>24}" for c in cells) + f"{sum(mrrs) / len(mrrs):>10.3f}")


if __name__ == "__main__":
    main()
