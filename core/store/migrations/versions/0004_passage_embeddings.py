"""Store each knowledge passage's vector from an embedding model, for semantic search.

One row per passage and model: the llm plugin embeds the passages a sync added and keeps the
vectors here, so a restart or a killed sync never embeds a passage twice. Rows go with their
passage (``ON DELETE CASCADE``).

Revision ID: 0004_embeddings
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_embeddings"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "knowledge_embeddings",
        sa.Column("passage_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["passage_id"],
            ["knowledge_passages.id"],
            name=op.f("fk_knowledge_embeddings_passage_id_knowledge_passages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("passage_id", "model", name=op.f("pk_knowledge_embeddings")),
    )
    op.create_index(
        "ix_knowledge_embeddings_workspace_model",
        "knowledge_embeddings",
        ["workspace_id", "model"],
    )


def downgrade() -> None:
    op.drop_index("ix_knowledge_embeddings_workspace_model", table_name="knowledge_embeddings")
    op.drop_table("knowledge_embeddings")
