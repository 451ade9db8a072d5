"""Semantic search: embed the passages a sync stored, and find passages near a question.

With ``embedding_model`` set, the plugin's ``llm:embeddings`` job (at start and every minute)
embeds every passage that has no vector from that model yet, ``embedding_batch`` texts per call,
each batch committed on its own: a changed article's new passages are the only ones embedded, and
a run that fails or is killed half-way leaves the rest to the next run. At question time the
question is embedded (one call) and the nearest passages are this plugin's ``search_knowledge``
hits; the engine fuses them with the brain's BM25 hits by reciprocal rank, so a question in German
finds an English article.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.store.embeddings import pending_passages, save_vectors, to_unit_vector
from deskmate.plugins.llm.client import ModelError

log = logging.getLogger(__name__)

Embed = Callable[[list[str]], list[list[float]]]


@dataclass
class EmbeddingRun:
    """What one run of :func:`embed_pending` did: passages embedded and embeddings calls made."""

    embedded: int = 0
    calls: int = 0


def embed_pending(
    sessions: sessionmaker[Session],
    workspace_id: str,
    model: str,
    embed: Embed,
    *,
    batch_size: int,
) -> EmbeddingRun:
    """Embed every passage of the workspace that has no vector from ``model``, a batch per call.

    Each batch is saved in its own transaction before the next call, so a :class:`ModelError`
    (raised as is) keeps what was done. A model that answers with the wrong number of vectors, or
    a broken vector, raises ``ModelError("malformed")`` and saves nothing of that batch.
    """
    run = EmbeddingRun()
    while True:
        with sessions() as db:
            pending = pending_passages(db, workspace_id, model, batch_size)
        if not pending:
            return run
        run.calls += 1
        vectors = embed([p.text for p in pending])
        if len(vectors) != len(pending):
            raise ModelError("malformed", f"{len(vectors)} vectors for {len(pending)} texts")
        try:
            with sessions.begin() as db:
                save_vectors(
                    db,
                    workspace_id,
                    model,
                    {p.passage_id: v for p, v in zip(pending, vectors, strict=True)},
                )
        except ValueError as exc:
            raise ModelError("malformed", str(exc)) from None
        run.embedded += len(pending)


def query_vector(embed: Embed, text: str) -> np.ndarray | None:
    """``text``'s unit vector, or ``None`` when the model can't give one (logged): the search
    goes on with the brain's hits alone."""
    try:
        return to_unit_vector(embed([text])[0])
    except (ModelError, ValueError, IndexError) as exc:
        log.warning("could not embed the question, searching without vectors: %s", exc)
        return None
