"""Passage vectors in memory: a float32 matrix of unit rows, searched by cosine similarity.

One :class:`VectorIndex` per workspace and embedding model, loaded from the store's
``knowledge_embeddings`` and kept in step the way the brain's BM25 index is: at most every
``check_every`` seconds a single-table aggregate (count and highest passage id) is compared, and
only when it moved are the new vectors read and the gone ones dropped. No passage text is held
here: hits are resolved through the brain's index, which holds the passages.

A small index is searched exactly (one matrix-vector product and an ``argpartition``). From
:data:`PARTITION_MIN_ROWS` rows on, a full scan reads more memory than a query can afford (100k
rows of 384 float32s are 154 MB), so the rows are grouped around ``sqrt(n)`` centroids (a few
k-means rounds on a sample) and stored cluster by cluster; a query scores the centroids and scans
only the :data:`PROBE_SHARE` of clusters nearest it (an inverted file, as FAISS's IVF does). New
rows join their nearest centroid; the centroids are learnt again when a tenth of the rows changed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.brain.search import KnowledgeIndex
from deskmate.core.domain import Hit, Visibility
from deskmate.core.store.db import make_session_factory
from deskmate.core.store.embeddings import VECTOR_DTYPE, iter_vectors, vector_fingerprint
from deskmate.core.store.models import KnowledgeEmbedding

OVERFETCH = 4
"""Candidates looked at per hit wanted, so passages of another visibility can be skipped."""
LOAD_BATCH = 500
PARTITION_MIN_ROWS = 20_000
"""From this many rows on, a query scans only the clusters nearest it."""
PROBE_SHARE = 1 / 32
"""The share of clusters a query scans (at least :data:`MIN_PROBES`)."""
MIN_PROBES = 8
KMEANS_ROUNDS = 4
KMEANS_SAMPLE = 20_000
RELEARN_SHARE = 0.1
"""The centroids are learnt again once this share of the rows came or went since."""
ASSIGN_CHUNK = 8192


@dataclass
class _Partitions:
    """Centroids, each row's cluster (rows in cluster order), where each cluster's rows start,
    and how many rows came or went since the centroids were learnt."""

    centroids: np.ndarray
    labels: np.ndarray
    starts: np.ndarray
    changed: int = 0

    def probe(self, query: np.ndarray) -> list[slice]:
        """The row ranges of the clusters nearest ``query``."""
        count = len(self.centroids)
        probes = min(count, max(MIN_PROBES, round(count * PROBE_SHARE)))
        nearest = np.argpartition(self.centroids @ query, -probes)[-probes:]
        return [slice(self.starts[c], self.starts[c + 1]) for c in np.sort(nearest)]


def _learn_centroids(matrix: np.ndarray, count: int) -> np.ndarray:
    """``count`` unit centroids from a few spherical k-means rounds on a sample (seeded: the same
    rows give the same centroids)."""
    rng = np.random.default_rng(0)
    sample = matrix[rng.choice(len(matrix), min(len(matrix), KMEANS_SAMPLE), replace=False)]
    centroids = sample[rng.choice(len(sample), count, replace=False)].copy()
    for _ in range(KMEANS_ROUNDS):
        labels = np.argmax(sample @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, labels, sample)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        filled = norms[:, 0] > 0
        centroids[filled] = sums[filled] / norms[filled]
    return centroids


def _assign(matrix: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each row's nearest centroid, a chunk of rows at a time (bounded temporary memory)."""
    return np.concatenate(
        [
            np.argmax(matrix[start : start + ASSIGN_CHUNK] @ centroids.T, axis=1)
            for start in range(0, len(matrix), ASSIGN_CHUNK)
        ]
    )


