"""``deskmate eval --from-sessions``: stored sessions as draft cases, personal data redacted.

Each session becomes a case whose turns are its messages up to the customer's last one, redacted
by the knowledge sync's own rules (emails, card numbers, phone numbers, addresses, the customer's
name); its expectation is what deskmate did then, for a support lead to confirm or correct.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.config import WorkspaceSettings
from deskmate.core.domain import Message
from deskmate.core.store.audit import audit_trail
from deskmate.core.store.models import SessionRecord
from deskmate.core.store.sessions import history
from deskmate.plugins.knowledge_sync.redact import redact

HEADER = """\
# Draft eval cases exported from stored sessions (personal data redacted).
# Each case's expect: is what deskmate did at the time: confirm or correct it, give each
# case a category (direct, paraphrase, follow-up, human-request…), then run
#   deskmate eval THIS_FILE
"""
MAX_SESSIONS = 5_000


def draft_cases(
    sessions: sessionmaker[Session], workspace: WorkspaceSettings, since: datetime | None
) -> tuple[str, int]:
    """The YAML of the draft cases for the workspace's sessions (since ``since``), and how many."""
    cases = []
    with sessions() as db:
        stmt = select(SessionRecord).where(SessionRecord.workspace_id == workspace.app_id)
        if since is not None:
            start = since if since.tzinfo else since.replace(tzinfo=UTC)
            stmt = stmt.where(SessionRecord.created_at >= start)
        for record in db.scalars(stmt.order_by(SessionRecord.id).limit(MAX_SESSIONS)):
            audit = [(r.kind, r.data) for r in audit_trail(db, record.id, limit=1_000)]
            case = draft_case(record, history(db, record), audit, workspace.ai_admin_id)
            if case is not None:
                cases.append(case)
    document = {"split": "sessions", "knowledge": "workspace", "cases": cases}
    body = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
    return HEADER + body, len(cases)


def _names(audit: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """The customer's names the AI saw (enrichment), to redact from every message."""
    return [
        str(data["enrichment"]["name"])
        for kind, data in audit
        if kind == "saw" and isinstance(data.get("enrichment"), Mapping)
        if data["enrichment"].get("name")
    ]


def speaker_of(message: Message, ai_admin_id: str) -> str | None:
    """Who said ``message`` in a case's terms (customer, ai, rep); ``None`` for notes and
    empty parts."""
    if message.kind == "note" or not message.text.strip():
        return None
    if message.author.is_customer:
        return "customer"
    if message.author.type == "admin":
        return "ai" if message.author.id == ai_admin_id else "rep"
    return None


def draft_case(
    record: SessionRecord,
    messages: list[Message],
    audit: list[tuple[str, Mapping[str, Any]]],
    ai_admin_id: str,
) -> dict[str, Any] | None:
    """One session as a draft case, or ``None`` when the customer never wrote."""
    names = _names(audit)
    turns = [
        {speaker: redact(m.text.strip(), names)}
        for m in messages
        if (speaker := speaker_of(m, ai_admin_id)) is not None
    ]
    while turns and "customer" not in turns[0]:
        turns.pop(0)
    last_customer = max((i for i, t in enumerate(turns) if "customer" in t), default=None)
    if last_customer is None:
        return None
    after = turns[last_customer + 1 :]
    return {
        "id": f"session-{record.id}",
        "category": "from-sessions",
        "language": record.language or "en",
        "turns": turns[: last_customer + 1],
        "expect": _expectation(record, audit, after),
        "note": _note(record, after),
    }


def _last_saw(audit: list[tuple[str, Mapping[str, Any]]]) -> Mapping[str, Any]:
    return next((data for kind, data in reversed(audit) if kind == "saw"), {})


def _expectation(
    record: SessionRecord,
    audit: list[tuple[str, Mapping[str, Any]]],
    after: list[dict[str, str]],
) -> Any:
    saw = _last_saw(audit)
    reasons = [r.get("code") for r in saw.get("reasons") or [] if r.get("code")]
    if record.state == "handed_off" or any("rep" in t for t in after):
        return {"handoff": reasons or "any"}
    hits = saw.get("hits") or []
    if any("ai" in t for t in after) and hits:
        return {"answer": hits[0].get("title") or "?"}
    return "no_reply"


def _note(record: SessionRecord, after: list[dict[str, str]]) -> str:
    said = "; ".join(f"{k}: {v[:120]}" for t in after for k, v in t.items())
    return f"session {record.id}, {record.state}" + (f"; then {said}" if said else "")
