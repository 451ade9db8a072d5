"""Poison deliveries: ids and text the store can't keep are answered 2xx and stored
``unprocessable`` with the reason at the intake, and every stored event settles within
``max_attempts`` whatever it holds."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from deskmate.core.intercom.webhooks import UnprocessableEvent, check_text
from deskmate.core.runtime import build_engine
from deskmate.core.store.events import record_event
from deskmate.core.store.models import EventRecord, EventStatus, utcnow
from deskmate.testing import TEST_APP_ID

Change = Callable[[dict[str, Any]], Any]


def _item(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["data"]["item"]


def _part(doc: dict[str, Any]) -> dict[str, Any]:
    return _item(doc)["conversation_parts"]["conversation_parts"][0]


def _post(intake: Any, change: Change, notification_id: str = "notif_poison") -> Any:
    doc = json.loads(intake.notification(id=notification_id))
    change(doc)
    return intake.post(json.dumps(doc).encode())


SURROGATES: dict[str, Change] = {
    "notification id": lambda d: d.update(id="notif_\ud800"),
    "conversation id": lambda d: _item(d).update(id="\ud800"),
    "topic": lambda d: d.update(topic="conversation.user.replied\ud800"),
    "part body": lambda d: _part(d).update(body="<p>\udfff</p>"),
    "source delivered_as": lambda d: _item(d)["source"].update(delivered_as="x\udfff"),
}


@pytest.mark.parametrize("change", SURROGATES.values(), ids=SURROGATES.keys())
def test_a_lone_surrogate_is_answered_2xx_and_stored_unprocessable(
    intake: Any, change: Change
) -> None:
    response = _post(intake, change)
    assert response.status_code == 200, response.get_data(as_text=True)
    (row,) = intake.rows()
    assert row.status == EventStatus.UNPROCESSABLE
    assert row.reason
    assert row.conversation_id is None


BAD_IDS: dict[str, tuple[Change, str]] = {
    "blank conversation id": (lambda d: _item(d).update(id=" "), "id is blank"),
    "blank contact id": (
        lambda d: _item(d)["contacts"]["contacts"][0].update(id="  "),
        "contacts[0].id is blank",
    ),
    "long contact id": (
        lambda d: _item(d)["contacts"]["contacts"][0].update(id="c" * 65),
        "contacts[0].id is 65 characters long",
    ),
    "blank part id": (lambda d: _part(d).update(id=" "), "conversation_parts[0].id is blank"),
    "long part id": (
        lambda d: _part(d).update(id="9" * 200),
        "conversation_parts[0].id is 200 characters long",
    ),
    "blank part author id": (
        lambda d: _part(d)["author"].update(id="\t"),
        "conversation_parts[0].author.id is blank",
    ),
    "long part author id": (
        lambda d: _part(d)["author"].update(id="a" * 65),
        "conversation_parts[0].author.id is 65 characters long",
    ),
    "long source author id": (
        lambda d: _item(d)["source"]["author"].update(id="a" * 65),
        "source.author.id is 65 characters long",
    ),
}


@pytest.mark.parametrize(("change", "reason"), BAD_IDS.values(), ids=BAD_IDS.keys())
def test_an_id_the_store_cannot_keep_is_stored_unprocessable_naming_it(
    intake: Any, change: Change, reason: str
) -> None:
    assert _post(intake, change).status_code == 200
    (row,) = intake.rows()
    assert row.status == EventStatus.UNPROCESSABLE
    assert reason in row.reason
    assert intake.counter("deskmate_webhooks_unprocessable_total", workspace=TEST_APP_ID) == 1


def test_an_emoji_is_text_and_is_stored_queued(intake: Any) -> None:
    assert _post(intake, lambda d: _part(d).update(body="<p>thanks 😀</p>")).status_code == 200
    (row,) = intake.rows()
    assert row.status == EventStatus.QUEUED


def _engine(intake: Any, max_attempts: int = 3) -> Any:
    deskmate = intake.app.extensions["deskmate"]
    engine = build_engine(deskmate.settings, deskmate.host)
    engine.max_attempts = max_attempts
    return engine


def _store(intake: Any, change: Change, notification_id: str) -> int:
    """Store a changed notification as queued work, as an older deskmate's intake did."""
    doc = json.loads(intake.notification(id=notification_id))
    change(doc)
    sessions = sessionmaker(intake.engine)
    with sessions.begin() as db:
        return record_event(
            db,
            workspace_id=TEST_APP_ID,
            notification_id=notification_id,
            topic=doc["topic"],
            payload=json.dumps(doc),
            conversation_id=str(_item(doc)["id"]),
        ).id


