"""Plugins' periodic jobs: each fires once per period across every process, and runs on the queue.

Every ``serve`` and ``worker`` process runs a scheduler, so each would fire each job. When a
job's time comes, a process first claims the period with a lease row in the database keyed by
the job's name (held until half way to the next period); only the process that got it enqueues
the job, and whichever worker takes it from the queue runs it. The scheduler thread itself only
claims and enqueues, so a long job never holds up the sweeper or another schedule.

``hourly`` and ``daily`` fire at the same wall-clock times in every process (whole hours, midnight
UTC), as cron schedules do, so that they name the same period.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.store.leases import acquire_lease
from deskmate.core.store.models import utcnow

log = logging.getLogger(__name__)

_ALIGNED = datetime(2000, 1, 1, tzinfo=UTC)
SCHEDULES = {
    "hourly": lambda: IntervalTrigger(hours=1, start_date=_ALIGNED, timezone=UTC),
    "daily": lambda: IntervalTrigger(days=1, start_date=_ALIGNED, timezone=UTC),
}
SCOPE = "*schedules"
"""The lease rows' workspace column: schedules belong to the deployment, not a workspace."""
PERIOD_SLACK = timedelta(seconds=30)
"""A scheduler fires a little after its time; a period is the fire time at most this long ago
(less than the shortest cron period, a minute)."""


def trigger_for(schedule: str) -> Any:
    """An apscheduler trigger for ``hourly``, ``daily`` or a cron expression; None for manual."""
    if schedule == "manual":
        return None
    aligned = SCHEDULES.get(schedule)
    return aligned() if aligned else CronTrigger.from_crontab(schedule, timezone=UTC)


def period_of(trigger: Any, now: datetime) -> tuple[datetime, datetime]:
    """The period a firing at ``now`` belongs to: its fire time and the next one."""
    start = trigger.get_next_fire_time(None, now - PERIOD_SLACK)
    following = trigger.get_next_fire_time(start, start + timedelta(microseconds=1))
    return start, following


def process_owner() -> str:
    """This process's name in lease rows: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Schedules:
    """Claims a job's period for this process and, when it got it, enqueues the job."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        enqueue: Callable[[str], None],
        owner: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.enqueue = enqueue
        self.owner = owner or process_owner()

    def claim(self, name: str, trigger: Any, now: datetime | None = None) -> bool:
        """Take the period of ``name`` that ``now`` falls in; False if a process already has.

        The lease is dated from the period's start, not the clock, so a process that fires late
        still finds the first one's claim.
        """
        start, following = period_of(trigger, now or utcnow())
        with self.sessions.begin() as db:
            return acquire_lease(
                db, SCOPE, f"schedule:{name}", self.owner, (following - start) / 2, now=start
            )

    def fire(self, name: str, trigger: Any, now: datetime | None = None) -> bool:
        """What the scheduler calls at a job's time: enqueue it once for the whole fleet."""
        if not self.claim(name, trigger, now):
            log.info("periodic job %s: another process has this period", name)
            return False
        self.enqueue(name)
        log.info("periodic job %s enqueued", name)
        return True
