"""The audit trail: what deskmate saw, decided and did for a session, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from deskmate.core.store.models import MAX_ID, MAX_LABEL, AuditRecord
from deskmate.core.store.sql import check_id, now_or, redact


def append_audit(
    session: Session,
    *,
    workspace_id: str,
    kind: str,
    data: dict[str, Any],
    session_id: int | None = None,
    event_id: int | None = None,
    now: datetime | None = None,
) -> AuditRecord:
    """Add one record (``saw``, ``decided``, ``acted``, ``skipped``, ``error``…); secret-looking
    keys of ``data`` are redacted."""
    check_id("workspace_id", workspace_id, MAX_ID)
    check_id("kind", kind, MAX_LABEL)
    record = AuditRecord(
        workspace_id=workspace_id,
        kind=kind,
        data=redact(data),
        session_id=session_id,
        event_id=event_id,
        created_at=now_or(now),
    )
    session.add(record)
    session.flush()
    return record


def audit_trail(session: Session, session_id: int, *, limit: int = 200) -> list[AuditRecord]:
    """A session's records in the order they were written (the first ``limit``)."""
    stmt = (
        select(AuditRecord)
        .where(AuditRecord.session_id == session_id)
        .order_by(AuditRecord.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))
