"""Semantic search: search latency and memory with vectors at 100k passages, and embeddings calls
per sync, each against its baseline in the same run.

* **Search.** The corpus and questions of ``knowledge_search.py`` in a :class:`KnowledgeIndex`,
  plus one unit vector per passage (random, ``--dimensions`` of them) in the llm plugin's
  :class:`VectorIndex`. Timed per question: BM25 alone (the baseline), and what the llm brain's
  search adds in process: the nearest passages by cosine, resolved through the BM25 index, fused
  with the BM25 hits by reciprocal rank. The question's own embeddings call is the model's time,
  not deskmate's, and is left out. Target: p99 < 20 ms in one process. The vectors gather around
  2,000 topics (random centers plus noise), as real embeddings cluster; the nearest vectors are
  also checked against an exact scan of every vector (recall, and its time). Memory: the matrix's
  size and the process's resident growth while the vectors load.
* **Embeddings calls per sync.** A sandbox with a generated help center, synced into a SQLite
  store, then embedded through the real SDK against the sandbox's ``/v1/embeddings``; then
  ``--changed`` articles change, the sync runs again, and the new passages are embedded. Calls
  are counted in the sandbox's request log; the target is at most ``ceil(N / batch)`` for N
  changed passages.

Run: ``python benchmarks/semantic_search.py [--passages 100000] [--dimensions 384]``
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from knowledge_search import corpus, queries, report, rss_mb, timings_ms

from deskmate.core.brain.search import KnowledgeIndex, fuse
from deskmate.core.config import Secret, Settings
from deskmate.core.sandbox import SandboxServer, SeedOptions, create_sandbox_app
from deskmate.core.sandbox.state import ArticleContent
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.plugins import llm
from deskmate.plugins.knowledge_sync.runner import run_sync
from deskmate.plugins.llm.vectors import VectorIndex
from deskmate.testing import SANDBOX_AI_ADMIN_ID, TEST_APP_ID, make_workspace

LIMIT = 5


TOPICS = 2000
"""Synthetic vectors gather around this many topics, as real passages' embeddings do."""
NOISE = 0.6