def _row(intake: Any, event_id: int) -> Any:
    return next(r for r in intake.rows() if r.id == event_id)


def test_an_outcome_quoting_a_lone_surrogate_still_settles_the_event(intake: Any) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["topic"] = "conversation.user.created"
        _item(doc)["source"]["delivered_as"] = "x\udfff"

    event_id = _store(intake, change, "notif_old")
    row = _row(intake, event_id)
    _engine(intake).run_conversation(TEST_APP_ID, row.conversation_id)
    row = _row(intake, event_id)
    assert row.status == EventStatus.SKIPPED
    assert "delivered_as=x\\udfff" in row.reason
    assert row.attempts == 1


def test_an_event_no_run_settled_goes_dead_at_max_attempts_not_past_it(intake: Any) -> None:
    event_id = _store(intake, lambda d: None, "notif_wedged")
    with intake.engine.begin() as conn:
        conn.execute(
            update(EventRecord)
            .where(EventRecord.id == event_id)
            .values(
                status=EventStatus.PROCESSING,
                attempts=3,
                lease_until=utcnow() - timedelta(seconds=1),
            )
        )
    engine = _engine(intake, max_attempts=3)
    settled: list[str] = []
    engine.on_settled = lambda event, status: settled.append(status)
    engine.run_conversation(TEST_APP_ID, _row(intake, event_id).conversation_id)
    row = _row(intake, event_id)
    assert (row.status, row.attempts) == (EventStatus.DEAD, 3)
    assert "gave up after 3 attempts" in row.reason
    assert settled == [EventStatus.DEAD]


def test_events_of_a_blank_conversation_id_an_older_intake_stored_are_settled_not_run(
    intake: Any,
) -> None:
    event_id = _store(intake, lambda d: None, "notif_blank")
    with intake.engine.begin() as conn:
        conn.execute(
            update(EventRecord).where(EventRecord.id == event_id).values(conversation_id=" ")
        )
    assert _engine(intake).run_conversation(TEST_APP_ID, " ") == 1
    row = _row(intake, event_id)
    assert row.status == EventStatus.UNPROCESSABLE
    assert row.reason == "unexpected conversation: conversation id is blank"


def test_an_event_whose_reason_the_database_refuses_is_still_settled(intake: Any) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["topic"] = "conversation.user.created"
        _item(doc)["source"]["delivered_as"] = "poison"

    event_id = _store(intake, change, "notif_refused")
    with intake.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse_poison BEFORE UPDATE OF reason ON webhook_events "
            "WHEN NEW.reason LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'reason refused'); END"
        )
    _engine(intake).run_conversation(TEST_APP_ID, _row(intake, event_id).conversation_id)
    row = _row(intake, event_id)
    assert (row.status, row.attempts) == (EventStatus.SKIPPED, 1)
    assert row.reason.startswith("skipped; the reason could not be recorded")


def test_a_surrogate_nested_deeper_than_the_check_can_follow_is_unprocessable() -> None:
    depth = 1500
    raw = ('{"a": "\\ud800", "b": ' + "[" * depth + "]" * depth + "}").encode()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 500)
    try:
        doc = json.loads(raw)
    finally:
        sys.setrecursionlimit(limit)
    with pytest.raises(UnprocessableEvent, match="nested too deep"):
        check_text(raw, doc)
