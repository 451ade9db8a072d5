"""Knowledge search and reply-decision latency at 100k passages, against a baseline in the same run.

The corpus is generated: a Zipf-distributed vocabulary of pseudo-words, passages of 30-120 words,
titles of 3-8 words. Queries are 3-8 words drawn from random passages mixed with common words,
as customer questions are. The baseline is rank_bm25-style BM25Okapi scoring: a dict of term
counts per passage and, per query term, a pass over every passage (what ``rank_bm25.get_scores``
does). Both score the same corpus with the same tokeniser; the target is p99 < 20 ms for search
and p50 < 50 ms for the default reply decision (search, draft, language, sentiment, escalation).

Run: ``python benchmarks/knowledge_search.py [--passages 100000] [--queries 500]``
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from deskmate.core.brain.preview import answer_preview
from deskmate.core.brain.query import SYNONYM_WEIGHT, Query
from deskmate.core.brain.search import KnowledgeIndex, Passage, passage_terms
from deskmate.core.brain.settings import BrainSettings

Q = TypeVar("Q")
SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
COMMON = ("how", "do", "i", "my", "the", "can", "you", "to", "reset", "account", "not", "working")


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def corpus(n: int, seed: int = 7) -> list[Passage]:
    rng = random.Random(seed)
    vocab = vocabulary(rng, 40_000)
    weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(vocab))]
    cum = list(np.cumsum(weights))
    passages = []
    for i in range(n):
        words = rng.choices(vocab, cum_weights=cum, k=rng.randint(30, 120))
        title = " ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(3, 8)))
        passages.append(Passage(str(i), f"doc{i // 4}", title, " ".join(words) + "."))
    return passages


def queries(passages: Sequence[Passage], count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = rng.choice(passages).text.rstrip(".").split()
        picked = rng.sample(words, k=min(len(words), rng.randint(2, 5)))
        out.append(" ".join(rng.sample(COMMON, k=3) + picked) + "?")
    return out


class NaiveBM25:
    """rank_bm25's BM25Okapi scoring: every query term is scored against every passage.

    It counts the same terms as the index (title words weighted) and takes the index's query
    (corrected, with synonyms), so the two must rank alike."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = passages
        self.doc_freqs = [passage_terms(p) for p in passages]
        self.doc_len = np.array([sum(d.values()) for d in self.doc_freqs], dtype=np.float64)
        self.avgdl = float(self.doc_len.mean())
        df: Counter[str] = Counter()
        for d in self.doc_freqs:
            df.update(d.keys())
        n = len(passages)
        self.idf = {t: math.log(1.0 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def top(self, query: Query, limit: int = 5) -> list[int]:
        scores = np.zeros(len(self.passages))
        norm = 1.2 * (1 - 0.75 + 0.75 * self.doc_len / self.avgdl)
        for concept in query.concepts:
            own = sum((self._bm25(q, concept.boost, norm) for q in concept.own), 0.0)
            best = np.zeros(len(self.passages))
            for q in concept.alternatives:
                best = np.maximum(best, self._bm25(q, concept.boost * SYNONYM_WEIGHT, norm))
            scores += np.maximum(own, best)
        return np.argsort(-scores)[:limit].tolist()

    def _bm25(self, term: str, boost: float, norm: np.ndarray) -> np.ndarray:
        tf = np.array([d.get(term, 0) for d in self.doc_freqs], dtype=np.float64)
        return boost * self.idf.get(term, 0.0) * tf * 2.2 / (tf + norm)


def rss_mb() -> float:
    """Resident memory of this process in MB (0 where /proc is not available)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def timings_ms(func: Callable[[Q], object], qs: Sequence[Q]) -> list[float]:
    out = []
    for q in qs:
        start = time.perf_counter_ns()
        func(q)
        out.append((time.perf_counter_ns() - start) / 1e6)
    return out


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def report(name: str, values: Sequence[float]) -> tuple[float, float]:
    p50, p99 = statistics.median(values), pct(values, 0.99)
    print(f"{name:<34} n={len(values):<5} p50={p50:8.2f} ms  p99={p99:8.2f} ms")
    return p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--baseline-queries", type=int, default=40)
    args = parser.parse_args()

    passages = corpus(args.passages)
    qs = queries(passages, args.queries)
    before = rss_mb()
    start = time.perf_counter()
    index = KnowledgeIndex(passages)
    print(f"indexed {len(index)} passages in {time.perf_counter() - start:.1f} s", end="")
    print(f", resident memory +{rss_mb() - before:.0f} MB" if before else "")
    start = time.perf_counter()
    naive = NaiveBM25(passages)
    print(f"baseline built in {time.perf_counter() - start:.1f} s")

    timings_ms(lambda q: index.search(q, 5), qs[:20])  # warm-up
    _, search_p99 = report("index.search (top 5)", timings_ms(lambda q: index.search(q, 5), qs))
    built = [index.query(q) for q in qs[: args.baseline_queries]]
    base = timings_ms(naive.top, built)
    base_p50, base_p99 = report("baseline rank_bm25-style", base)
    ours = timings_ms(lambda q: index.search(q, 5), qs[: args.baseline_queries])
    ours_p50, ours_p99 = report("index.search, same queries", ours)
    slot_of = {p.text: i for i, p in enumerate(passages)}
    agree = sum([slot_of[h.passage] for h in index.search(q, 1)] == naive.top(q, 1) for q in built)
    print(f"top-1 agreement with baseline: {agree}/{len(built)}")

    settings = BrainSettings()
    decide = timings_ms(lambda q: answer_preview(q, None, index, settings), qs)
    decide_p50, _ = report("answer_preview (reply decision)", decide)

    print()
    print(f"speed-up vs baseline: p50 {base_p50 / ours_p50:.0f}x, p99 {base_p99 / ours_p99:.0f}x")
    print(f"search p99 {search_p99:.2f} ms: {'PASS' if search_p99 < 20 else 'FAIL'} (< 20 ms)")
    print(f"decision p50 {decide_p50:.2f} ms: {'PASS' if decide_p50 < 50 else 'FAIL'} (< 50 ms)")


if __name__ == "__main__":
    main()
