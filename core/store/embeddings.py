"""Passage vectors from an embedding model: which passages still need one, saving and reading.

A passage's text never changes (the store gives changed content new passages), so "needs a
vector" is simply "has no row for this model": a sync embeds exactly the passages it added, and a
sync killed half-way leaves the rest to the next run. Vectors are float32, little-endian, unit
length; reading them back is one single-table query per workspace.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

import numpy as np
from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from deskmate.core.store.models import KnowledgeDocument, KnowledgeEmbedding, KnowledgePassage

VECTOR_DTYPE = np.dtype("<f4")


class PendingPassage(NamedTuple):
    """A passage without a vector yet, and the text its vector is made from."""

    passage_id: int
    text: str


def embedding_text(title: str | None, heading: str | None, text: str) -> str:
    """What is embedded for a passage: its document's title, its heading and its text."""
    parts = [title or ""]
    if heading and heading != title:
        parts.append(heading)
    parts.append(text)
    return "\n".join(part for part in parts if part)


def pending_passages(
    session: Session, workspace_id: str, model: str, limit: int
) -> list[PendingPassage]:
    """Up to ``limit`` of the workspace's passages that have no vector from ``model``, oldest
    first."""
    passage, vectors = KnowledgePassage, KnowledgeEmbedding
    has_vector = exists().where(vectors.passage_id == passage.id, vectors.model == model)
    rows = session.execute(
        select(passage.id, passage.document_id, passage.heading, passage.text)
        .where(passage.workspace_id == workspace_id, ~has_vector)
        .order_by(passage.id)
        .limit(limit)
    ).all()
    doc_ids = {row[1] for row in rows}
    titles = dict(
        session.execute(
            select(KnowledgeDocument.id, KnowledgeDocument.title).where(
                KnowledgeDocument.id.in_(doc_ids)
            )
        ).all()
    )
    return [
        PendingPassage(pid, embedding_text(titles.get(doc_id), heading, text))
        for pid, doc_id, heading, text in rows
    ]


def count_pending(session: Session, workspace_id: str, model: str) -> int:
    """How many of the workspace's passages have no vector from ``model``."""
    passage, vectors = KnowledgePassage, KnowledgeEmbedding
    has_vector = exists().where(vectors.passage_id == passage.id, vectors.model == model)
    stmt = select(func.count(passage.id)).where(passage.workspace_id == workspace_id, ~has_vector)
    return int(session.scalar(stmt) or 0)


def to_unit_vector(values: Sequence[float]) -> np.ndarray:
    """``values`` as a float32 vector of length one; raises ``ValueError`` for an empty, zero or
    non-finite vector (a model's broken answer must not poison the index)."""
    vector = np.asarray(values, dtype=np.float32)
    norm = float(np.linalg.norm(vector)) if vector.ndim == 1 and vector.size else 0.0
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError("an embedding must be a non-empty, non-zero vector of finite numbers")
    return vector / norm


def save_vectors(
    session: Session, workspace_id: str, model: str, vectors: Mapping[int, Sequence[float]]
) -> int:
    """Store each passage's vector (normalised here); returns how many were stored."""
    rows = [
        {
            "passage_id": passage_id,
            "model": model,
            "workspace_id": workspace_id,
            "vector": to_unit_vector(values).astype(VECTOR_DTYPE).tobytes(),
        }
        for passage_id, values in vectors.items()
    ]
    if rows:
        session.execute(
            delete(KnowledgeEmbedding).where(
                KnowledgeEmbedding.model == model,
                KnowledgeEmbedding.passage_id.in_(list(vectors)),
            )
        )
        session.execute(KnowledgeEmbedding.__table__.insert(), rows)
    return len(rows)


def iter_vectors(
    session: Session, workspace_id: str, model: str, *, batch_size: int = 5000
) -> Iterator[tuple[int, np.ndarray]]:
    """Every stored ``(passage_id, vector)`` of the workspace from ``model``."""
    stmt = (
        select(KnowledgeEmbedding.passage_id, KnowledgeEmbedding.vector)
        .where(KnowledgeEmbedding.workspace_id == workspace_id, KnowledgeEmbedding.model == model)
        .execution_options(yield_per=batch_size)
    )
    for passage_id, blob in session.execute(stmt):
        yield passage_id, np.frombuffer(blob, dtype=VECTOR_DTYPE)


def vector_fingerprint(session: Session, workspace_id: str, model: str) -> tuple[int, int | None]:
    """The count and highest passage id of the workspace's vectors: moves when any come or go."""
    row = session.execute(
        select(func.count(KnowledgeEmbedding.passage_id), func.max(KnowledgeEmbedding.passage_id))
        .where(KnowledgeEmbedding.workspace_id == workspace_id)
        .where(KnowledgeEmbedding.model == model)
    ).one()
    return int(row[0]), row[1]


def models_with_vectors(session: Session, workspace_id: str) -> Iterable[str]:
    """The embedding models that have vectors stored for the workspace."""
    stmt = select(KnowledgeEmbedding.model).where(KnowledgeEmbedding.workspace_id == workspace_id)
    return sorted(set(session.scalars(stmt.distinct())))
