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
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from deskmate.core.brain.query import (
    MAX_CORRECTABLE,
    MIN_CORRECTABLE,
    SYNONYM_WEIGHT,
    Query,
    Synonyms,
    build_query,
    deletes,
    edit_distance,
    max_edits,
)
from deskmate.core.brain.text import tokenize
from deskmate.core.domain import Hit, Visibility

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 2
"""A title word counts this many times in its passage: the title says what a passage is about."""
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
        self._deletes: dict[str, str] | None = None

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
        counts = passage_terms(passage)
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
                self._learn(term)
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
        terms = set(passage_terms(passage))
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

    def correct(self, term: str) -> str | None:
        """The known term closest to an unknown ``term`` (:func:`max_edits` edits), else ``None``.

        Candidates share a one-character deletion with ``term`` (SymSpell); the most frequent
        wins. Known terms, short and overlong words and words with digits are left alone.
        """
        if not MIN_CORRECTABLE <= len(term) <= MAX_CORRECTABLE or not term.isalpha():
            return None
        if term in self._df:
            return None
        self.prepare_corrections()
        with self._lock:
            assert self._deletes is not None
            found: set[str] = set()
            for key in (term, *deletes(term)):
                if key in self._df:
                    found.add(key)
                found.update(self._deletes.get(key, "").split())
            limit = max_edits(term)
            live = [t for t in found if t in self._df and edit_distance(term, t) <= limit]
            return max(live, key=lambda t: (self._df[t], t)) if live else None

    @property
    def corrections_ready(self) -> bool:
        """Whether the typo-correction table is built."""
        return self._deletes is not None

    def prepare_corrections(self) -> None:
        """Build the correction table now (about a second per 100,000 passages) rather than on
        the first unknown word; later additions keep it current. Built outside the index lock,
        so searches go on meanwhile."""
        with self._lock:
            if self._deletes is not None:
                return
            vocabulary = list(self._df)
        table: dict[str, str] = {}
        for term in vocabulary:
            _remember_deletes(table, term)
        with self._lock:
            if self._deletes is not None:
                return
            self._deletes = table
            known = set(vocabulary)
            for term in [t for t in self._df if t not in known]:
                self._learn(term)

    def _learn(self, term: str) -> None:
        """Remember a new term's deletions once corrections are in use."""
        if self._deletes is not None:
            _remember_deletes(self._deletes, term)

    def query(
        self,
        text: str,
        synonyms: Synonyms | None = None,
        context: str = "",
        language: str | None = None,
        points_back: bool = False,
    ) -> Query:
        """``text`` as a query against this index: typos corrected, synonyms (the built-in
        ones unless given) added, ``context`` words from earlier turns at a lower weight, and
        words this index never uses weighed by how rare they are in everyday language."""
        return build_query(
            text,
            self.correct,
            synonyms,
            context,
            self._df.__contains__,
            language=language,
            points_back=points_back,
        )

    def search(
        self,
        query: str | Query,
        limit: int = 5,
        visibility: Collection[Visibility] = ("public",),
    ) -> list[Hit]:
        """Return the ``limit`` best passages for ``query`` among the given visibilities."""
        if isinstance(query, str):
            query = self.query(query)
        if limit <= 0 or not query.concepts:
            return []
        with self._lock:
            if not self._slot_of:
                return []
            scores = self._score(query)
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

    def _score(self, query: Query) -> np.ndarray:
        """BM25 by concept: the customer's own words for it summed, or its best alternative
        when that scores more (synonyms don't add up)."""
        lengths = np.frombuffer(self._lengths, dtype=np.float32)
        avg = self._total_length / len(self._slot_of) or 1.0
        scores = np.zeros(len(self._passages), dtype=np.float32)
        for concept in query.concepts:
            own = np.zeros_like(scores)
            for term in concept.own:
                self._add_term(own, term, concept.boost, lengths, avg)
            best = np.zeros_like(scores)
            for term in concept.alternatives:
                self._add_term(best, term, concept.boost * SYNONYM_WEIGHT, lengths, avg, np.maximum)
            scores += np.maximum(own, best)
        return scores

    def _add_term(
        self,
        into: np.ndarray,
        term: str,
        boost: float,
        lengths: np.ndarray,
        avg: float,
        combine: Callable[[np.ndarray, np.ndarray], np.ndarray] = np.add,
    ) -> None:
        """Fold ``term``'s BM25 contribution into ``into`` (added, or kept where greater)."""
        postings = self._postings.get(term)
        if postings is None or term not in self._df:
            return
        slots, weights = postings.weighted(lengths, avg)
        into[slots] = combine(into[slots], np.float32(boost * self.idf(term)) * weights)

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


def _remember_deletes(table: dict[str, str], term: str) -> None:
    """Add ``term`` under each of its one-letter deletions (space-separated when shared)."""
    if len(term) < MIN_CORRECTABLE - 1 or not term.isalpha():
        return
    for key in deletes(term):
        known = table.get(key)
        table[key] = term if known is None else f"{known} {term}"


def passage_terms(passage: Passage) -> Counter[str]:
    """A passage's term frequencies, title words counted :data:`TITLE_WEIGHT` times."""
    counts = Counter(tokenize(passage.text))
    for term in tokenize(passage.title):
        counts[term] += TITLE_WEIGHT
    return counts


def fuse(
    rankings: Iterable[Sequence[Hit]],
    limit: int,
    k: int = RRF_K,
    language: str | None = None,
) -> list[Hit]:
    """Reciprocal rank fusion: the hits of several best-first lists, best overall first.

    A hit scores ``1 / (k + rank)`` in each list it is in (rank 1 first), summed; the same passage
    (source, document and text) found by two lists counts once, as the first list gave it, so it
    keeps that list's score. Ranks, not scores, are compared, so lists scored differently (BM25,
    cosine similarity) mix fairly; one list keeps its order. A document ranks by its best
    passage, and within a document (its translations are the same answer) the passages in the
    question's ``language`` come first.
    """
    fused: dict[tuple[str, str, str], float] = {}
    first: dict[tuple[str, str, str], Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            key = (hit.source, hit.doc_id, hit.passage)
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
            first.setdefault(key, hit)

    def other_language(key: tuple[str, str, str]) -> bool:
        locale = first[key].locale
        return bool(language and locale) and locale.split("-")[0].lower() != language.lower()

    document: dict[tuple[str, str], float] = {}
    for key, score in fused.items():
        document[key[:2]] = max(document.get(key[:2], 0.0), score)
    order = sorted(
        fused, key=lambda key: (-document[key[:2]], other_language(key), key[:2], -fused[key])
    )
    return [first[key] for key in order[:limit]]
