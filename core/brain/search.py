"""BM25 knowledge search over an in-memory inverted index.

Each term's postings are two growable arrays (passage slots and term frequencies), viewed as numpy
arrays at query time without copying, so a query only touches the passages that contain one of its
terms. Removal marks a slot dead and adjusts document frequencies; dead postings are compacted away
once they make up half of the index. Thread-safe: one lock guards every read and write.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from deskmate.core.brain.text import tokenize
from deskmate.core.domain import Hit, Visibility

K1 = 1.2
B = 0.75
CACHE_MIN_POSTINGS = 256
RRF_K = 60
"""Reciprocal rank fusion's constant: how much a top rank counts over the next ones."""
_DEAD, _PUBLIC, _INTERNAL = 0, 1, 2
_VIS_CODE = {"public": _PUBLIC, "internal": _INTERNAL}


@dataclass(frozen=True)
class Passage:
    """One searchable piece of a knowledge document; ``id`` is unique within an index."""

    id: str
    doc_id: str
    title: str
    text: str
    url: str | None = None
    locale: str | None = None
    visibility: Visibility = "public"
    source: str = "article"

    def hit(self, score: float) -> Hit:
        return Hit(
            doc_id=self.doc_id,
            title=self.title,
            passage=self.text,
            score=score,
            url=self.url,
            source=self.source,
            visibility=self.visibility,
            locale=self.locale,
        )


class _Postings:
    """The passages (slots) containing one term and the term's frequency in each."""

    __slots__ = ("_cache", "_cache_key", "slots", "tfs")

    def __init__(self) -> None:
        self.slots = array("i")
        self.tfs = array("f")
        self._cache: tuple[np.ndarray, np.ndarray] | None = None
        self._cache_key: tuple[int, float] | None = None

    def weighted(self, lengths: np.ndarray, avg: float) -> tuple[np.ndarray, np.ndarray]:
        """The slots and their BM25 term-frequency weights (idf aside).

        Long postings keep the result until the term gains a passage or the average passage
        length moves, so a frequent term costs one vector addition per query.
        """
        key = (len(self.slots), avg)
        if self._cache is not None and self._cache_key == key:
            return self._cache
        slots = np.frombuffer(self.slots, dtype=np.int32).copy()
        tfs = np.frombuffer(self.tfs, dtype=np.float32)
        norm = K1 * (1.0 - B + B * lengths[slots] / avg)
        result = slots, (tfs * (K1 + 1.0) / (tfs + norm)).astype(np.float32)
        if len(slots) >= CACHE_MIN_POSTINGS:
            self._cache, self._cache_key = result, key
        return result


