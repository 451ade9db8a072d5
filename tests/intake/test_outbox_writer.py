"""The outbox writer: group commit, duplicates inside one batch, and one bad row among good ones."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from deskmate.core.intake import IntakeUnavailable, OutboxRow, OutboxWriter
from deskmate.core.metrics import Metrics
from deskmate.core.store.db import make_engine, upgrade
from deskmate.core.store.models import EventRecord


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def row(notification_id: str, **overrides: Any) -> OutboxRow:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "workspace_id": "ws",
        "notification_id": notification_id,
        "topic": "conversation.user.replied",
        "payload": "{}",
        "status": "queued",
        "received_at": now,
        "available_at": now,
        "conversation_id": "c1",
    }
    return OutboxRow(**(fields | overrides))


def stored(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        ids = conn.execute(select(EventRecord.notification_id).order_by(EventRecord.id))
        return list(ids.scalars())


def submit_in_background(writer: OutboxWriter, rows: list[OutboxRow]) -> dict[str, Any]:
    """Submit each row from its own thread; return a dict filled with each row's outcome."""
    outcomes: dict[str, Any] = {}

    def one(r: OutboxRow) -> None:
        try:
            outcomes[r.notification_id] = writer.submit(r, timeout=10)
        except IntakeUnavailable as exc:
            outcomes[r.notification_id] = exc

    threads = [threading.Thread(target=one, args=(r,)) for r in rows]
    for thread in threads:
        thread.start()
        time.sleep(0.01)
    outcomes["_threads"] = threads
    return outcomes


class WriteLock:
    """Holds SQLite's write lock on another connection until released, so rows queue up."""

    def __init__(self, engine: Engine) -> None:
        self._release = threading.Event()
        started = threading.Event()

        def hold() -> None:
            with engine.begin():
                started.set()
                self._release.wait(10)

        self._thread = threading.Thread(target=hold)
        self._thread.start()
        started.wait(5)

    def release(self) -> None:
        """Let the writer go, once the threads started before this call have queued."""
        time.sleep(0.2)
        self._release.set()
        self._thread.join(5)


def finish(outcomes: dict[str, Any]) -> dict[str, Any]:
    for thread in outcomes.pop("_threads"):
        thread.join(10)
    return outcomes


def test_rows_arriving_during_a_commit_share_the_next_one(engine: Engine) -> None:
    metrics = Metrics()
    writer = OutboxWriter(engine, metrics=metrics)
    lock = WriteLock(engine)
    outcomes = submit_in_background(writer, [row(f"n{i}") for i in range(6)])
    lock.release()
    assert finish(outcomes) == {f"n{i}": True for i in range(6)}
    writer.stop()
    assert sorted(stored(engine)) == [f"n{i}" for i in range(6)]
    commits = metrics.registry.get_sample_value("deskmate_outbox_batch_size_count")
    assert commits is not None and commits < 6


def test_duplicates_inside_one_batch_are_stored_once(engine: Engine) -> None:
    writer = OutboxWriter(engine)
    lock = WriteLock(engine)
    first = submit_in_background(writer, [row("warm")])
    time.sleep(0.1)
    rest = submit_in_background(writer, [row("same"), row("same"), row("same")])
    lock.release()
    finish(first)
    threads = rest.pop("_threads")
    for thread in threads:
        thread.join(10)
    writer.stop()
    assert stored(engine).count("same") == 1
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(EventRecord.__table__)).scalar()
    assert total == 2


def test_a_bad_row_fails_alone_and_the_rest_of_its_batch_is_stored(engine: Engine) -> None:
    writer = OutboxWriter(engine)
    lock = WriteLock(engine)
    rows = [row("good1"), row("bad", topic=None), row("good2")]
    outcomes = submit_in_background(writer, rows)
    lock.release()
    result = finish(outcomes)
    writer.stop()
    assert result["good1"] is True
    assert result["good2"] is True
    assert isinstance(result["bad"], IntakeUnavailable)
    assert sorted(stored(engine)) == ["good1", "good2"]


def test_dispatcher_hears_of_each_new_conversation_once(engine: Engine) -> None:
    calls: list[tuple[str, list[str]]] = []

    class Recorder:
        def dispatch(self, workspace_id: str, conversations: Any) -> None:
            calls.append((workspace_id, sorted(conversations)))

    writer = OutboxWriter(engine, Recorder())
    lock = WriteLock(engine)
    first = submit_in_background(writer, [row("first", conversation_id="c0")])
    time.sleep(0.1)  # "first" is now alone in a commit that waits for the lock
    rows = [
        row("a", conversation_id="c1"),
        row("b", conversation_id="c1"),
        row("c", conversation_id="c2"),
    ]
    outcomes = submit_in_background(writer, rows)
    lock.release()
    finish(first)
    finish(outcomes)
    writer.stop()
    assert [ws for ws, _ in calls] == ["ws"] * len(calls)
    assert sorted(c for _, conversations in calls for c in conversations) == ["c0", "c1", "c2"]


def test_commits_waiting_for_a_slow_dispatcher_are_handed_over_as_one(engine: Engine) -> None:
    calls: list[dict[str, datetime]] = []
    busy, release = threading.Event(), threading.Event()

    class Slow:
        def dispatch(self, workspace_id: str, conversations: Any) -> None:
            calls.append(dict(conversations))
            busy.set()
            release.wait(10)

    writer = OutboxWriter(engine, Slow())
    writer.submit(row("first", conversation_id="c0"))
    assert busy.wait(5)
    early, late = datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC)
    writer.submit(row("a", conversation_id="c1", available_at=late))
    writer.submit(row("b", conversation_id="c2"))
    writer.submit(row("c", conversation_id="c1", available_at=early))
    release.set()
    writer.stop()
    assert [sorted(c) for c in calls] == [["c0"], ["c1", "c2"]]
    assert calls[1]["c1"] == early, "a conversation is due when its earliest new event is"


def test_a_burst_of_large_bodies_commits_in_several_short_transactions(engine: Engine) -> None:
    metrics = Metrics()
    writer = OutboxWriter(engine, metrics=metrics)
    lock = WriteLock(engine)
    large = "x" * ((1 << 20) - 100)
    outcomes = submit_in_background(writer, [row(f"n{i}", payload=large) for i in range(12)])
    lock.release()
    assert finish(outcomes) == {f"n{i}": True for i in range(12)}
    writer.stop()
    sample = metrics.registry.get_sample_value
    batches = sample("deskmate_outbox_batch_size_count")
    assert sample("deskmate_outbox_batch_size_bucket", {"le": "8.0"}) == batches, (
        "a batch of more than 8 bodies of 1 MiB held the write lock"
    )
