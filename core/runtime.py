"""One process's working parts: the engine, its job queue, the sweeper and the scheduler.

``deskmate serve`` starts a :class:`Worker` beside the web server (embedded consumer and
scheduler); ``deskmate worker`` runs one alone. The intake hands new conversations to a
:class:`QueueDispatcher`, which only enqueues: the outbox stays the truth. The scheduler only
enqueues too: plugins' periodic jobs, once per period across every process (see
:mod:`deskmate.core.schedules`), run on the queue like conversations.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from deskmate.core.config import Settings, WorkspaceSettings
from deskmate.core.domain import PeriodicJob
from deskmate.core.engine import Engine
from deskmate.core.intercom.client import IntercomClient
from deskmate.core.jobs import JobQueue, make_huey, start_consumer
from deskmate.core.metrics import Metrics, default_metrics
from deskmate.core.plugins import PluginHost
from deskmate.core.schedules import Schedules, trigger_for
from deskmate.core.shared import share_state
from deskmate.core.store.db import make_engine, make_session_factory, reading
from deskmate.core.store.events import due_conversations
from deskmate.core.store.models import utcnow

log = logging.getLogger(__name__)

SWEEP_GRACE = timedelta(seconds=5)


def build_engine(settings: Settings, host: PluginHost, metrics: Metrics | None = None) -> Engine:
    """An engine on the configured database, with one Intercom client per workspace.

    The clients' rate limits are shared with every process of the deployment (see
    :mod:`deskmate.core.shared`). With ``metrics``, the clients report every call and their
    rate-limit headroom, each attempt at an event is counted and, once settled, timed, each
    decision and close is counted by outcome, and the knowledge sources' freshness is read from
    the database.
    """
    share_state(settings)
    sessions = make_session_factory(make_engine(settings.resolved_database_url()))
    engine = Engine(
        settings,
        host,
        sessions,
        IntercomClient if metrics is None else _measured_clients(metrics),
        lease=timedelta(seconds=settings.jobs_lease_seconds),
        max_attempts=settings.jobs_max_attempts,
    )
    if metrics is not None:
        engine.on_settled = lambda event, status: metrics.event_settled(
            event.workspace_id, status, event.received_at, utcnow()
        )
        engine.on_outcome = metrics.outcome
        metrics.track_knowledge(sessions.kw["bind"])
    return engine


def _measured_clients(metrics: Metrics) -> Callable[[WorkspaceSettings], IntercomClient]:
    """An Intercom client factory whose clients report into ``metrics``."""

    def make(workspace: WorkspaceSettings) -> IntercomClient:
        client = IntercomClient(workspace, on_call=metrics.api_call_observer(workspace.app_id))
        metrics.track_headroom(workspace.app_id, client.limiter.headroom)
        return client

    return make


WAKE_SLACK = timedelta(milliseconds=250)
"""Conversations due within this of each other share a wake job, run when the last is due."""


class QueueDispatcher:
    """Enqueues wake jobs for conversations with new events, each run once its events are due.

    Conversations due at about the same time (within :data:`WAKE_SLACK`) share jobs (see
    :meth:`JobQueue.wake`); a later due time (a channel's initial delay) gets scheduled jobs.
    """

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    def dispatch(self, workspace_id: str, conversations: Mapping[str, datetime]) -> None:
        now = utcnow()
        for due, conversation_ids in due_groups(conversations, now):
            self.queue.wake(workspace_id, conversation_ids, (due - now).total_seconds())


def due_groups(
    conversations: Mapping[str, datetime], now: datetime
) -> list[tuple[datetime, list[str]]]:
    """The conversations in groups due within :data:`WAKE_SLACK` of each other, earliest first,
    each with the time its last conversation is due; all those already due form one group."""
    groups: list[tuple[datetime, datetime, list[str]]] = []  # first due, last due, ids
    ordered = sorted(conversations.items(), key=lambda item: item[1])
    for conversation_id, due in ((c, max(due, now)) for c, due in ordered):
        if groups and due - groups[-1][0] <= WAKE_SLACK:
            first, _, ids = groups[-1]
            groups[-1] = (first, due, ids)
            ids.append(conversation_id)
        else:
            groups.append((due, due, [conversation_id]))
    return [(last, ids) for _, last, ids in groups]


def sweep(engine: Engine, queue: JobQueue) -> int:
    """Re-enqueue conversations whose due events have no job (lost job, crash, retry due)."""
    with reading(engine.sessions) as db:
        runs = due_conversations(db, now=utcnow() - SWEEP_GRACE)
    by_workspace: dict[str, list[str]] = {}
    for workspace_id, conversation_id in runs:
        by_workspace.setdefault(workspace_id, []).append(conversation_id)
    for workspace_id, conversation_ids in by_workspace.items():
        queue.wake(workspace_id, conversation_ids)
    if runs:
        log.info("sweeper re-enqueued %d conversation run(s)", len(runs))
    return len(runs)


class Worker:
    """An embedded huey consumer plus the scheduler (the sweeper, and plugins' periodic jobs
    enqueued once per period for the fleet)."""

    name = "worker"

    def __init__(
        self,
        settings: Settings,
        host: PluginHost,
        *,
        workers: int = 2,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.host = host
        self.workers = workers
        self.metrics = metrics if metrics is not None else default_metrics()
        self.engine = build_engine(settings, host, self.metrics)
        host.on_hook_failure(self.metrics.hook_failed)
        self.stopping = threading.Event()
        self.queue = JobQueue(
            make_huey(settings),
            self.engine.run_conversation,
            self.stopping.is_set,
            run_periodic=self.run_periodic,
        )
        self.engine.on_retry = self.queue.dispatch
        self.schedules = Schedules(self.engine.sessions, self.queue.periodic)
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.jobs: dict[str, PeriodicJob] = {}
        self._consumer: Any = None

    def start(self) -> None:
        self._consumer = start_consumer(self.queue.huey, workers=self.workers)
        self.scheduler.add_job(
            sweep,
            IntervalTrigger(seconds=self.settings.jobs_sweep_seconds),
            args=(self.engine, self.queue),
            id="sweeper",
            next_run_time=datetime.now().astimezone(),
        )
        for jobs in self.host.hook.register_jobs(settings=self.settings):
            for job in jobs or []:
                self.jobs[job.name] = job
                trigger = trigger_for(job.schedule)
                if trigger is not None:
                    self.scheduler.add_job(
                        self.schedules.fire, trigger, args=(job.name, trigger), id=job.name
                    )
        self.scheduler.start()

    def run_periodic(self, name: str) -> None:
        """Run the periodic job ``name`` (a queue job), with this process's settings."""
        job = self.jobs.get(name)
        if job is None:
            log.error("periodic job %s is not registered in this process", name)
            return
        job.func(self.settings)

    def stop(self) -> None:
        """Take no new job, let the running conversation runs finish, then return; what is not
        started stays queued in the database (the next start's sweeper enqueues it)."""
        log.info("stopping: no new work is taken; running conversations finish first")
        self.stopping.set()
        self.scheduler.shutdown(wait=False)
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
        self.engine.sessions.kw["bind"].dispose()
        close_storage = getattr(self.queue.huey.storage, "close", None)
        if close_storage is not None:
            close_storage()
        log.info("stopped; events not handled yet stay queued for the next start")
