"""The intake's light parse: the same verdicts as the full parse, without the conversation's parts;
a bad part is found by the engine and stored unprocessable there."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from deskmate.core.intercom.webhooks import (
    UnprocessableEvent,
    parse_envelope,
    parse_event,
)

Change = Callable[[dict[str, Any]], Any]

ENVELOPE_CHANGES: list[Change] = [
    lambda d: None,
    lambda d: d.pop("topic"),
    lambda d: d.update(topic=7),
    lambda d: d.update(topic=""),
    lambda d: d.update(topic="t" * 129),
    lambda d: d.pop("id"),
    lambda d: d.update(id=None),
    lambda d: d.update(id=12),
    lambda d: d.update(id="x" * 256),
    lambda d: d.update(app_id=["a"]),
    lambda d: d.update(type="something_else"),
    lambda d: d.update(type=None),
    lambda d: d.pop("type"),
    lambda d: d.update(data="not an object"),
    lambda d: d.pop("data"),
    lambda d: d["data"].update(item=[1, 2]),
    lambda d: d.update(delivery_attempts="2"),
    lambda d: d.update(delivery_attempts=True),
    lambda d: d.update(delivery_attempts=None),
    lambda d: d.pop("delivery_attempts"),
    lambda d: d.update(delivery_attempts=2.0),
    lambda d: d.update(first_sent_at="yesterday"),
    lambda d: d.update(created_at=10**20),
    lambda d: d["data"]["item"].update(source="hi"),
    lambda d: d["data"]["item"].update(id="9" * 100),
    lambda d: d["data"]["item"].update(type="ticket"),
    lambda d: d["data"]["item"].update(contacts={"contacts": "x"}),
    lambda d: d["data"]["item"].update(id=" "),
    lambda d: d["data"]["item"]["contacts"]["contacts"][0].update(id="c" * 65),
    lambda d: d["data"]["item"]["source"]["author"].update(id=""),
    lambda d: d.update(id="notif_\ud800"),
    lambda d: d.update(topic=" "),
]


def verdict(parse: Callable[[dict[str, Any]], Any], doc: dict[str, Any]) -> Any:
    """What a parser makes of ``doc``: the event without its parts, or the reason it refused."""
    try:
        event = parse(copy.deepcopy(doc))
    except UnprocessableEvent as exc:
        return ("unprocessable", exc.reason)
    if event.conversation is not None:
        event.conversation.parts = []
    return event


@pytest.mark.parametrize("change", ENVELOPE_CHANGES)
def test_light_parse_agrees_with_the_full_parse_on_everything_but_parts(
    intake: Any, change: Change
) -> None:
    doc = json.loads(intake.notification(id="notif_same"))
    change(doc)
    assert verdict(parse_envelope, doc) == verdict(parse_event, doc)


def test_light_parse_leaves_the_parts_out() -> None:
    doc = {
        "type": "notification_event",
        "app_id": "abc",
        "id": "notif_1",
        "topic": "conversation.user.replied",
        "data": {
            "item": {
                "id": "42",
                "source": {"type": "conversation", "id": "7", "delivered_as": "customer_initiated"},
                "conversation_parts": {"conversation_parts": "not a list"},
            }
        },
    }
    event = parse_envelope(doc)
    assert event.conversation is not None
    assert (event.conversation.id, event.conversation.parts) == ("42", [])
    assert "conversation_parts" in doc["data"]["item"], "the caller's document is not changed"
    with pytest.raises(UnprocessableEvent, match="conversation_parts"):
        parse_event(doc)


def test_bad_part_is_queued_at_intake_and_marked_unprocessable_by_the_engine(
    intake: Any,
) -> None:
    from deskmate.core.runtime import build_engine
    from deskmate.core.store.models import EventStatus

    doc = json.loads(intake.notification(id="notif_bad_part"))
    doc["data"]["item"]["conversation_parts"]["conversation_parts"][0]["author"] = "nobody"
    assert intake.post(json.dumps(doc).encode()).status_code == 200
    (row,) = intake.rows()
    assert row.status == EventStatus.QUEUED

    settings = intake.app.extensions["deskmate"].settings
    engine = build_engine(settings, intake.app.extensions["deskmate"].host)
    engine.run_conversation(row.workspace_id, row.conversation_id)
    (row,) = intake.rows()
    assert row.status == EventStatus.UNPROCESSABLE
    assert "conversation_parts[0].author" in row.reason
