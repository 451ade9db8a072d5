"""The outbox: webhook events stored before they are acknowledged, then claimed and settled.

An event is ``queued`` until a run claims it (``processing``, with a lease), then ends ``done``,
``skipped``, ``unprocessable`` or ``dead``; a retryable failure puts it back as ``failed`` with a
later ``available_at``. A run that dies leaves its events ``processing`` past their lease, and
:func:`due_conversations` hands their conversations to the sweeper again. :func:`replay_event`
queues an event again and keeps its earlier outcome in ``webhook_event_outcomes``; one that ended
``done`` or ``skipped`` only when forced.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from deskmate.core.store.models import MAX_ID, MAX_KEY, EventOutcome, EventRecord, EventStatus
from deskmate.core.store.sql import check_id, clean_text, insert, now_or

MAX_TOPIC = 128


class Recorded(NamedTuple):
    """The stored event's id, and whether this call stored it (False: a duplicate delivery)."""

    id: int
    new: bool


def record_event(
    session: Session,
    *,
    workspace_id: str,
    notification_id: str,
    topic: str,
    payload: str,
    conversation_id: str | None = None,
    delay: timedelta = timedelta(0),
    status: str = EventStatus.QUEUED,
    reason: str | None = None,
    now: datetime | None = None,
) -> Recorded:
    """Store a webhook delivery once per notification id; a redelivery changes nothing.

    ``delay`` is the channel's initial delay (the event becomes due at ``now + delay``). Intake
    stores a body it can't use with ``status="unprocessable"`` and the ``reason``.
    """
    check_id("workspace_id", workspace_id, MAX_ID)
    check_id("notification_id", notification_id, MAX_KEY)
    check_id("topic", topic, MAX_TOPIC)
    if conversation_id is not None:
        check_id("conversation_id", conversation_id, MAX_ID)
    if "\x00" in payload:
        raise ValueError("payload contains NUL characters, which no JSON body does")
    if status not in (EventStatus.QUEUED, EventStatus.UNPROCESSABLE, EventStatus.SKIPPED):
        raise ValueError(f"a new event can't start as {status!r}")
    now = now_or(now)
    values = {
        "workspace_id": workspace_id,
        "notification_id": notification_id,
        "topic": topic,
        "payload": payload,
        "conversation_id": conversation_id,
        "status": status,
        "reason": reason,
        "attempts": 0,
        "received_at": now,
        "available_at": now + delay,
        "processed_at": None if status == EventStatus.QUEUED else now,
    }
    stmt = (
        insert(session, EventRecord)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["workspace_id", "notification_id"])
        .returning(EventRecord.id)
    )
    new_id = session.execute(stmt).scalar_one_or_none()
    if new_id is not None:
        return Recorded(new_id, True)
    existing = select(EventRecord.id).where(
        EventRecord.workspace_id == workspace_id, EventRecord.notification_id == notification_id
    )
    return Recorded(session.execute(existing).scalar_one(), False)


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Events a run may take now: due and waiting, or abandoned by a run whose lease ran out."""
    waiting = and_(
        EventRecord.status.in_((EventStatus.QUEUED, EventStatus.FAILED)),
        EventRecord.available_at <= now,
    )
    abandoned = and_(EventRecord.status == EventStatus.PROCESSING, EventRecord.lease_until <= now)
    return or_(waiting, abandoned)


def _scope(
    workspace_id: str, conversation_id: str | None, event_id: int | None
) -> ColumnElement[bool]:
    """A conversation's events, or one event without a conversation."""
    if conversation_id is None and event_id is None:
        raise ValueError("claim by conversation_id, or by event_id for an event without one")
    which = (
        EventRecord.id == event_id
        if conversation_id is None
        else EventRecord.conversation_id == conversation_id
    )
    return and_(EventRecord.workspace_id == workspace_id, which)


