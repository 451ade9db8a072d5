"""Webhook envelope parsing: the real samples, API 2.11 to 2.16 variants, 1.x, bad shapes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deskmate.core.intercom.webhooks import (
    LEGACY_REASON,
    LegacyPayload,
    MalformedNotification,
    UnprocessableEvent,
    load_notification,
    notification_key,
    parse_event,
    topic_of,
)

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "intercom-samples"
OPERATOR_REPLIED = "conversation.operator.replied.messenger.2x-shape.json"
OPEN_ASSIGNED = "conversation.admin.open.assigned.messenger.2x-shape.json"
LEGACY_CREATED = "conversation.user.created.messenger.legacy-1x-shape.json"
LEGACY_REPLIED = "conversation.user.replied.messenger.legacy-1x-shape.json"
EMAIL_ITEM = "conversation.email.rest-get-response.preview-spec-example.json"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_bytes())


def envelope(item: dict[str, Any], topic: str = "conversation.user.created") -> dict[str, Any]:
    """A 2.x notification around ``item``."""
    return {
        "type": "notification_event",
        "app_id": "abc123def",
        "data": {"type": "notification_event_data", "item": item},
        "id": "notif_test-1",
        "topic": topic,
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "first_sent_at": 1768031794,
        "created_at": 1768031793,
    }


def test_operator_replied_sample_parses_bot_part_on_unassigned_messenger_chat() -> None:
    event = parse_event(sample(OPERATOR_REPLIED))
    assert event.topic == "conversation.operator.replied"
    assert event.id == "notif_9108e504-998b-4afb-afd2-405cff43b99f"
    assert event.app_id == "abc123def"
    assert event.first_sent_at == datetime.fromtimestamp(1768031794, tz=UTC)
    conversation = event.conversation
    assert conversation is not None
    assert conversation.id == "215472621202693"
    assert conversation.source.type == "conversation"
    assert conversation.source.delivered_as == "customer_initiated"
    assert conversation.source.author.type == "lead"
    assert conversation.admin_assignee_id is None
    assert [(p.part_type, p.author.type) for p in conversation.parts] == [
        ("channel_and_reply_time_expectation", "bot")
    ]


def test_open_assigned_sample_parses_assignment_to_admin() -> None:
    event = parse_event(sample(OPEN_ASSIGNED))
    conversation = event.conversation
    assert event.topic == "conversation.admin.open.assigned"
    assert conversation is not None
    assert conversation.admin_assignee_id == "9608799"
    (part,) = conversation.parts
    assert part.part_type == "assignment"
    assert part.author.type == "admin"
    assert part.assigned_to == {"type": "admin", "id": "9608799"}


def test_ping_sample_has_no_id_and_no_conversation() -> None:
    event = parse_event(sample("ping.json"))
    assert event.topic == "ping"
    assert event.id is None
    assert event.conversation is None
    assert event.item["type"] == "ping"


@pytest.mark.parametrize("name", [LEGACY_CREATED, LEGACY_REPLIED])
def test_legacy_1x_samples_are_reported_with_the_fix(name: str) -> None:
    with pytest.raises(LegacyPayload) as caught:
        parse_event(sample(name))
    assert caught.value.reason == LEGACY_REASON
    assert "Developer Hub" in caught.value.reason


def test_email_conversation_item_parses_as_email_source() -> None:
    event = parse_event(envelope(sample(EMAIL_ITEM)))
    assert event.conversation is not None
    assert event.conversation.source.type == "email"
    assert event.conversation.source.delivered_as == "customer_initiated"


def test_api_2_16_unassigned_zero_iso_timestamps_and_plain_text_body() -> None:
    doc = sample(OPERATOR_REPLIED)
    item = doc["data"]["item"]
    item["admin_assignee_id"] = 0
    item["team_assignee_id"] = 0
    item["source"]["body"] = "plain text, as 2.15+ webhooks send it"
    item["created_at"] = "2026-01-10T07:56:29.000Z"
    doc["created_at"] = "2026-01-10T07:56:33Z"
    event = parse_event(doc)
    assert event.conversation is not None
    assert event.conversation.admin_assignee_id is None
    assert event.conversation.team_assignee_id is None
    assert event.conversation.source.body == "plain text, as 2.15+ webhooks send it"
    assert event.conversation.created_at == datetime(2026, 1, 10, 7, 56, 29, tzinfo=UTC)
    assert event.created_at == datetime(2026, 1, 10, 7, 56, 33, tzinfo=UTC)


def test_retry_delivery_counts_attempts() -> None:
    doc = sample(OPERATOR_REPLIED) | {"delivery_status": "retry", "delivery_attempts": 2}
    assert parse_event(doc).delivery_attempts == 2


def test_unsupported_topic_keeps_raw_item_without_parsing_it() -> None:
    event = parse_event(envelope({"type": "contact", "id": "1"}, topic="contact.created"))
    assert event.conversation is None
    assert event.item == {"type": "contact", "id": "1"}


def _broken(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(sample(OPERATOR_REPLIED))
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.pop("topic"), "topic"),
        (lambda d: d.update(topic=7), "topic"),
        (lambda d: d.update(id=None), "id is null"),
        (lambda d: d.update(id="x" * 300), "id"),
        (lambda d: d.update(type="something_else"), "type"),
        (lambda d: d.update(data="not an object"), "data"),
        (lambda d: d["data"].update(item=[1, 2]), "data.item"),
        (lambda d: d.update(delivery_attempts="2"), "delivery_attempts"),
        (lambda d: d.update(first_sent_at="yesterday"), "first_sent_at"),
        (lambda d: d.update(created_at=10**20), "created_at"),
        (lambda d: d["data"]["item"].update(source="hi"), "source"),
        (lambda d: d["data"]["item"].pop("id"), "conversation.id"),
        (lambda d: d["data"]["item"].update(id="9" * 100), "id is 100 characters long"),
        (lambda d: d["data"]["item"].update(type="ticket"), "conversation.type"),
        (
            lambda d: d["data"]["item"]["conversation_parts"].update(conversation_parts="x"),
            "conversation_parts",
        ),
    ],
)
def test_unexpected_shapes_raise_with_a_reason_naming_the_field(change: Any, words: str) -> None:
    with pytest.raises(UnprocessableEvent) as caught:
        parse_event(_broken(change))
    assert words in caught.value.reason
    assert len(caught.value.reason) <= 400


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe{}",
        b"[1, 2, 3]",
        b'"a string"',
        b"{}",
        b'{"app_id": 12}',
        b'{"app_id": ""}',
        json.dumps({"app_id": "a" * 65}).encode(),
        b"[" * 100_000 + b"]" * 100_000,
        b'{"app_id": "abc", "x": ' + b"9" * 5000 + b"}",
    ],
)
def test_bodies_that_are_not_notifications_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedNotification):
        load_notification(body)


def test_notification_key_is_the_id_or_a_stable_body_digest() -> None:
    assert notification_key({"id": "notif_1"}, b"x") == "notif_1"
    digest = notification_key({"id": None}, b"body")
    assert digest.startswith("sha256:")
    assert digest == notification_key({}, b"body")
    assert digest != notification_key({}, b"other body")
    assert notification_key({"id": "y" * 300}, b"body") == digest


def test_topic_of_bounds_what_it_returns() -> None:
    assert topic_of({"topic": "ping"}) == "ping"
    assert topic_of({"topic": "t" * 500}) == "unknown"
    assert topic_of({"topic": ["list"]}) == "unknown"
    assert topic_of({}) == "unknown"