class VectorIndex:
    """Passage ids and their unit vectors as one float32 matrix; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._partitions: _Partitions | None = None

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def nbytes(self) -> int:
        """The memory the matrix and ids take."""
        return int(self._matrix.nbytes + self._ids.nbytes)

    def ids(self) -> set[int]:
        with self._lock:
            return set(self._ids.tolist())

    def update(self, added: Iterable[tuple[int, np.ndarray]], gone: Collection[int] = ()) -> None:
        """Drop the ``gone`` passage ids and add (or replace) the ``added`` vectors."""
        new = list(added)
        with self._lock:
            replaced = set(gone) | {pid for pid, _ in new}
            keep = ~np.isin(self._ids, list(replaced))
            ids, matrix = self._ids[keep], self._matrix[keep]
            removed = len(self._ids) - len(ids)
            old = self._partitions
            labels = old.labels[keep] if old is not None else None
            rows = np.zeros((0, matrix.shape[1]), dtype=np.float32)
            if new:
                rows = np.vstack([vector for _, vector in new]).astype(np.float32, copy=False)
                if len(matrix) and matrix.shape[1] != rows.shape[1]:
                    raise ValueError(
                        f"vectors of {rows.shape[1]} dimensions can't join {matrix.shape[1]}"
                    )
                ids = np.concatenate([ids, np.fromiter((p for p, _ in new), np.int64, len(new))])
                matrix = np.vstack([matrix, rows]) if len(matrix) else rows
            if len(ids) < PARTITION_MIN_ROWS:
                self._ids, self._matrix, self._partitions = ids, matrix, None
                return
            changed = (old.changed if old is not None else 0) + removed + len(new)
            if old is None or labels is None or changed > RELEARN_SHARE * len(ids):
                centroids = _learn_centroids(matrix, int(np.sqrt(len(ids))))
                labels, changed = _assign(matrix, centroids), 0
            else:
                centroids = old.centroids
                labels = np.concatenate([labels, _assign(rows, centroids)]) if new else labels
            order = np.argsort(labels, kind="stable")
            labels = labels[order]
            starts = np.searchsorted(labels, np.arange(len(centroids) + 1))
            self._ids, self._matrix = ids[order], matrix[order]
            self._partitions = _Partitions(centroids, labels, starts, changed)

    def nearest(self, query: np.ndarray, count: int) -> list[tuple[int, float]]:
        """The ``count`` passage ids most similar to the unit vector ``query``, best first."""
        with self._lock:
            ids, matrix, partitions = self._ids, self._matrix, self._partitions
        if count <= 0 or not len(ids) or matrix.shape[1] != len(query):
            return []
        query = query.astype(np.float32, copy=False)
        if partitions is not None:
            ranges = partitions.probe(query)
            rows = np.concatenate([np.arange(r.start, r.stop) for r in ranges])
            scores = np.concatenate([matrix[r] @ query for r in ranges])
            ids = ids[rows]
        else:
            scores = matrix @ query
        if len(scores) > count:
            top = np.argpartition(scores, -count)[-count:]
        else:
            top = np.arange(len(scores))
        ranked = top[np.argsort(-scores[top], kind="stable")]
        return [(int(ids[i]), float(scores[i])) for i in ranked]

    def search(
        self,
        query: np.ndarray,
        passages: KnowledgeIndex,
        limit: int,
        visibility: Collection[Visibility] = ("public",),
    ) -> list[Hit]:
        """The ``limit`` best passages of the given visibilities, resolved through ``passages``
        (ids it no longer holds are skipped), scored by cosine similarity."""
        hits: list[Hit] = []
        for passage_id, score in self.nearest(query, limit * OVERFETCH):
            passage = passages.passage(str(passage_id))
            if passage is not None and passage.visibility in visibility:
                hits.append(passage.hit(score))
                if len(hits) == limit:
                    break
        return hits


@dataclass
class _Cached:
    index: VectorIndex = field(default_factory=VectorIndex)
    fingerprint: tuple[int, int | None] | None = None
    checked_at: float = float("-inf")


class StoreVectors:
    """Per-workspace, per-model :class:`VectorIndex` objects that follow the store."""

    def __init__(
        self,
        engine: Engine | Callable[[], Engine],
        *,
        check_every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine_source = engine
        self._sessions: sessionmaker[Session] | None = None
        self._check_every = check_every
        self._clock = clock
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._lock = threading.Lock()

    def index(self, workspace_id: str, model: str) -> VectorIndex:
        """The workspace's vectors from ``model``, refreshed first when the store moved."""
        with self._lock:
            cached = self._cache.setdefault((workspace_id, model), _Cached())
            now = self._clock()
            if now - cached.checked_at >= self._check_every:
                cached.checked_at = now
                self._refresh(workspace_id, model, cached)
            return cached.index

    def invalidate(self) -> None:
        """Make the next :meth:`index` call of every workspace check the store now."""
        with self._lock:
            for cached in self._cache.values():
                cached.checked_at = float("-inf")

    def _refresh(self, workspace_id: str, model: str, cached: _Cached) -> None:
        with self._read_session() as session:
            fingerprint = vector_fingerprint(session, workspace_id, model)
            if fingerprint == cached.fingerprint:
                return
            if not len(cached.index):
                added = list(iter_vectors(session, workspace_id, model))
                gone: set[int] = set()
            else:
                current = set(
                    session.scalars(
                        select(KnowledgeEmbedding.passage_id).where(
                            KnowledgeEmbedding.workspace_id == workspace_id,
                            KnowledgeEmbedding.model == model,
                        )
                    )
                )
                known = cached.index.ids()
                gone = known - current
                added = list(_load(session, model, sorted(current - known)))
        cached.index.update(added, gone)
        cached.fingerprint = fingerprint

    def _read_session(self) -> Session:
        if self._sessions is None:
            source = self._engine_source
            engine = source if isinstance(source, Engine) else source()
            self._sessions = make_session_factory(engine, read_only=True)
        return self._sessions()


def _load(session: Session, model: str, passage_ids: list[int]) -> Iterable[tuple[int, np.ndarray]]:
    for start in range(0, len(passage_ids), LOAD_BATCH):
        rows = session.execute(
            select(KnowledgeEmbedding.passage_id, KnowledgeEmbedding.vector).where(
                KnowledgeEmbedding.model == model,
                KnowledgeEmbedding.passage_id.in_(passage_ids[start : start + LOAD_BATCH]),
            )
        )
        for passage_id, blob in rows:
            yield passage_id, np.frombuffer(blob, dtype=VECTOR_DTYPE)
