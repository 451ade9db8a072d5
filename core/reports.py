"""JSON-ready views of sessions and of recent activity, shared by the CLI, the session page and
``deskmate verify``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import not_, or_, select
from sqlalchemy.orm import Session

from deskmate.core.intercom.webhooks import CUSTOMER_TOPICS
from deskmate.core.store.audit import audit_trail
from deskmate.core.store.models import (
    OWN_ACTION,
    EventOutcome,
    EventRecord,
    EventStatus,
    SessionRecord,
)
from deskmate.core.store.sessions import history

LEFT_ALONE = 10
"""How many recent conversations the AI left alone ``deskmate verify`` lists per workspace."""
SCAN_EVENTS = 2000
"""How many of a workspace's newest events are looked at to find them (bounds the query)."""
TRIGGER_TOPICS = CUSTOMER_TOPICS | {
    "conversation.admin.assigned",
    "conversation.admin.open.assigned",
}
"""Topics after which the AI is expected to act: a customer message, an assignment."""
SILENT_STATUSES = (EventStatus.SKIPPED, EventStatus.DEAD, EventStatus.UNPROCESSABLE)


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


def event_summary(record: EventRecord, earlier: Sequence[EventOutcome] = ()) -> dict[str, Any]:
    """A stored webhook event's fields and its ``earlier`` outcomes (kept by replays), as
    JSON-ready values (``deskmate events list`` and ``events show``)."""
    return {
        "id": record.id,
        "workspace": record.workspace_id,
        "status": record.status,
        "topic": record.topic,
        "conversation": record.conversation_id,
        "attempts": record.attempts,
        "received_at": record.received_at.isoformat(),
        "reason": record.reason,
        "earlier": [
            {
                "status": o.status,
                "reason": o.reason,
                "attempts": o.attempts,
                "processed_at": o.processed_at.isoformat() if o.processed_at else None,
                "replayed_at": o.replayed_at.isoformat(),
            }
            for o in earlier
        ],
    }


def session_detail(db: Session, record: SessionRecord) -> dict[str, Any]:
    """The session, its kept messages and its audit trail (for the CLI and the session page).

    Each audit entry carries a one-line ``headline`` besides its raw ``data``.
    """
    return {
        "session": session_summary(record),
        "messages": [
            {"author": m.author.type, "kind": m.kind, "text": m.text}
            for m in history(db, record, limit=200)
        ],
        "audit": [
            {
                "kind": a.kind,
                "at": a.created_at.isoformat(),
                "event": a.event_id,
                "headline": audit_headline(a.kind, a.data),
                "data": a.data,
            }
            for a in audit_trail(db, record.id)
        ],
    }


def audit_headline(kind: str, data: dict[str, Any]) -> str:
    """One readable line for an audit record: what the AI saw, decided or did, and why."""
    describe = _HEADLINES.get(kind)
    if describe is None:
        return kind
    try:
        return describe(data)
    except (KeyError, TypeError, ValueError, AttributeError):
        return kind


def _saw(data: dict[str, Any]) -> str:
    hits = data.get("hits") or []
    best = f" (best {max(h['score'] for h in hits):.2f})" if hits else ""
    draft = data.get("draft")
    drafted = f"draft confidence {draft['confidence']:.2f}" if draft else "no draft"
    reasons = ", ".join(r["code"] for r in data.get("reasons") or []) or "none"
    return (
        f"language {data.get('language') or 'unknown'}, sentiment {data.get('sentiment')}, "
        f"{len(data.get('enrichment') or {})} enrichment key(s), {len(hits)} knowledge hit(s)"
        f"{best}, {drafted}, escalation reasons: {reasons}"
    )


def _acted(data: dict[str, Any]) -> str:
    status = f" (HTTP {data['status']})" if data.get("status") else ""
    outcome = "ok" if data.get("ok") else "FAILED"
    detail = f": {data['detail']}" if data.get("detail") else ""
    return f"{data.get('action')} {outcome}{status}{detail}"


