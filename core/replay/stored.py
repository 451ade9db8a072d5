"""Stored sessions as replayable conversations: the decision taken, and the case to play again.

The decision replayed is a session's last one in autopilot or shadow mode: the ``decided``
record names the customer's message (its part), the ``saw`` record after it what the AI found.
The case is the session's kept messages up to that one, with the workspace's knowledge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from deskmate.core.evaluation.cases import (
    CHANNELS,
    MAX_TURNS,
    WORKSPACE,
    Case,
    Expected,
    Knowledge,
    Said,
)
from deskmate.core.evaluation.export import speaker_of
from deskmate.core.store.audit import audit_trail
from deskmate.core.store.models import SessionRecord
from deskmate.core.store.sessions import history

REPLAYED_MODES = frozenset({"autopilot", "shadow"})
QUESTION_CHARS = 160


@dataclass(frozen=True)
class Taken:
    """The decision deskmate took on a session's message: ``answer`` or ``handoff``, the
    handoff reasons, and the documents cited (``None`` when the audit predates citations)."""

    session_id: int
    conversation_id: str
    at: str
    question: str
    action: str
    reasons: tuple[str, ...]
    citations: tuple[str, ...] | None


@dataclass(frozen=True)
class Stored:
    """One conversation to replay: the decision taken and the case that plays it again."""

    taken: Taken
    case: Case


def stored_conversations(
    db: Session, workspace_id: str, ai_admin_id: str, *, since: datetime, limit: int
) -> list[Stored]:
    """The workspace's sessions started on or after ``since`` (the first ``limit``, oldest
    first) that have a decision to replay."""
    start = since if since.tzinfo else since.replace(tzinfo=UTC)
    stmt = (
        select(SessionRecord)
        .where(SessionRecord.workspace_id == workspace_id, SessionRecord.created_at >= start)
        .order_by(SessionRecord.id)
    )
    found: list[Stored] = []
    for record in db.scalars(stmt):
        stored = _replayable(db, record, ai_admin_id)
        if stored is not None:
            found.append(stored)
            if len(found) >= limit:
                break
    return found


def _replayable(db: Session, record: SessionRecord, ai_admin_id: str) -> Stored | None:
    audit = [(r.kind, r.data, r.created_at) for r in audit_trail(db, record.id, limit=10_000)]
    decision = _last_decision(audit)
    if decision is None:
        return None
    part, saw, at = decision
    turns = _turns_until(history(db, record), part, ai_admin_id)
    if not turns:
        return None
    taken = Taken(
        session_id=record.id,
        conversation_id=record.conversation_id,
        at=at,
        question=" ".join(turns[-1].text.split())[:QUESTION_CHARS],
        **_taken(saw),
    )
    channel = record.channel if record.channel in CHANNELS else "messenger"
    case = Case(
        id=f"session-{record.id}",
        category="replay",
        language=record.language or "en",
        split="replay",
        turns=tuple(turns),
        expected=Expected("no_reply"),
        knowledge=Knowledge(WORKSPACE),
        channel=channel,
        source=f"session {record.id}",
    )
    return Stored(taken, case)


def _last_decision(
    audit: Sequence[tuple[str, Mapping[str, Any], datetime]],
) -> tuple[str, Mapping[str, Any], str] | None:
    """The part, ``saw`` record and time of the last autopilot or shadow decision."""
    for index in range(len(audit) - 1, -1, -1):
        kind, data, at = audit[index]
        if kind != "decided" or data.get("mode") not in REPLAYED_MODES or not data.get("part"):
            continue
        saw = next((d for k, d, _ in audit[index + 1 :] if k == "saw"), None)
        if saw is not None:
            moment = at if at.tzinfo else at.replace(tzinfo=UTC)
            return str(data["part"]), saw, moment.isoformat(timespec="seconds")
    return None


def _turns_until(messages: Sequence[Any], part: str, ai_admin_id: str) -> list[Said]:
    """The messages up to the one decided on, as case turns starting with the customer."""
    ids = [m.part_id for m in messages]
    if part not in ids:
        return []
    turns = [
        Said(speaker, m.text.strip())
        for m in messages[: ids.index(part) + 1]
        if (speaker := speaker_of(m, ai_admin_id)) is not None
    ][-MAX_TURNS:]
    while turns and turns[0].speaker != "customer":
        turns.pop(0)
    if not turns or turns[-1].speaker != "customer":
        return []
    return turns


def _taken(saw: Mapping[str, Any]) -> dict[str, Any]:
    """What the engine did with what it saw: hand off on any reason or no draft, else answer."""
    reasons = tuple(r.get("code", "") for r in saw.get("reasons") or [])
    draft = saw.get("draft")
    if reasons or draft is None:
        return {"action": "handoff", "reasons": reasons or ("no_knowledge",), "citations": ()}
    cited = draft.get("citations")
    citations = None if cited is None else tuple(dict.fromkeys(c["doc_id"] for c in cited))
    return {"action": "answer", "reasons": (), "citations": citations}