def settle_claimable(
    session: Session,
    workspace_id: str,
    conversation_id: str | None,
    status: str,
    reason: str,
    *,
    min_attempts: int = 0,
    event_id: int | None = None,
    now: datetime | None = None,
) -> list[EventRecord]:
    """Settle the events a run could claim now (of the conversation, or the one ``event_id``)
    without running them, as ``status`` with ``reason``; only those already tried
    ``min_attempts`` times, when given. Returns them, oldest first."""
    if status not in EventStatus.FINAL:
        raise ValueError(f"{status!r} is not a final status; use one of {EventStatus.FINAL}")
    now = now_or(now)
    stmt = (
        update(EventRecord)
        .where(
            _scope(workspace_id, conversation_id, event_id),
            _claimable(now),
            EventRecord.attempts >= min_attempts,
        )
        .values(status=status, reason=clean_text(reason), lease_until=None, processed_at=now)
        .returning(EventRecord)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return sorted(session.scalars(stmt).all(), key=lambda e: e.id)


def bury_exhausted(
    session: Session,
    workspace_id: str,
    conversation_id: str | None,
    *,
    max_attempts: int,
    event_id: int | None = None,
    now: datetime | None = None,
) -> list[EventRecord]:
    """Settle as ``dead`` the claimable events that already had ``max_attempts`` attempts, and
    return them: runs died (or could not record an outcome) that often, so another attempt
    would pass the limit. Call it before :func:`claim_events`, under the same lease."""
    return settle_claimable(
        session,
        workspace_id,
        conversation_id,
        EventStatus.DEAD,
        f"gave up after {max_attempts} attempts: no run recorded how it ended",
        min_attempts=max_attempts,
        event_id=event_id,
        now=now,
    )


def claim_events(
    session: Session,
    workspace_id: str,
    conversation_id: str | None,
    *,
    lease: timedelta,
    limit: int = 100,
    event_id: int | None = None,
    now: datetime | None = None,
) -> list[EventRecord]:
    """Take the conversation's due events, oldest first, marking them ``processing`` until
    ``now + lease`` and counting the attempt.

    Call it while holding the conversation's lease (:mod:`deskmate.core.store.leases`). Events
    without a conversation (``conversation_id=None``) are claimed one at a time by ``event_id``.
    """
    now = now_or(now)
    ids = (
        select(EventRecord.id)
        .where(_scope(workspace_id, conversation_id, event_id), _claimable(now))
        .order_by(EventRecord.id)
        .limit(limit)
    )
    stmt = (
        update(EventRecord)
        .where(EventRecord.id.in_(ids.scalar_subquery()), _claimable(now))
        .values(
            status=EventStatus.PROCESSING,
            attempts=EventRecord.attempts + 1,
            lease_until=now + lease,
        )
        .returning(EventRecord)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    claimed = session.scalars(stmt).all()
    return sorted(claimed, key=lambda e: e.id)


def extend_claims(
    session: Session, workspace_id: str, conversation_id: str, until: datetime
) -> None:
    """Keep the conversation's ``processing`` events claimed until ``until``: the run that holds
    the conversation's lease is still working on them (call it only while holding it)."""
    session.execute(
        update(EventRecord)
        .where(
            _scope(workspace_id, conversation_id, None),
            EventRecord.status == EventStatus.PROCESSING,
        )
        .values(lease_until=until)
    )


def finish_event(
    session: Session,
    event_id: int,
    status: str,
    reason: str | None = None,
    *,
    attempt: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Settle an event as ``done``, ``skipped``, ``unprocessable`` or ``dead`` (with why; a
    reason quoting text no database can store is stored escaped).

    With ``attempt`` (the attempt count its run claimed it with), only while that claim stands:
    returns False, changing nothing, when another run has claimed the event since.
    """
    if status not in EventStatus.FINAL:
        raise ValueError(f"{status!r} is not a final status; use one of {EventStatus.FINAL}")
    return _set(
        session,
        event_id,
        attempt,
        status=status,
        reason=clean_text(reason),
        lease_until=None,
        processed_at=now_or(now),
    )


def retry_event(
    session: Session, event_id: int, reason: str, *, at: datetime, attempt: int | None = None
) -> bool:
    """Record a retryable failure; the event becomes due again at ``at``. ``attempt`` as for
    :func:`finish_event`."""
    return _set(
        session,
        event_id,
        attempt,
        status=EventStatus.FAILED,
        reason=clean_text(reason),
        available_at=at,
        lease_until=None,
    )


def due_conversations(session: Session, *, now: datetime | None = None) -> list[tuple[str, str]]:
    """Each ``(workspace, conversation)`` with events that should be running by ``now`` but may
    have no job (for the sweeper).

    One row per conversation however many of its events are due, so no number of stuck events
    can hide another conversation. Pass ``now`` a little in the past so that events just
    enqueued by intake are left alone.
    """
    stmt = (
        select(EventRecord.workspace_id, EventRecord.conversation_id)
        .where(_claimable(now_or(now)), EventRecord.conversation_id.is_not(None))
        .distinct()
        .order_by(EventRecord.workspace_id, EventRecord.conversation_id)
    )
    return [
        (workspace_id, conversation_id) for workspace_id, conversation_id in session.execute(stmt)
    ]


def list_events(
    session: Session,
    *,
    workspace_id: str | None = None,
    status: str | None = None,
    conversation_id: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[EventRecord]:
    """Stored events, newest first, filtered as asked (``before_id`` pages backwards)."""
    stmt = select(EventRecord).order_by(EventRecord.id.desc()).limit(limit)
    if workspace_id is not None:
        stmt = stmt.where(EventRecord.workspace_id == workspace_id)
    if status is not None:
        stmt = stmt.where(EventRecord.status == status)
    if conversation_id is not None:
        stmt = stmt.where(EventRecord.conversation_id == conversation_id)
    if before_id is not None:
        stmt = stmt.where(EventRecord.id < before_id)
    return list(session.scalars(stmt))


class ReplayRefused(Exception):
    """The event ended ``done`` or ``skipped``: replaying it runs the conversation again, so it
    needs ``force``. Nothing was changed."""

    def __init__(self, event_id: int, status: str) -> None:
        super().__init__(f"event {event_id} ended {status}")
        self.event_id, self.status = event_id, status


SETTLED = (EventStatus.DONE, EventStatus.SKIPPED)
"""Outcomes a replay must be forced to undo: the event was handled, or deliberately left."""


def replay_event(
    session: Session, event_id: int, *, force: bool = False, now: datetime | None = None
) -> EventRecord | None:
    """Queue an event again from scratch, keeping its outcome so far in its history
    (:func:`event_outcomes`); ``None`` if it doesn't exist or a live run holds it.

    :raises ReplayRefused: it ended ``done`` or ``skipped`` and ``force`` is false.
    """
    now = now_or(now)
    event = session.get(EventRecord, event_id)
    if event is None:
        return None
    if event.status == EventStatus.PROCESSING and event.lease_until and event.lease_until > now:
        return None
    if event.status in SETTLED and not force:
        raise ReplayRefused(event_id, event.status)
    if event.attempts or event.status != EventStatus.QUEUED:
        session.add(
            EventOutcome(
                event_id=event.id,
                status=event.status,
                reason=event.reason,
                attempts=event.attempts,
                processed_at=event.processed_at,
                replayed_at=now,
            )
        )
    event.status = EventStatus.QUEUED
    event.reason = None
    event.attempts = 0
    event.available_at = now
    event.lease_until = None
    event.processed_at = None
    session.flush()
    return event


def event_outcomes(session: Session, event_ids: Sequence[int]) -> dict[int, list[EventOutcome]]:
    """The earlier outcomes of each of ``event_ids`` (oldest first), kept by replays."""
    if not event_ids:
        return {}
    stmt = (
        select(EventOutcome)
        .where(EventOutcome.event_id.in_(event_ids))
        .order_by(EventOutcome.event_id, EventOutcome.id)
    )
    found: dict[int, list[EventOutcome]] = {event_id: [] for event_id in event_ids}
    for outcome in session.scalars(stmt):
        found[outcome.event_id].append(outcome)
    return found


def _set(session: Session, event_id: int, attempt: int | None, **values: object) -> bool:
    """Update the event; with ``attempt``, only while the claim of that attempt stands."""
    stmt = update(EventRecord).where(EventRecord.id == event_id)
    if attempt is not None:
        stmt = stmt.where(
            EventRecord.status == EventStatus.PROCESSING, EventRecord.attempts == attempt
        )
    result = session.execute(stmt.values(**values).execution_options(synchronize_session="fetch"))
    if result.rowcount == 1:
        return True
    if attempt is None:
        raise LookupError(f"no stored event with id {event_id}")
    return False
