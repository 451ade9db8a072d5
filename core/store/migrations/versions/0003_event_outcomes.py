"""Keep each replayed event's earlier outcomes.

``deskmate events replay`` used to overwrite an event's status, reason and attempts; each replay
now first copies them into ``webhook_event_outcomes``, so an event's history survives.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_event_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_events.id"],
            name=op.f("fk_webhook_event_outcomes_event_id_webhook_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_event_outcomes")),
    )
    op.create_index(
        op.f("ix_webhook_event_outcomes_event_id"), "webhook_event_outcomes", ["event_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_event_outcomes_event_id"), table_name="webhook_event_outcomes")
    op.drop_table("webhook_event_outcomes")
