"""Background work on huey: the outbox is the truth, a job only says "look at this conversation".

huey is at-most-once (a job running when its worker dies is gone), so no job carries state: a run
reads the conversation's pending events from the store, and the sweeper re-enqueues whatever a lost
job left behind. ``deskmate serve`` embeds a consumer; ``deskmate worker`` runs consumers alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer

from deskmate.core.config import Settings

log = logging.getLogger(__name__)

QUEUE_NAME = "deskmate"
"""The huey name of deskmate's queue (its Redis keys, its SQLite queue)."""

RunConversation = Callable[[str, str], None]
RunPeriodic = Callable[[str], None]

WAKE_SIZE = 8
"""Most conversations one wake job runs, one after the other: more jobs spread a burst over
more workers, fewer make the intake's enqueues cheaper."""

# Idle polling cap of the SQLite backend: bounds the pickup latency after a quiet period.
SQLITE_MAX_DELAY = 0.5


def make_huey(settings: Settings) -> Huey:
    """The queue the settings ask for: a SQLite file in the instance folder, or Redis."""
    if settings.jobs_backend == "redis":
        return RedisHuey(QUEUE_NAME, url=settings.redis_url, results=False)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        QUEUE_NAME, filename=str(settings.instance_path / "jobs.db"), results=False, fsync=False
    )


class JobQueue:
    """Enqueues conversation runs: :meth:`wake` for several conversations in one job (the webhook
    intake and the sweeper), :meth:`dispatch` for one (a retry); and plugins' periodic jobs,
    by name (:meth:`periodic`), for ``run_periodic`` to run on whichever worker takes them.

    Once ``stopping()`` is true a wake job runs no further conversation: the process is shutting
    down, and their events wait in the outbox for the sweeper of the next start.
    """

    def __init__(
        self,
        huey: Huey,
        run_conversation: RunConversation,
        stopping: Callable[[], bool] = lambda: False,
        *,
        run_periodic: RunPeriodic | None = None,
    ) -> None:
        self.huey = huey

        def process_conversation(workspace_id: str, conversation_id: str) -> None:
            run_conversation(workspace_id, conversation_id)

        def wake_conversations(workspace_id: str, conversation_ids: Sequence[str]) -> None:
            for position, conversation_id in enumerate(conversation_ids):
                if stopping():  # shutting down: the rest stay queued in the outbox
                    log.info(
                        "stopping: %d conversation run(s) left to the next start",
                        len(conversation_ids) - position,
                    )
                    return
                try:
                    run_conversation(workspace_id, conversation_id)
                except Exception:  # the others still run; the sweeper retries this one
                    log.exception("run of conversation %s failed", conversation_id)

        def periodic_job(name: str) -> None:
            if run_periodic is None:
                log.error("periodic job %s reached a queue that runs none", name)
                return
            run_periodic(name)

        self._task = huey.task(name="process_conversation")(process_conversation)
        self._wake = huey.task(name="wake_conversations")(wake_conversations)
        self._periodic = huey.task(name="periodic_job")(periodic_job)

    def dispatch(self, workspace_id: str, conversation_id: str, delay: float = 0.0) -> None:
        """Ask a worker to run the conversation's pending events after ``delay`` seconds."""
        if delay > 0:
            self._task.schedule(args=(workspace_id, conversation_id), delay=delay)
        else:
            self._task(workspace_id, conversation_id)

    def wake(self, workspace_id: str, conversation_ids: Sequence[str], delay: float = 0.0) -> None:
        """Ask workers to run these conversations after ``delay`` seconds, in jobs of up to
        :data:`WAKE_SIZE` that run theirs one after the other.

        A burst of webhooks costs one enqueue per commit instead of one per conversation. A run
        that fails is logged and the job goes on with the next.
        """
        for start in range(0, len(conversation_ids), WAKE_SIZE):
            args = (workspace_id, list(conversation_ids[start : start + WAKE_SIZE]))
            if delay > 0:
                self._wake.schedule(args=args, delay=delay)
            else:
                self._wake(*args)

    def periodic(self, name: str) -> None:
        """Ask a worker to run the periodic job ``name`` now."""
        self._periodic(name)

    def pending(self) -> int:
        return self.huey.pending_count() + self.huey.scheduled_count()


class EmbeddedConsumer(Consumer):
    """A huey consumer that leaves signal handling to its host process (the web server)."""

    def _set_signal_handlers(self) -> None:
        """The host owns SIGINT/SIGTERM and stops the consumer gracefully itself."""


def start_consumer(huey: Huey, workers: int = 2, **options: Any) -> EmbeddedConsumer:
    """Start worker threads in this process and return the consumer; ``stop(graceful=True)`` it."""
    consumer = EmbeddedConsumer(
        huey,
        workers=workers,
        worker_type="thread",
        initial_delay=0.05,
        max_delay=SQLITE_MAX_DELAY,
        **options,
    )
    consumer.start()
    return consumer
