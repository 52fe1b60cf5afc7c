"""A knowledge base opened once: passages and mandates for the CLI and the app.

:class:`KnowledgeBase` loads an index, its embedder and both searchers once,
builds each request's :class:`~kb.query.Query` once (analysis, language,
vector) and hands it to the passage and mandate searchers.

Public entry point: :class:`KnowledgeBase`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .embed import Embedder, limit_blas_threads, load_embedder
from .mandate_search import MandateSearcher
from .passages import PassageSearcher, SearchOptions
from .query import Query
from .records import RankedMandate, SearchResult
from .errors import IndexMismatchError
from .retrieve import FusionSettings, RerankSettings, SecondModelReranker
from .spelling import Speller
from .store import KbIndex, load_index, read_tuning

_QUERY_CACHE = 256
_SPELLER_SAMPLE = 50_000


def fitted_fusion(index_dir: str | Path) -> FusionSettings | None:
    """The fusion settings fitted by `kb tune --apply` for this index, or None (the defaults)."""
    tuning = read_tuning(index_dir)
    try:
        return FusionSettings(alpha=float(tuning["alpha"]), foreign_alpha=float(tuning["foreign_alpha"]))
    except (TypeError, KeyError, ValueError):
        return None


class KnowledgeBase:
    """Answers passage and mandate queries over one loaded index.

    Args:
        index: a loaded index.
        embedder: the index's embedder; built from the manifest when omitted.
            An embedder of another model raises :class:`~kb.errors.IndexMismatchError`.
        fusion: fusion settings shared by passages and mandates.
        rerank: how the index's second model, if it has one, re-scores the best passages.
    """

    def __init__(self, index: KbIndex, embedder: Embedder | None = None,
                 fusion: FusionSettings | None = None, rerank: RerankSettings | None = None) -> None:
        limit_blas_threads()
        self.index = index
        self._embedder = embedder
        if embedder is not None:
            index.check_embedder(embedder)
        second = index.manifest.get("second_embedder")
        self._second_spec: str | None = second["spec"] if second else None
        self._second: Embedder | None = None
        reranker = SecondModelReranker(index.passages, rerank) if self._second_spec else None
        self.passages = PassageSearcher(index, fusion, reranker=reranker)
        self.mandates = MandateSearcher(index.mandates, fusion)
        self._vectors: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        self._speller: Speller | None = None

    @classmethod
    def open(cls, index_dir: str | Path, model: str | None = None) -> "KnowledgeBase":
        """Load the live index of ``index_dir`` (with the model ``model`` instead of the index's own),
        with the fusion weights `kb tune --apply` fitted for it, if any."""
        return cls(load_index(index_dir), load_embedder(model) if model else None, fitted_fusion(index_dir))

    def detached(self) -> "KnowledgeBase":
        """Another knowledge base over the same loaded index and models, with searchers of its own.

        Changing its fusion settings (as tuning does) leaves this one, which other
        sessions may be querying, untouched.
        """
        other = KnowledgeBase(self.index, self._embedder, self.passages.retriever.fusion)
        other._second, other._vectors = self._second, self._vectors  # same models: same query vectors
        return other

    @property
    def embedder(self) -> Embedder:
        """The index's own embedder (loaded on first use when none was given)."""
        if self._embedder is None:
            self._embedder = load_embedder(self.index.embedder_spec)
            self.index.check_embedder(self._embedder)
        return self._embedder

    def query(self, text: str, vector: bool = True) -> Query:
        """Analyse ``text`` once: terms, language against the corpus, and (when asked) its vector.

        Raises:
            QueryError: empty, or only stop words.
        """
        q = Query.parse(text)
        q = q.with_foreign(self.passages.retriever.is_foreign(q))
        if not vector:
            return q
        cached = self._vectors.get(q.text)
        if cached is None:
            if len(self._vectors) >= _QUERY_CACHE:
                self._vectors.clear()
            second = self.second_embedder
            cached = self._vectors[q.text] = (self.embedder.embed([q.text], query=True)[0],
                                              second.embed([q.text], query=True)[0] if second else None)
        q = q.with_vector(cached[0])
        return q.with_second_vector(cached[1]) if cached[1] is not None else q

    @property
    def second_embedder(self) -> Embedder | None:
        """The index's second model (loaded on first use), or None when it has none."""
        if self._second is None and self._second_spec:
            self._second = load_embedder(self._second_spec)
            want = self.index.manifest["second_embedder"]["model_id"]
            if self._second.model_id != want:
                raise IndexMismatchError(f"le second modèle de l'index est {want}, pas {self._second.model_id} : "
                                         "reconstruisez-le avec `kb build --full`")
        return self._second

    @property
    def speller(self) -> Speller:
        """Corrections from the corpus vocabulary (built on the first query that needs one)."""
        if self._speller is None:
            chunks = self.index.chunks  # above _SPELLER_SAMPLE chunks, an even sample of them (1M: seconds saved)
            step = max(1, len(chunks) // _SPELLER_SAMPLE)
            self._speller = Speller(chunks[i].text for i in range(0, len(chunks), step))
        return self._speller

    def _correction(self, q: Query, unknown: tuple[str, ...]) -> str:
        """The query with each unknown word corrected, or "" when one of them has no correction."""
        fixes = {w: self.speller.correct(w) for w in unknown}
        if not fixes or not all(fixes.values()):
            return ""
        out, last = [], 0
        for _, s, e in q.spans:
            word = q.text[s:e]
            if word in fixes:
                out += [q.text[last:s], fixes[word]]
                last = e
        return "".join(out) + q.text[last:]

    def search(self, text: str, options: SearchOptions | None = None) -> SearchResult:
        """Passages for a query, with the past mandates related to it.

        A query whose unknown words all have a close corpus word gets a
        ``suggestion``; when none of its words is known, the suggestion is
        searched instead (``corrected``). An English query is neither.

        Raises:
            QueryError: empty query, only stop words, or an unknown mode.
        """
        opts = options or SearchOptions()
        want_vector = opts.mode != "lexical" or opts.related > 0
        q = self.query(text, vector=want_vector)
        unknown = self.passages.retriever.unknown_words(q)
        suggestion = self._correction(q, unknown) if q.language != "en" else ""
        corrected = bool(suggestion) and len(set(unknown)) == len(set(q.text[s:e] for _, s, e in q.spans))
        # Another language when its function words say so, or when two or more of its words are all unknown
        # and none has a correction; one unknown word alone (« xyzzyplugh ») is said to be found nowhere.
        english = q.language == "en" or (q.foreign and not suggestion and len(set(unknown)) >= 2)
        if corrected:
            q = self.query(suggestion, vector=want_vector)
        hits = self.passages.search(q, opts)
        related = tuple(self.mandates.related(q, opts.related)) if q.vector is not None else ()
        return SearchResult(text.strip(), hits, related, () if english else unknown, suggestion, corrected,
                            "en" if english else "fr")

    def find_mandates(self, text: str, k: int = 5) -> list[RankedMandate]:
        """The past mandates closest to a situation.

        Raises:
            QueryError: the description is empty or only stop words.
        """
        q = self.query(text, vector=bool(self.mandates.mandates))
        return self.mandates.search(q, k)

    def clear_query_cache(self) -> None:
        """Forget the query vectors (a benchmark measures every embedding)."""
        self._vectors.clear()

    def warm_up(self) -> None:
        """Load the model and build the lazy caches now, not on a user's first query."""
        if self.index.chunks:
            self.search("développement des communautés")
            self.speller  # noqa: B018 (built now: a first query with a typo waited 1 s for it at 15,000 chunks)
        self.clear_query_cache()
