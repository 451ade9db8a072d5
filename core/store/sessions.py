"""Sessions (deskmate's memory of a conversation) and the messages kept from webhooks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from deskmate.core.domain import Attachment, Author, Hit, Message
from deskmate.core.store.models import (
    MAX_ID,
    MAX_KEY,
    MAX_LABEL,
    MessageRecord,
    SessionCitation,
    SessionRecord,
    SessionState,
)
from deskmate.core.store.sql import check_id, clean_text, insert, now_or


def get_session(session: Session, workspace_id: str, conversation_id: str) -> SessionRecord | None:
    """The conversation's session, or None if deskmate has not seen it."""
    stmt = select(SessionRecord).where(
        SessionRecord.workspace_id == workspace_id,
        SessionRecord.conversation_id == conversation_id,
    )
    return session.scalars(stmt).one_or_none()


def get_or_open_session(
    session: Session,
    workspace_id: str,
    conversation_id: str,
    *,
    channel: str | None = None,
    contact_id: str | None = None,
    now: datetime | None = None,
) -> SessionRecord:
    """The conversation's session, opened (state ``open``) on first sight; safe under races.

    ``channel`` and ``contact_id`` only fill a new session; an existing one keeps its values.
    """
    check_id("workspace_id", workspace_id, MAX_ID)
    check_id("conversation_id", conversation_id, MAX_ID)
    if channel is not None:
        check_id("channel", channel, MAX_LABEL)
    if contact_id is not None:
        check_id("contact_id", contact_id, MAX_ID)
    now = now_or(now)
    stmt = (
        insert(session, SessionRecord)
        .values(
            workspace_id=workspace_id,
            conversation_id=conversation_id,
            channel=channel,
            contact_id=contact_id,
            state=SessionState.OPEN,
            ai_turns=0,
            tags=[],
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "conversation_id"])
    )
    session.execute(stmt)
    record = get_session(session, workspace_id, conversation_id)
    assert record is not None, "the session was just inserted or already existed"
    return record


def add_message(session: Session, record: SessionRecord, message: Message) -> bool:
    """Keep one message of the session's conversation; False if its part was already kept."""
    check_id("part_id", message.part_id, MAX_ID)
    check_id("author.type", message.author.type, MAX_LABEL)
    check_id("kind", message.kind, MAX_LABEL)
    if message.author.id is not None:
        check_id("author.id", message.author.id, MAX_ID)
    stmt = (
        insert(session, MessageRecord)
        .values(
            session_id=record.id,
            workspace_id=record.workspace_id,
            conversation_id=record.conversation_id,
            part_id=message.part_id,
            author_type=message.author.type,
            author_id=message.author.id,
            kind=message.kind,
            text=clean_text(message.text),
            html=clean_text(message.html),
            subject=clean_text(message.subject),
            attachments=[asdict(a) for a in message.attachments],
            created_at=now_or(message.created_at),
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "conversation_id", "part_id"])
        .returning(MessageRecord.id)
    )
    return session.execute(stmt).first() is not None


def history(session: Session, record: SessionRecord, *, limit: int | None = None) -> list[Message]:
    """The session's kept messages, oldest first (the newest ``limit`` when given)."""
    stmt = (
        select(MessageRecord)
        .where(MessageRecord.session_id == record.id)
        .order_by(MessageRecord.created_at.desc(), MessageRecord.id.desc())
        .limit(limit)
    )
    rows = list(session.scalars(stmt))
    rows.reverse()
    return [_to_message(row) for row in rows]


def _to_message(row: MessageRecord) -> Message:
    return Message(
        part_id=row.part_id,
        author=Author(type=row.author_type, id=row.author_id),
        text=row.text,
        html=row.html,
        subject=row.subject,
        attachments=[Attachment(**a) for a in row.attachments],
        created_at=row.created_at,
        kind=row.kind,
    )


def add_citations(
    session: Session,
    session_id: int,
    workspace_id: str,
    hits: Sequence[Hit],
    *,
    now: datetime | None = None,
) -> None:
    """Record the knowledge documents an answer of the session cited (each once per answer)."""
    at = now_or(now)
    seen: set[str] = set()
    for hit in hits:
        document = (hit.doc_id or hit.title)[:MAX_KEY]
        if document in seen:
            continue
        seen.add(document)
        session.add(
            SessionCitation(
                session_id=session_id,
                workspace_id=workspace_id,
                document=document,
                title=hit.title,
                url=hit.url,
                created_at=at,
            )
        )
    session.flush()