class KnowledgeIndex:
    """An incrementally updatable BM25 index of :class:`Passage` objects."""

    def __init__(self, passages: Iterable[Passage] = ()) -> None:
        self._lock = threading.RLock()
        self._reset()
        self.add(passages)

    def _reset(self) -> None:
        self._passages: list[Passage | None] = []
        self._slot_of: dict[str, int] = {}
        self._lengths = array("f")
        self._vis = array("b")
        self._postings: dict[str, _Postings] = {}
        self._df: Counter[str] = Counter()
        self._total_length = 0.0
        self._dead_postings = 0
        self._postings_count = 0
        self._masks: dict[tuple[int, ...], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, passage_id: object) -> bool:
        return passage_id in self._slot_of

    def ids(self) -> list[str]:
        """The ids of the indexed passages."""
        with self._lock:
            return list(self._slot_of)

    def passage(self, passage_id: str) -> Passage | None:
        """The indexed passage with this id, if any."""
        with self._lock:
            slot = self._slot_of.get(passage_id)
            return self._passages[slot] if slot is not None else None

    def add(self, passages: Iterable[Passage]) -> None:
        """Add passages; a passage whose id is already indexed replaces the old one."""
        with self._lock:
            for passage in passages:
                if passage.id in self._slot_of:
                    self._remove_one(passage.id)
                self._add_one(passage)

    def remove(self, passage_ids: Iterable[str]) -> int:
        """Remove passages by id (unknown ids are ignored); return how many were removed."""
        with self._lock:
            removed = sum(self._remove_one(pid) for pid in passage_ids)
            if self._dead_postings * 2 > self._postings_count > 0:
                self._compact()
            return removed

    def _add_one(self, passage: Passage) -> None:
        self._masks.clear()
        slot = len(self._passages)
        counts = Counter(tokenize(f"{passage.title}\n{passage.text}"))
        length = float(sum(counts.values()))
        self._passages.append(passage)
        self._slot_of[passage.id] = slot
        self._lengths.append(length)
        self._vis.append(_VIS_CODE.get(passage.visibility, _INTERNAL))
        self._total_length += length
        for term, tf in counts.items():
            postings = self._postings.get(term)
            if postings is None:
                postings = self._postings[term] = _Postings()
            postings.slots.append(slot)
            postings.tfs.append(tf)
            self._df[term] += 1
        self._postings_count += len(counts)

    def _remove_one(self, passage_id: str) -> bool:
        slot = self._slot_of.pop(passage_id, None)
        if slot is None:
            return False
        self._masks.clear()
        passage = self._passages[slot]
        assert passage is not None
        terms = set(tokenize(f"{passage.title}\n{passage.text}"))
        for term in terms:
            self._df[term] -= 1
            if self._df[term] <= 0:
                del self._df[term]
        self._passages[slot] = None
        self._vis[slot] = _DEAD
        self._total_length -= self._lengths[slot]
        self._dead_postings += len(terms)
        return True

    def _compact(self) -> None:
        live = [p for p in self._passages if p is not None]
        self._reset()
        for passage in live:
            self._add_one(passage)

    def idf(self, term: str) -> float:
        """BM25 inverse document frequency; a term found nowhere gets the highest value."""
        n = len(self._slot_of)
        df = self._df.get(term, 0)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def search(
        self,
        query: str,
        limit: int = 5,
        visibility: Collection[Visibility] = ("public",),
    ) -> list[Hit]:
        """Return the ``limit`` best passages for ``query`` among the given visibilities."""
        terms = set(tokenize(query))
        if limit <= 0 or not terms:
            return []
        with self._lock:
            if not self._slot_of:
                return []
            scores = self._score(terms)
            return self._top(scores, self._mask(visibility), limit)

    def _mask(self, visibility: Collection[Visibility]) -> np.ndarray:
        """Which slots are live and of one of the given visibilities (cached until a change)."""
        unknown = set(visibility) - _VIS_CODE.keys()
        if unknown:
            raise ValueError(f"unknown visibility {sorted(unknown)}: use 'public' or 'internal'")
        codes = tuple(sorted({_VIS_CODE[v] for v in visibility}))
        mask = self._masks.get(codes)
        if mask is None:
            mask = self._masks[codes] = np.isin(np.frombuffer(self._vis, dtype=np.int8), codes)
        return mask

    def _score(self, terms: set[str]) -> np.ndarray:
        lengths = np.frombuffer(self._lengths, dtype=np.float32)
        avg = self._total_length / len(self._slot_of) or 1.0
        scores = np.zeros(len(self._passages), dtype=np.float32)
        for term in terms:
            postings = self._postings.get(term)
            if postings is None or term not in self._df:
                continue
            slots, weights = postings.weighted(lengths, avg)
            scores[slots] += np.float32(self.idf(term)) * weights
        return scores

    def _top(self, scores: np.ndarray, mask: np.ndarray, limit: int) -> list[Hit]:
        candidates = np.flatnonzero(scores)
        candidates = candidates[mask[candidates]]
        if len(candidates) > limit:
            best = np.argpartition(scores[candidates], -limit)[-limit:]
            candidates = candidates[best]
        ranked = sorted(candidates.tolist(), key=lambda s: (-scores[s], s))
        hits = []
        for slot in ranked:
            passage = self._passages[slot]
            assert passage is not None
            hits.append(passage.hit(float(scores[slot])))
        return hits


def fuse(rankings: Iterable[Sequence[Hit]], limit: int, k: int = RRF_K) -> list[Hit]:
    """Reciprocal rank fusion: the hits of several best-first lists, best overall first.

    A hit scores ``1 / (k + rank)`` in each list it is in (rank 1 first), summed; the same passage
    (source, document and text) found by two lists counts once, as the first list gave it, so it
    keeps that list's score. Ranks, not scores, are compared, so lists scored differently (BM25,
    cosine similarity) mix fairly; one list keeps its order.
    """
    fused: dict[tuple[str, str, str], float] = {}
    first: dict[tuple[str, str, str], Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            key = (hit.source, hit.doc_id, hit.passage)
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
            first.setdefault(key, hit)
    order = sorted(fused, key=lambda key: -fused[key])
    return [first[key] for key in order[:limit]]
