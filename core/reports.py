"""JSON-ready views of sessions, shared by ``deskmate sessions`` and the session page."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from deskmate.core.store.audit import audit_trail
from deskmate.core.store.models import SessionRecord
from deskmate.core.store.sessions import history


def session_summary(record: SessionRecord) -> dict[str, Any]:
    """The session's headline fields, as JSON-ready values."""
    return {
        "id": record.id,
        "workspace": record.workspace_id,
        "conversation": record.conversation_id,
        "channel": record.channel,
        "state": record.state,
        "mode": record.mode,
        "language": record.language,
        "sentiment": record.sentiment,
        "summary": record.summary,
        "ai_turns": record.ai_turns,
    }


def session_detail(db: Session, record: SessionRecord) -> dict[str, Any]:
    """The session, its kept messages and its audit trail (for the CLI and the session page)."""
    return {
        "session": session_summary(record),
        "messages": [
            {"author": m.author.type, "kind": m.kind, "text": m.text}
            for m in history(db, record, limit=200)
        ],
        "audit": [
            {"kind": a.kind, "at": a.created_at.isoformat(), "data": a.data}
            for a in audit_trail(db, record.id)
        ],
    }
