"""Semantic search: a sync's passages embedded through the SDK against the sandbox's embeddings
(only what changed, a batch per call, resumable), fused with BM25 so German finds English."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.brain import runtime as brain_runtime
from deskmate.core.config import Settings
from deskmate.core.sandbox import SandboxServer
from deskmate.core.sandbox.state import ArticleContent
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.core.store.models import KnowledgeEmbedding, KnowledgePassage
from deskmate.core.thinking import search
from deskmate.plugins import llm
from deskmate.plugins.knowledge_sync.runner import run_sync
from deskmate.plugins.llm import vectors
from deskmate.plugins.llm.vectors import VectorIndex
from deskmate.testing import SANDBOX_AI_ADMIN_ID, TEST_APP_ID, make_host, make_turn, make_workspace

from .conftest import Model

BATCH = 4
FRENCH_EXPORT = "Comment télécharger mes fichiers ?"
"""Words neither the English article nor the built-in synonyms hold; the model knows them."""


@dataclass
class Env:
    settings: Settings
    sessions: sessionmaker[Session]
    server: SandboxServer
    model: Model

    def sync(self) -> None:
        run_sync(self.settings, TEST_APP_ID, "articles", sessions=self.sessions)

    def embedded_inputs(self) -> list[list[str]]:
        """The texts of each ``/v1/embeddings`` request the sandbox model received."""
        return [json.loads(b)["input"] for b in self.model.bodies("/v1/embeddings")]

    def count(self, table: Any) -> int:
        with self.sessions() as db:
            return int(db.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
def env(intercom_sandbox: SandboxServer, model: Model, tmp_path: Any) -> Iterator[Env]:
    workspace = make_workspace(base_url=intercom_sandbox.base_url, ai_admin_id=SANDBOX_AI_ADMIN_ID)
    section = model.section(embedding_model="sandbox-embed", embedding_batch=BATCH)
    settings = Settings(
        workspaces={TEST_APP_ID: workspace},
        instance_path=tmp_path / "instance",
        plugins={"knowledge_sync": {"conversation_days": 0}, "llm": section},
    )
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    previous = brain_runtime.current()
    yield Env(settings, make_session_factory(engine), intercom_sandbox, model)
    brain_runtime.install(previous)
    engine.dispose()


def test_a_sync_embeds_its_passages_in_batches_and_a_resync_only_what_changed(env: Env) -> None:
    env.sync()
    passages = env.count(KnowledgePassage)
    first = llm.embed_workspaces(env.settings)[TEST_APP_ID]
    assert (first.embedded, first.calls) == (passages, math.ceil(passages / BATCH))
    assert [len(batch) for batch in env.embedded_inputs()] == [BATCH] * (passages // BATCH) + (
        [passages % BATCH] if passages % BATCH else []
    )
    assert env.count(KnowledgeEmbedding) == passages

    state = env.server.sandbox.state
    with state.lock:
        article = next(
            a for a in state.articles.values() if a.contents["en"].title.startswith("Ship")
        )
        article.contents["en"] = ArticleContent(
            "Shipping times", "<p>Orders now ship the same day.</p>"
        )
        article.updated_at = int(time.time())
    env.sync()
    again = llm.embed_workspaces(env.settings)[TEST_APP_ID]
    assert (again.embedded, again.calls) == (1, 1)
    assert env.embedded_inputs()[-1] == ["Shipping times\nOrders now ship the same day."]
    assert env.count(KnowledgeEmbedding) == env.count(KnowledgePassage) == passages

    env.sync()
    assert llm.embed_workspaces(env.settings)[TEST_APP_ID].calls == 0


def test_embedding_that_fails_mid_way_resumes_with_what_is_missing(env: Env) -> None:
    env.sync()
    passages = env.count(KnowledgePassage)
    env.model.script(
        {"endpoint": "embeddings"}, {"endpoint": "embeddings", "fault": "server_error"}
    )
    assert TEST_APP_ID not in llm.embed_workspaces(env.settings)
    assert env.count(KnowledgeEmbedding) == BATCH

    resumed = llm.embed_workspaces(env.settings)[TEST_APP_ID]
    assert resumed.embedded == passages - BATCH
    assert env.count(KnowledgeEmbedding) == passages
    sent = env.embedded_inputs()
    kept, failed, rest = sent[0], sent[1], sent[2:]
    assert rest[0] == failed, "the failed batch is the first one sent again"
    assert not set(kept) & {text for batch in rest for text in batch}


def hits_for(env: Env, question: str, language: str, *, with_llm: bool) -> list[str]:
    plugins = [("llm", llm)] if with_llm else []
    host = make_host(*plugins, sections={"llm": env.settings.plugins["llm"]})
    host.hook.startup(settings=env.settings, app=None)
    brain_runtime.configure(env.settings, warm=False)
    turn = make_turn(question, workspace=env.settings.workspaces[TEST_APP_ID])
    turn = replace(turn, settings=env.settings) if with_llm else turn
    return [hit.title for hit in search(host.hook, question, language, turn)]


def test_a_french_question_finds_the_english_article_once_passages_have_vectors(env: Env) -> None:
    env.sync()
    llm.embed_workspaces(env.settings)
    bm25_alone = hits_for(env, FRENCH_EXPORT, "fr", with_llm=False)
    fused = hits_for(env, FRENCH_EXPORT, "fr", with_llm=True)
    assert "Exporting your data" not in bm25_alone[:1]
    assert fused[0] == "Exporting your data"


def test_an_english_question_keeps_its_bm25_best_hit_first(env: Env) -> None:
    env.sync()
    llm.embed_workspaces(env.settings)
    question = "How do I reset my password?"
    assert (
        hits_for(env, question, "en", with_llm=True)[0]
        == hits_for(env, question, "en", with_llm=False)[0]
    )


def test_a_failing_embeddings_endpoint_leaves_the_bm25_hits(env: Env) -> None:
    env.sync()
    llm.embed_workspaces(env.settings)
    env.model.script({"endpoint": "embeddings", "fault": "server_error"})
    question = "How do I reset my password?"
    assert hits_for(env, question, "en", with_llm=True) == hits_for(
        env, question, "en", with_llm=False
    )


def test_vector_index_replaces_and_drops_vectors_and_ranks_by_cosine() -> None:
    index = VectorIndex()
    rows = np.eye(3, dtype=np.float32)
    index.update([(1, rows[0]), (2, rows[1]), (3, rows[2])])
    index.update([(2, (rows[0] + rows[1]) / np.sqrt(2))], gone=[3])
    assert [pid for pid, _ in index.nearest(rows[0], 5)] == [1, 2]
    assert len(index) == 2 and index.nbytes == 2 * 3 * 4 + 2 * 8
    with pytest.raises(ValueError, match="dimensions"):
        index.update([(9, np.ones(4, dtype=np.float32))])


def test_a_large_vector_index_scans_only_the_nearest_clusters_and_keeps_finding_the_best(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vectors, "PARTITION_MIN_ROWS", 400)
    rng = np.random.default_rng(7)
    centers = rng.standard_normal((40, 32)).astype(np.float32)
    rows = centers[np.arange(2000) % 40] + 0.3 * rng.standard_normal((2000, 32)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    index = VectorIndex()
    index.update(enumerate(rows))
    assert index._partitions is not None and len(index._partitions.centroids) == 44
    for i in range(0, 2000, 97):
        assert index.nearest(rows[i], 1)[0][0] == i
    index.update([(5000, rows[3])], gone=[3])
    assert index.nearest(rows[3], 1)[0][0] == 5000 and 3 not in index.ids()
    assert index._partitions.changed == 2
