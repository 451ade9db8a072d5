"""Drop the unused contact cache.

Enrichment caches contacts and companies in each process's memory, so ``contact_cache`` was never
written; keeping contact attributes out of the database also keeps them off the disk.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("contact_cache")


def downgrade() -> None:
    op.create_table(
        "contact_cache",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "contact_id", name=op.f("pk_contact_cache")),
    )
