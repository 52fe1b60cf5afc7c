"""Evaluation against relevance judgments (`kb eval`).

Formats (see ``../shared/eval/README.md``):
- passage search: ``{"id", "query", "doc", "any": [key phrases]}``; a hit is
  relevant when it comes from ``doc`` and its text contains a key phrase after
  normalisation; metrics success@1, success@5, MRR@10, nDCG@10 (binary gains).
- mandates: ``{"id", "query", "expect": [fragments]}``; metrics success@1,
  success@3, MRR@5.

Public entry points: :func:`load_qrels`, :func:`evaluate_search`, :func:`evaluate_mandates`,
:func:`normalise_for_match`.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .errors import KbError
from .passages import SearchOptions
from .records import Mandate
from .session import KnowledgeBase

_QUOTES = str.maketrans({"’": "'", "‘": "'", "«": '"', "»": '"', "“": '"', "”": '"'})


def normalise_for_match(text: str) -> str:
    """NFKC, lower case, typographic quotes made plain, white space collapsed."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip()


def load_qrels(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        raise KbError(f"fichier de jugements introuvable : {path}") from None
    except IsADirectoryError:
        raise KbError(f"{path} est un dossier : donnez un fichier de jugements (.jsonl)") from None
    except OSError as exc:
        raise KbError(f"fichier de jugements illisible : {path} ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KbError(f"{path} n'est pas au format JSON lines ({exc})") from None
    if not rows:
        raise KbError(f"{path} ne contient aucune requête")
    for r in rows:
        if "query" not in r or not (("doc" in r and "any" in r) or "expect" in r):
            raise KbError(f"{path} : chaque ligne demande query et doc+any (passages) ou expect (mandats)")
    return rows


def qrels_kind(rows: Sequence[dict[str, Any]]) -> str:
    return "mandates" if "expect" in rows[0] else "search"


@dataclass(frozen=True)
class QueryOutcome:
    id: str
    query: str
    first_relevant: int | None  # 1-based rank of the first relevant result, None if not in the cut-off
    ndcg: float
    top: str  # what came first, for the failure list
    query_kind: str = ""  # keyword, paraphrase, question, english, typo, fact (when the judgments say)


@dataclass
class EvalReport:
    kind: str
    metrics: dict[str, float]
    queries: list[QueryOutcome] = field(default_factory=list)
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)  # the same metrics per kind of query

    @property
    def failures(self) -> list[QueryOutcome]:
        return [q for q in self.queries if q.first_relevant != 1]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "queries": len(self.queries),
                "metrics": {k: round(v, 4) for k, v in self.metrics.items()},
                "by_kind": {k: {m: round(v, 4) for m, v in ms.items()} for k, ms in self.by_kind.items()},
                "failures": [{"id": q.id, "query": q.query, "first_relevant": q.first_relevant, "top": q.top}
                             for q in self.failures]}


def _dcg(gains: Sequence[int]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def passage_relevant(row: dict[str, Any], path: str, text: str) -> bool:
    stem = path.rsplit("/", 1)[-1]
    stem = stem[:-4] if stem.lower().endswith(".pdf") else stem
    if stem != row["doc"]:
        return False
    norm = normalise_for_match(text)
    return any(normalise_for_match(p) in norm for p in row["any"])


def score_run(kind: str, rows: Sequence[dict[str, Any]], relevance: Callable[[dict], list[bool]],
              n_relevant: Callable[[dict], int], tops: Callable[[dict], str]) -> EvalReport:
    """Metrics from per-query relevance lists (pure; shared by passages and mandates)."""
    cut = (1, 5, 10) if kind == "search" else (1, 3, 5)
    outcomes = []
    for r in rows:
        rel = relevance(r)[: cut[2]]
        first = next((i + 1 for i, x in enumerate(rel) if x), None)
        ideal = _dcg([1] * min(n_relevant(r), cut[2]))
        ndcg = _dcg([int(x) for x in rel]) / ideal if ideal else 0.0
        outcomes.append(QueryOutcome(str(r.get("id", "")), r["query"], first, ndcg, tops(r), r.get("kind", "")))
    kinds = sorted({o.query_kind for o in outcomes if o.query_kind})
    by_kind = {k: _metrics(kind, [o for o in outcomes if o.query_kind == k], cut) for k in kinds}
    return EvalReport(kind, _metrics(kind, outcomes, cut), outcomes, by_kind)


def _metrics(kind: str, outcomes: Sequence[QueryOutcome], cut: tuple[int, int, int]) -> dict[str, float]:
    n = len(outcomes)
    metrics = {
        f"success@{cut[0]}": sum(o.first_relevant == 1 for o in outcomes) / n,
        f"success@{cut[1]}": sum(o.first_relevant is not None and o.first_relevant <= cut[1] for o in outcomes) / n,
        f"MRR@{cut[2]}": sum(1 / o.first_relevant for o in outcomes if o.first_relevant) / n,
    }
    if kind == "search":
        metrics["nDCG@10"] = sum(o.ndcg for o in outcomes) / n
    return metrics


def evaluate_search(kb: KnowledgeBase, rows: Sequence[dict[str, Any]], mode: str = "hybrid",
                    ndcg: bool = True) -> EvalReport:
    """Run every query of a passage judgments file and score the top 10.

    ``ndcg=False`` skips nDCG@10 (reported as 0), which reads every passage once per
    query to count the relevant ones: tuning, which ranks the same queries many
    times and needs only the first relevant rank, turns it off.
    """
    chunks = kb.index.chunks
    results = {id(r): kb.search(r["query"], SearchOptions(k=10, mode=mode, related=0)).hits for r in rows}

    def relevance(r):
        return [passage_relevant(r, h.chunk.path, h.chunk.text) for h in results[id(r)]]

    def n_relevant(r):
        return sum(passage_relevant(r, c.path, c.text) for c in chunks) if ndcg else 0

    def tops(r):
        hits = results[id(r)]
        return f"{hits[0].chunk.path} p. {hits[0].chunk.page}" if hits else "(aucun résultat)"

    return score_run("search", rows, relevance, n_relevant, tops)


def mandate_relevant(row: dict[str, Any], m: Mandate) -> bool:
    """A mandate is right when its client or title contains one of the row's ``expect`` fragments."""
    hay = normalise_for_match(m.client) + " \n " + normalise_for_match(m.title)
    return any(normalise_for_match(f) in hay for f in row["expect"])


def evaluate_mandates(kb: KnowledgeBase, rows: Sequence[dict[str, Any]]) -> EvalReport:
    """success@1, success@3, MRR@5 of `kb mandates QUERY` against ``expect`` fragments."""
    results = {id(r): kb.find_mandates(r["query"], k=5) for r in rows}
    every = kb.mandates.mandates

    def tops(r):
        found = results[id(r)]
        return f"{found[0].mandate.title} ({found[0].mandate.client})" if found else "(aucun résultat)"

    return score_run("mandates", rows, lambda r: [mandate_relevant(r, x.mandate) for x in results[id(r)]],
                     lambda r: sum(mandate_relevant(r, m) for m in every), tops)
