"""Effects on Intercom recorded under idempotency keys, so a retried job never repeats one.

The engine calls :func:`begin_action` before an effect and :func:`complete_action` after it. What
``begin_action`` returns tells it what to do: a new record → perform the effect; an existing
``done`` one → skip it; ``failed`` → safe to try again; ``pending`` or ``unknown`` → an earlier
attempt may have happened, so re-read the conversation before trying again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from deskmate.core.store.models import MAX_ID, MAX_KEY, MAX_LABEL, ActionRecord, ActionStatus
from deskmate.core.store.sql import check_id, insert, now_or, redact

SETTLED = (ActionStatus.DONE, ActionStatus.FAILED, ActionStatus.UNKNOWN)


def begin_action(
    session: Session,
    *,
    session_id: int,
    workspace_id: str,
    idempotency_key: str,
    kind: str,
    request: dict[str, Any],
    now: datetime | None = None,
) -> tuple[ActionRecord, bool]:
    """Record an intended action as ``pending``; returns the record and whether it is new.

    A key seen before returns the existing record unchanged. Secret-looking keys of ``request``
    are redacted before it is stored.
    """
    check_id("workspace_id", workspace_id, MAX_ID)
    check_id("idempotency_key", idempotency_key, MAX_KEY)
    check_id("kind", kind, MAX_LABEL)
    stmt = (
        insert(session, ActionRecord)
        .values(
            session_id=session_id,
            workspace_id=workspace_id,
            idempotency_key=idempotency_key,
            kind=kind,
            status=ActionStatus.PENDING,
            request=redact(request),
            created_at=now_or(now),
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(ActionRecord.id)
    )
    new = session.execute(stmt).first() is not None
    record = get_action(session, idempotency_key)
    assert record is not None, "the action was just inserted or already existed"
    return record, new


def get_action(session: Session, idempotency_key: str) -> ActionRecord | None:
    """The action recorded under ``idempotency_key``, if any."""
    stmt = select(ActionRecord).where(ActionRecord.idempotency_key == idempotency_key)
    return session.scalars(stmt).one_or_none()


def action_kinds(session: Session, key_prefix: str) -> set[str]:
    """The kinds of the actions recorded under keys that start with ``key_prefix``."""
    stmt = select(ActionRecord.kind).where(
        ActionRecord.idempotency_key.startswith(key_prefix, autoescape=True)
    )
    return set(session.scalars(stmt))


def created_part_ids(session: Session, session_id: int) -> set[str]:
    """The ids of the conversation parts the session's actions created (``response.part_id``)."""
    stmt = select(ActionRecord.response).where(
        ActionRecord.session_id == session_id, ActionRecord.status == ActionStatus.DONE
    )
    return {
        str(response["part_id"])
        for response in session.scalars(stmt)
        if isinstance(response, dict) and response.get("part_id")
    }


def retry_action(session: Session, record: ActionRecord) -> None:
    """Mark a settled action ``pending`` again before another attempt."""
    record.status = ActionStatus.PENDING
    record.error = None
    record.completed_at = None
    session.flush()


def complete_action(
    session: Session,
    record: ActionRecord,
    status: str,
    *,
    response: dict[str, Any] | None = None,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    """Settle an action as ``done``, ``failed`` or ``unknown`` (a timeout: it may have happened)."""
    if status not in SETTLED:
        raise ValueError(f"{status!r} is not a settled status; use one of {SETTLED}")
    record.status = status
    record.response = redact(response) if response is not None else None
    record.error = error
    record.completed_at = now_or(now)
    session.flush()
