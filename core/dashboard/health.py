"""The health page's figures: webhook intake, the queue, dead events, rate-limit headroom,
plugin failures and knowledge syncs, for one workspace."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deskmate.core.intercom.ratelimit import limiters
from deskmate.core.store.models import AuditRecord, EventRecord, EventStatus, SyncState

RECENT = timedelta(hours=24)
"""How far back intake counts and plugin failures look."""
DEAD_SHOWN = 25
FAILURES_SHOWN = 10


@dataclass
class Health:
    """One workspace's health at ``now``."""

    intake: list[tuple[str, int]] = field(default_factory=list)
    queued: int = 0
    dead: list[EventRecord] = field(default_factory=list)
    dead_total: int = 0
    headroom: float | None = None
    failures: list[tuple[str, str, int]] = field(default_factory=list)
    latest_failures: list[AuditRecord] = field(default_factory=list)
    syncs: list[SyncState] = field(default_factory=list)


def health(db: Session, workspace: str, now: datetime) -> Health:
    """Everything the health page shows for ``workspace``."""
    e = EventRecord
    mine = e.workspace_id == workspace
    recent = select(e.status, func.count()).where(e.received_at >= now - RECENT, mine)
    dead = [mine, e.status == EventStatus.DEAD]
    limiter = limiters.known().get(workspace)
    return Health(
        intake=sorted(
            ((status, n) for status, n in db.execute(recent.group_by(e.status))),
            key=lambda r: -r[1],
        ),
        queued=db.scalar(select(func.count()).where(e.status.in_(EventStatus.PENDING), mine)) or 0,
        dead=list(db.scalars(select(e).where(*dead).order_by(e.id.desc()).limit(DEAD_SHOWN))),
        dead_total=db.scalar(select(func.count()).where(*dead)) or 0,
        headroom=limiter.headroom() if limiter is not None else None,
        failures=_failure_counts(db, workspace, now - RECENT),
        latest_failures=_latest_failures(db, workspace, now - RECENT),
        syncs=list(
            db.scalars(
                select(SyncState).where(SyncState.workspace_id == workspace).order_by("source")
            )
        ),
    )


def _failures(workspace: str, since: datetime) -> list[Any]:
    a = AuditRecord
    return [a.kind == "plugin_failed", a.created_at >= since, a.workspace_id == workspace]


def _failure_counts(db: Session, workspace: str, since: datetime) -> list[tuple[str, str, int]]:
    """Plugin hook failures since ``since`` by plugin and hook, most first."""
    data = select(AuditRecord.data).where(*_failures(workspace, since))
    counts: dict[tuple[str, str], int] = {}
    for (record,) in db.execute(data):
        key = (str(record.get("plugin", "?")), str(record.get("hook", "?")))
        counts[key] = counts.get(key, 0) + 1
    return sorted(((p, h, n) for (p, h), n in counts.items()), key=lambda r: -r[2])


def _latest_failures(db: Session, workspace: str, since: datetime) -> list[AuditRecord]:
    stmt = (
        select(AuditRecord)
        .where(*_failures(workspace, since))
        .order_by(AuditRecord.id.desc())
        .limit(FAILURES_SHOWN)
    )
    return list(db.scalars(stmt))
