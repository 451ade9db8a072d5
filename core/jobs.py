"""Background work on huey: the outbox is the truth, a job only says "look at this conversation".

huey is at-most-once (a job running when its worker dies is gone), so no job carries state: a run
reads the conversation's pending events from the store, and the sweeper re-enqueues whatever a lost
job left behind. ``deskmate serve`` embeds a consumer; ``deskmate worker`` runs consumers alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer

from deskmate.core.config import Settings

log = logging.getLogger(__name__)

RunConversation = Callable[[str, str], None]

# Idle polling cap of the SQLite backend: bounds the pickup latency after a quiet period.
SQLITE_MAX_DELAY = 0.5


def make_huey(settings: Settings) -> Huey:
    """The queue the settings ask for: a SQLite file in the instance folder, or Redis."""
    if settings.jobs_backend == "redis":
        return RedisHuey("deskmate", url=settings.redis_url, results=False)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        "deskmate", filename=str(settings.instance_path / "jobs.db"), results=False, fsync=False
    )


class JobQueue:
    """Enqueues conversation runs; the webhook intake and the sweeper call :meth:`dispatch`."""

    def __init__(self, huey: Huey, run_conversation: RunConversation) -> None:
        self.huey = huey

        def process_conversation(workspace_id: str, conversation_id: str) -> None:
            run_conversation(workspace_id, conversation_id)

        self._task = huey.task(name="process_conversation")(process_conversation)

    def dispatch(self, workspace_id: str, conversation_id: str, delay: float = 0.0) -> None:
        """Ask a worker to run the conversation's pending events after ``delay`` seconds."""
        if delay > 0:
            self._task.schedule(args=(workspace_id, conversation_id), delay=delay)
        else:
            self._task(workspace_id, conversation_id)

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
