"""Wake jobs: conversations with new events share jobs, each still runs when its events are due,
and a delayed customer message is answered at its due time, not before."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from huey.api import Huey

from deskmate.core.config import Settings
from deskmate.core.jobs import WAKE_SIZE, JobQueue, make_huey
from deskmate.core.runtime import WAKE_SLACK, QueueDispatcher
from deskmate.core.stack import LocalStack, StackOptions
from deskmate.core.store.models import utcnow


class Runs:
    """A ``run_conversation`` that records its calls and fails for the ids it is told to."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.calls: list[tuple[str, str]] = []
        self.failing = failing

    def __call__(self, workspace_id: str, conversation_id: str) -> None:
        self.calls.append((workspace_id, conversation_id))
        if conversation_id in self.failing:
            raise RuntimeError("Intercom is down")


@pytest.fixture
def huey(settings: Settings) -> Huey:
    """The SQLite job queue ``deskmate serve`` uses, in the test's instance folder."""
    return make_huey(settings)


def run_pending(huey: Huey) -> None:
    while (task := huey.dequeue()) is not None:
        huey.execute(task)


def enqueued(huey: Huey) -> list[tuple[list[str], float]]:
    """Each enqueued job's conversations and its delay from now in seconds (0 when it is due
    now), soonest first."""
    now = datetime.now(UTC).replace(tzinfo=None)  # huey keeps naive UTC times
    jobs = [
        (task.args[1], (task.eta - now).total_seconds() if task.eta else 0.0)
        for task in huey.pending()
    ]
    return sorted(jobs, key=lambda job: job[1])


def test_a_wake_of_many_conversations_is_few_jobs_that_run_each_in_order(huey: Huey) -> None:
    runs = Runs()
    ids = [f"c{i}" for i in range(2 * WAKE_SIZE + 3)]
    JobQueue(huey, runs).wake("ws", ids)
    assert huey.pending_count() == 3
    run_pending(huey)
    assert runs.calls == [("ws", c) for c in ids]


def test_a_failing_run_does_not_stop_the_rest_of_its_wake(huey: Huey) -> None:
    runs = Runs(failing=frozenset({"c1"}))
    JobQueue(huey, runs).wake("ws", ["c0", "c1", "c2"])
    run_pending(huey)
    assert runs.calls == [("ws", "c0"), ("ws", "c1"), ("ws", "c2")]


def test_conversations_due_later_get_jobs_scheduled_at_their_due_time(huey: Huey) -> None:
    queue = JobQueue(huey, Runs())
    now = utcnow()
    QueueDispatcher(queue).dispatch(
        "ws",
        {
            "overdue": now - timedelta(seconds=1),
            "now": now,
            "messenger": now + timedelta(seconds=4),
            "messenger2": now + timedelta(seconds=4) + WAKE_SLACK / 2,
            "email": now + timedelta(seconds=30),
        },
    )
    jobs = enqueued(huey)
    assert [ids for ids, _ in jobs] == [["overdue", "now"], ["messenger", "messenger2"], ["email"]]
    now_delay, messenger_delay, email_delay = (delay for _, delay in jobs)
    assert now_delay == 0.0
    assert 4.0 < messenger_delay <= 4.0 + WAKE_SLACK.total_seconds()
    assert 29.0 < email_delay <= 30.0


def test_delayed_customer_message_is_answered_at_its_due_time_not_before(
    tmp_path: Path,
) -> None:
    options = StackOptions(plugins={"messenger": {"initial_delay": 1.5}})
    with LocalStack(tmp_path / "stack", options) as stack:
        started = time.monotonic()
        conversation_id = stack.start_conversation("Hello, is anyone there?")
        answered_at = None
        while time.monotonic() - started < 15:
            parts: list[Any] = stack.parts_by_ai(conversation_id, "comment")
            parts += stack.parts_by_ai(conversation_id, "note")
            if parts:
                answered_at = time.monotonic() - started
                break
            time.sleep(0.1)
    assert answered_at is not None, "the delayed message got no run"
    assert answered_at >= 1.5