def unit_rows(count: int, centers: np.ndarray, seed: int) -> np.ndarray:
    """``count`` unit vectors, each a random topic's center plus noise."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((count, centers.shape[1]), dtype=np.float32)
    rows = centers[rng.integers(0, len(centers), count)] + NOISE * noise
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def exact_top(matrix: np.ndarray, query: np.ndarray, count: int) -> list[int]:
    """The baseline: every row scored, the best ``count`` row numbers."""
    scores = matrix @ query
    top = np.argpartition(scores, -count)[-count:]
    return top[np.argsort(-scores[top])].tolist()


def search_figures(passages: int, dimensions: int, count: int) -> None:
    corpus_passages = corpus(passages)
    qs = queries(corpus_passages, count)
    index = KnowledgeIndex(corpus_passages)
    centers = np.random.default_rng(1).standard_normal((TOPICS, dimensions), dtype=np.float32)
    rows = unit_rows(passages, centers, 3)
    vectors = VectorIndex()
    before = rss_mb()
    start = time.perf_counter()
    vectors.update(enumerate(rows))
    seconds = time.perf_counter() - start
    grew = rss_mb() - before
    print(
        f"{len(vectors)} vectors of {dimensions} dimensions loaded in {seconds:.1f} s: matrix "
        f"{vectors.nbytes / 1e6:.0f} MB, resident memory +{grew:.0f} MB"
    )
    asked = dict(zip(qs, unit_rows(len(qs), centers, 5), strict=True))

    def fused(question: str) -> object:
        semantic = vectors.search(asked[question], index, LIMIT)
        return fuse([index.search(question, LIMIT), semantic], LIMIT)

    timings_ms(fused, qs[:20])  # warm-up
    _, bm25_p99 = report("BM25 alone (baseline)", timings_ms(lambda q: index.search(q, LIMIT), qs))
    _, fused_p99 = report("BM25 + vectors, fused", timings_ms(fused, qs))
    exact = timings_ms(lambda q: exact_top(rows, asked[q], LIMIT), qs)
    _, exact_p99 = report("exact scan of every vector", exact)
    found = 0
    for q in qs:
        nearest = {passage for passage, _ in vectors.nearest(asked[q], LIMIT)}
        found += len(set(exact_top(rows, asked[q], LIMIT)) & nearest)
    print(f"search p99 with vectors / BM25 alone: {fused_p99 / bm25_p99:.2f}x")
    print(f"nearest-vector recall@{LIMIT} against the exact scan: {found / (LIMIT * len(qs)):.3f}")
    print(f"exact scan p99 / fused search p99: {exact_p99 / fused_p99:.2f}x")
    verdict = "PASS" if fused_p99 < 20 else "FAIL"
    print(f"search p99 with vectors {fused_p99:.2f} ms: {verdict} (< 20 ms)")


def sync_figures(articles: int, changed: int, batch: int) -> None:
    workspace = make_workspace()
    app = create_sandbox_app(
        workspace.access_token.reveal(), workspace.client_secret.reveal(), TEST_APP_ID,
        rate_limit=100_000, seed=SeedOptions(articles=articles),
    )  # fmt: skip
    with SandboxServer(app) as server, tempfile.TemporaryDirectory() as folder:
        section = {
            "base_url": f"{server.base_url}/v1",
            "model": "sandbox-model",
            "embedding_model": "sandbox-embed",
            "embedding_batch": batch,
            "api_key": Secret("env", "LLM_API_KEY", "sk-bench"),
        }
        settings = Settings(
            workspaces={
                TEST_APP_ID: make_workspace(
                    base_url=server.base_url, ai_admin_id=SANDBOX_AI_ADMIN_ID, rate_limit=100_000
                )
            },
            instance_path=Path(folder),
            plugins={"knowledge_sync": {"conversation_days": 0}, "llm": section},
        )
        engine = make_engine(settings.resolved_database_url())
        upgrade(engine)
        sessions = make_session_factory(engine)
        try:
            run_sync(settings, TEST_APP_ID, "articles", sessions=sessions)
            first = llm.embed_workspaces(settings)[TEST_APP_ID]
            _change(server, changed)
            calls_before = _embedding_calls(server)
            run_sync(settings, TEST_APP_ID, "articles", sessions=sessions)
            again = llm.embed_workspaces(settings)[TEST_APP_ID]
            logged = _embedding_calls(server) - calls_before
        finally:
            llm.reset()
            engine.dispose()
    for name, run in (("full sync", first), (f"after {changed} changed articles", again)):
        target = math.ceil(run.embedded / batch)
        print(
            f"{name:<30} {run.embedded:>6} passages embedded in {run.calls} calls "
            f"(target <= {target}, batch {batch}): {run.calls / max(target, 1):.2f}x"
        )
    print(f"embeddings requests the sandbox logged for the re-sync: {logged}")
    ok = again.calls <= math.ceil(again.embedded / batch) and logged == again.calls
    print(f"embeddings calls per sync: {'PASS' if ok else 'FAIL'} (<= N / batch)")


def _change(server: SandboxServer, count: int) -> None:
    state = server.sandbox.state
    with state.lock:
        for article in list(state.articles.values())[:count]:
            title = article.contents["en"].title
            article.contents["en"] = ArticleContent(title, f"<p>{title} changed.</p>")
            article.updated_at = int(time.time())


def _embedding_calls(server: SandboxServer) -> int:
    got = requests.get(f"{server.base_url}/_sandbox/model/requests", timeout=10).json()
    return sum(r["path"] == "/v1/embeddings" for r in got["requests"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--dimensions", type=int, default=384)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--changed", type=int, default=20)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    search_figures(args.passages, args.dimensions, args.queries)
    print()
    sync_figures(args.articles, args.changed, args.batch)


if __name__ == "__main__":
    main()