def _shadow(data: dict[str, Any]) -> str:
    if data["would"] == "answer":
        return "shadow mode: would answer (nothing sent)"
    reasons = ", ".join(r["code"] for r in data["reasons"])
    return f"shadow mode: would hand off: {reasons} (nothing sent)"


_HEADLINES = {
    "saw": _saw,
    "decided": lambda d: f"{d['mode']}: {d['reason']}",
    "acted": _acted,
    "shadow": _shadow,
    "withheld": lambda d: f"{d['action']} withheld (shadow mode)",
    "human": lambda d: f"teammate {d['admin_id']} {d['did']}",
    "skipped": lambda d: f"left alone: {d['reason']}",
    "resolved": lambda d: f"resolved, sentiment {d.get('sentiment')}: {d.get('summary')}",
    "error": lambda d: f"error during {d.get('during')}: {d.get('error')}",
    "plugin_failed": lambda d: (
        f"plugin {d['plugin']} failed in {d['hook']} ({d['kind']} hook): {d['error']}"
    ),
    "gave_up": lambda d: (
        f"gave up after {d['attempts']} attempts ({d['failed']}); handing over to the team"
    ),
}


@dataclass
class Activity:
    """What one workspace's events say about the AI's silence.

    ``last_webhook_at`` is when the newest notification was stored (``None``: never);
    ``left_alone`` the newest conversations whose latest customer message or assignment the AI
    did not act on, with the reason.
    """

    workspace_id: str
    last_webhook_at: datetime | None
    left_alone: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    """Why the database could not be read (then the other fields say nothing)."""

    def as_dict(self) -> dict[str, Any]:
        last = self.last_webhook_at.isoformat() if self.last_webhook_at else None
        return {"last_webhook_at": last, "left_alone": self.left_alone, "error": self.error}


def workspace_activity(
    db: Session, workspace_id: str, *, limit: int = LEFT_ALONE, scan: int = SCAN_EVENTS
) -> Activity:
    """The workspace's last webhook and the last ``limit`` conversations the AI left alone.

    Only the newest ``scan`` trigger events are read, so this stays cheap on a large outbox.
    Events that only brought back deskmate's own writes (:data:`OWN_ACTION`) are not triggers:
    they neither count as left alone nor hide what the AI really left alone before them.
    """
    newest = select(EventRecord.received_at).where(EventRecord.workspace_id == workspace_id)
    last = db.scalars(newest.order_by(EventRecord.id.desc()).limit(1)).first()
    own = EventRecord.reason.startswith(OWN_ACTION, autoescape=True)
    stmt = (
        select(EventRecord)
        .where(
            EventRecord.workspace_id == workspace_id,
            EventRecord.topic.in_(TRIGGER_TOPICS),
            or_(EventRecord.reason.is_(None), not_(own)),
        )
        .order_by(EventRecord.id.desc())
        .limit(scan)
    )
    seen: set[str] = set()
    left: list[EventRecord] = []
    for event in db.scalars(stmt):
        if event.conversation_id is None or event.conversation_id in seen:
            continue
        seen.add(event.conversation_id)
        if event.status in SILENT_STATUSES:
            left.append(event)
            if len(left) >= limit:
                break
    return Activity(workspace_id, last, _with_sessions(db, workspace_id, left))


def _with_sessions(db: Session, workspace_id: str, events: list[EventRecord]) -> list[dict]:
    """The events as JSON-ready items, with the conversation's session id and state if any."""
    stmt = select(SessionRecord.conversation_id, SessionRecord.id, SessionRecord.state).where(
        SessionRecord.workspace_id == workspace_id,
        SessionRecord.conversation_id.in_([e.conversation_id for e in events]),
    )
    sessions = {conversation: (sid, state) for conversation, sid, state in db.execute(stmt)}
    items = []
    for e in events:
        session_id, state = sessions.get(e.conversation_id, (None, None))
        items.append(
            {
                "conversation": e.conversation_id,
                "session": session_id,
                "session_state": state,
                "event": e.id,
                "topic": e.topic,
                "status": e.status,
                "reason": e.reason or "",
                "received_at": e.received_at.isoformat(),
            }
        )
    return items
