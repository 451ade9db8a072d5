"""deskmate's tables: SQLAlchemy 2 typed declarative models, every row scoped to a workspace.

``workspace_id`` is always the Intercom app id. Statuses are plain strings (the constants below)
rather than database enums, so adding one never needs a migration. Datetimes are timezone-aware
UTC in Python on every backend (SQLite stores them naive, in UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MAX_ID = 64
"""Characters in an id column; generous enough for any Intercom id."""
MAX_KEY = 255
"""Characters in a key column (idempotency keys, notification ids, lease owners)."""
MAX_LABEL = 32
"""Characters in a label column (kinds, channels, states)."""
ID = String(MAX_ID)
KEY = String(MAX_KEY)
LABEL = String(MAX_LABEL)


class EventStatus:
    """Lifecycle of a stored webhook event (the outbox)."""

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    SKIPPED = "skipped"
    UNPROCESSABLE = "unprocessable"
    FAILED = "failed"
    DEAD = "dead"
    PENDING = (QUEUED, PROCESSING, FAILED)
    FINAL = (DONE, SKIPPED, UNPROCESSABLE, DEAD)


OWN_ACTION = "deskmate's own action"
"""How the reason of an event that only brings back deskmate's own write begins (its reply,
note or assignment announced by webhook): not rep activity, and not a conversation left alone."""


class SessionState:
    """Who holds a conversation: the AI (open), a human (handed_off), or nobody (resolved)."""

    OPEN = "open"
    HANDED_OFF = "handed_off"
    RESOLVED = "resolved"


class ActionStatus:
    """Outcome of an effect on Intercom; ``unknown`` means it may or may not have happened."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime column that accepts only aware values and always returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class EventRecord(Base):
    """A webhook notification stored before it is acknowledged: the outbox of work to do."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "notification_id"),
        Index("ix_webhook_events_status_available_at", "status", "available_at"),
        Index("ix_webhook_events_workspace_received", "workspace_id", "received_at"),
        Index("ix_webhook_events_workspace_status", "workspace_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # SQLite keeps each index entry with its rowid, so this index alone lists a workspace's
    # events in id order: "newest first" (verify, events list) needs no sort
    workspace_id: Mapped[str] = mapped_column(ID, index=True)
    notification_id: Mapped[str] = mapped_column(KEY)
    topic: Mapped[str] = mapped_column(String(128))
    conversation_id: Mapped[str | None] = mapped_column(ID, index=True)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.QUEUED)
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]


class EventOutcome(Base):
    """An earlier outcome of a replayed event, kept when ``events replay`` starts it again."""

    __tablename__ = "webhook_event_outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    processed_at: Mapped[datetime | None]
    replayed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationLease(Base):
    """Holds one conversation for one runner until ``lease_until``; expired leases are free."""

    __tablename__ = "conversation_leases"

    workspace_id: Mapped[str] = mapped_column(ID, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner: Mapped[str] = mapped_column(KEY)
    lease_until: Mapped[datetime]


class SessionRecord(Base):
    """deskmate's memory of one Intercom conversation."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "conversation_id"),
        # the dashboard's figures read only these columns (a covering index: no table lookups)
        Index(
            "ix_sessions_dashboard",
            "workspace_id",
            "created_at",
            "mode",
            "ai_turns",
            "state",
            "handed_off_at",
            "handoff_reason",
            "language",
            "first_answer_seconds",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ID, index=True)
    conversation_id: Mapped[str] = mapped_column(ID)
    channel: Mapped[str | None] = mapped_column(LABEL)
    state: Mapped[str] = mapped_column(String(16), default=SessionState.OPEN)
    mode: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    language_confidence: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    summary: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None]
    handed_off_at: Mapped[datetime | None]
    ai_turns: Mapped[int] = mapped_column(Integer, default=0)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    # kept for the dashboard, so its figures need no scan of the audit trail
    handoff_reason: Mapped[str | None] = mapped_column(LABEL)
    first_answer_seconds: Mapped[float | None] = mapped_column(Float)


class MessageRecord(Base):
    """One conversation part kept from webhooks, so history needs no extra Intercom call."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("workspace_id", "conversation_id", "part_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    workspace_id: Mapped[str] = mapped_column(ID, index=True)
    conversation_id: Mapped[str] = mapped_column(ID)
    part_id: Mapped[str] = mapped_column(ID)
    author_type: Mapped[str] = mapped_column(LABEL)
    author_id: Mapped[str | None] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(LABEL, default="comment")
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionRecord(Base):
    """One effect on Intercom, keyed so that a retried job never repeats it."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    workspace_id: Mapped[str] = mapped_column(ID, index=True)
    idempotency_key: Mapped[str] = mapped_column(KEY, unique=True)
    kind: Mapped[str] = mapped_column(LABEL)
    status: Mapped[str] = mapped_column(String(16), default=ActionStatus.PENDING)
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    response: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


class AuditRecord(Base):
    """One line of a session's audit trail: what deskmate saw, decided and did, and why."""

    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_workspace_kind_created", "workspace_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    workspace_id: Mapped[str] = mapped_column(ID, index=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(LABEL)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SessionCitation(Base):
    """A knowledge document an answer of the session cited (the dashboard's content report)."""

    __tablename__ = "session_citations"
    __table_args__ = (
        Index("ix_session_citations_workspace_created", "workspace_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    workspace_id: Mapped[str] = mapped_column(ID)
    document: Mapped[str] = mapped_column(KEY)
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeDocument(Base):
    """A help article, past conversation or file that answers may cite.

    ``locale`` is ``""`` when the source has none (NULL would defeat the unique constraint).
    ``updated_at`` is the source's own last-change time; ``synced_at`` is when deskmate stored it.
    """

    __tablename__ = "knowledge_documents"
    __table_args__ = (UniqueConstraint("workspace_id", "source", "external_id", "locale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ID, index=True)
    source: Mapped[str] = mapped_column(LABEL)
    external_id: Mapped[str] = mapped_column(KEY)
    locale: Mapped[str] = mapped_column(String(16), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    body: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime | None]
    synced_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class KnowledgePassage(Base):
    """A searchable slice of a knowledge document, in document order."""

    __tablename__ = "knowledge_passages"
    __table_args__ = (UniqueConstraint("document_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_documents.id", ondelete="CASCADE"), index=True
    )
    workspace_id: Mapped[str] = mapped_column(ID, index=True)
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)


class KnowledgeEmbedding(Base):
    """A passage's vector from one embedding model: float32 values, little-endian, unit length.

    A passage's text never changes (new content gets new passages), so a stored vector stays
    valid until its passage goes, and goes with it.
    """

    __tablename__ = "knowledge_embeddings"
    __table_args__ = (Index("ix_knowledge_embeddings_workspace_model", "workspace_id", "model"),)

    passage_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_passages.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ID)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class SyncState(Base):
    """Where the last sync of one knowledge source stopped, and how it went."""

    __tablename__ = "sync_state"

    workspace_id: Mapped[str] = mapped_column(ID, primary_key=True)
    source: Mapped[str] = mapped_column(LABEL, primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
