"""What the dashboard reads without scanning the audit trail: each session's handoff reason and
time to first answer, the knowledge documents its answers cited, and the indexes its pages use
(a covering index of the sessions' figures, events by workspace and time or status).

Sessions from before this revision keep NULL in the new columns (their reason and first-answer
time stay in their audit trail); the dashboard counts them as handed off "unknown".

Revision ID: 0005_dashboard
Revises: 0004_embeddings
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_dashboard"
down_revision: str | None = "0004_embeddings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SESSION_FIGURES = (
    "workspace_id",
    "created_at",
    "mode",
    "ai_turns",
    "state",
    "handed_off_at",
    "handoff_reason",
    "language",
    "first_answer_seconds",
)
"""The dashboard's figures read only these columns: one covering index answers them."""


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("handoff_reason", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("first_answer_seconds", sa.Float(), nullable=True))
    op.create_index("ix_sessions_dashboard", "sessions", list(SESSION_FIGURES))
    op.create_index(
        "ix_webhook_events_workspace_received", "webhook_events", ["workspace_id", "received_at"]
    )
    op.create_index(
        "ix_webhook_events_workspace_status", "webhook_events", ["workspace_id", "status"]
    )
    op.create_index(
        "ix_audit_records_workspace_kind_created",
        "audit_records",
        ["workspace_id", "kind", "created_at"],
    )
    op.create_table(
        "session_citations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("document", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_citations_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_citations")),
    )
    op.create_index(op.f("ix_session_citations_session_id"), "session_citations", ["session_id"])
    op.create_index(
        "ix_session_citations_workspace_created",
        "session_citations",
        ["workspace_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_session_citations_workspace_created", table_name="session_citations")
    op.drop_index(op.f("ix_session_citations_session_id"), table_name="session_citations")
    op.drop_table("session_citations")
    op.drop_index("ix_audit_records_workspace_kind_created", table_name="audit_records")
    op.drop_index("ix_webhook_events_workspace_status", table_name="webhook_events")
    op.drop_index("ix_webhook_events_workspace_received", table_name="webhook_events")
    op.drop_index("ix_sessions_dashboard", table_name="sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("first_answer_seconds")
        batch.drop_column("handoff_reason")
