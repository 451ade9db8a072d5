"""The sweeper finds every conversation with due work, however many rows are stuck, and reads
without holding the write lock a lease needs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from huey import MemoryHuey
from sqlalchemy import event

from deskmate.core.config import Settings
from deskmate.core.engine import Engine
from deskmate.core.jobs import JobQueue
from deskmate.core.runtime import build_engine, sweep
from deskmate.core.store.db import upgrade
from deskmate.core.store.events import claim_events, record_event
from deskmate.core.store.leases import acquire_lease
from deskmate.core.store.models import utcnow
from deskmate.testing import TEST_APP_ID, make_host

STUCK = 520
LONG_AGO = timedelta(minutes=10)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    upgrade(settings.resolved_database_url())
    built = build_engine(settings, make_host())
    yield built
    built.sessions.kw["bind"].dispose()


def _store(engine: Engine, notification_id: str, **fields: Any) -> None:
    values: dict[str, Any] = {
        "workspace_id": TEST_APP_ID,
        "notification_id": notification_id,
        "topic": "conversation.user.replied",
        "payload": "{}",
        "now": utcnow() - LONG_AGO,
    }
    with engine.sessions.begin() as db:
        record_event(db, **(values | fields))


def _queue() -> JobQueue:
    """A real job queue whose jobs wait in memory, to see what the sweeper enqueued."""
    return JobQueue(MemoryHuey(immediate=False), lambda workspace, conversation: None)


def _woken(queue: JobQueue) -> list[str]:
    return [cid for task in queue.huey.pending() for cid in task.args[1]]


def test_a_killed_run_is_recovered_behind_more_stuck_rows_than_one_read_holds(
    engine: Engine,
) -> None:
    for n in range(STUCK):
        _store(engine, f"article_{n}", topic="article.updated")
    _store(engine, "killed", conversation_id="c_killed")
    with engine.sessions.begin() as db:
        claimed = claim_events(
            db, TEST_APP_ID, "c_killed", lease=timedelta(seconds=1), now=utcnow() - LONG_AGO
        )
    assert len(claimed) == 1, "a run took the event and died holding it"
    queue = _queue()

    assert sweep(engine, queue) == 1
    assert _woken(queue) == ["c_killed"]


def test_a_lease_is_taken_while_a_sweep_is_reading(engine: Engine) -> None:
    _store(engine, "waiting", conversation_id="c1")
    reading, release = threading.Event(), threading.Event()
    bind = engine.sessions.kw["bind"]

    def pause_inside_the_sweeps_read(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "webhook_events" in statement and threading.current_thread().name == "sweeper":
            reading.set()
            release.wait(10)

    event.listen(bind, "after_cursor_execute", pause_inside_the_sweeps_read)
    sweeper = threading.Thread(target=sweep, args=(engine, _queue()), name="sweeper")
    sweeper.start()
    try:
        assert reading.wait(10)
        took: list[bool] = []

        def take() -> None:
            with engine.sessions.begin() as db:
                took.append(acquire_lease(db, TEST_APP_ID, "c2", "run", timedelta(minutes=1)))

        taker = threading.Thread(target=take)
        taker.start()
        taker.join(2)
        assert took == [True], "the lease waited for the sweep's read to end"
    finally:
        release.set()
        sweeper.join(10)
        event.remove(bind, "after_cursor_execute", pause_inside_the_sweeps_read)
