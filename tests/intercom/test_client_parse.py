"""The shared conversation parser: every API version's shape, and bad input rejected clearly."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deskmate.core.intercom.parse import (
    ShapeError,
    conversation_from_item,
    parse_assignee,
    parse_timestamp,
)

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "intercom" / "samples"


def minimal_item(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "conversation",
        "id": 123,
        "created_at": 1768031789,
        "source": {
            "type": "email",
            "id": 99,
            "delivered_as": "customer_initiated",
            "body": "<p>Hi</p>",
            "author": {"type": "user", "id": "c1", "name": "Ann", "email": "a@example.com"},
            "attachments": [
                {"type": "upload", "name": "x.png", "url": "https://f/x.png", "filesize": 10},
                {"type": "upload", "name": "no-url"},
            ],
        },
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "c1"}]},
        "admin_assignee_id": None,
        "team_assignee_id": None,
        "state": "open",
        "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "1", "name": "vip"}]},
        "custom_attributes": {"plan": "pro"},
        "conversation_parts": {
            "type": "conversation_part.list",
            "conversation_parts": [
                {
                    "type": "conversation_part",
                    "id": 7,
                    "part_type": "comment",
                    "body": None,
                    "created_at": "2026-01-10T07:56:29.000Z",
                    "author": {"type": "admin", "id": 42},
                    "app_package_code": "deskmate",
                }
            ],
        },
    }
    item.update(overrides)
    return item


def test_rest_shape_becomes_conversation_with_string_ids_and_utc_times() -> None:
    conv = conversation_from_item(minimal_item())
    assert conv.id == "123"
    assert conv.source.id == "99" and conv.source.type == "email"
    assert [a.url for a in conv.source.attachments] == ["https://f/x.png"]
    assert conv.source.attachments[0].size == 10
    assert conv.contact_ids == ["c1"]
    assert conv.tags == ["vip"]
    assert conv.custom_attributes == {"plan": "pro"}
    part = conv.parts[0]
    assert (part.id, part.body, part.author.id, part.app_package_code) == (
        "7",
        "",
        "42",
        "deskmate",
    )
    assert part.created_at == datetime(2026, 1, 10, 7, 56, 29, tzinfo=UTC)
    assert conv.created_at == datetime.fromtimestamp(1768031789, tz=UTC)


@pytest.mark.parametrize("unassigned", [None, 0, "0", ""])
def test_unassigned_in_every_version_is_none(unassigned: Any) -> None:
    conv = conversation_from_item(
        minimal_item(admin_assignee_id=unassigned, team_assignee_id=unassigned)
    )
    assert conv.admin_assignee_id is None and conv.team_assignee_id is None


def test_integer_assignees_become_strings() -> None:
    conv = conversation_from_item(minimal_item(admin_assignee_id=991, team_assignee_id=5017691))
    assert (conv.admin_assignee_id, conv.team_assignee_id) == ("991", "5017691")


def test_state_falls_back_to_open_flag() -> None:
    item = minimal_item(open=False)
    del item["state"]
    assert conversation_from_item(item).state == "closed"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1768031789, datetime.fromtimestamp(1768031789, tz=UTC)),
        ("1768031789", datetime.fromtimestamp(1768031789, tz=UTC)),
        (1768031789.5, datetime.fromtimestamp(1768031789.5, tz=UTC)),
        ("2026-01-10T07:56:29Z", datetime(2026, 1, 10, 7, 56, 29, tzinfo=UTC)),
        ("2026-01-10T07:56:29", datetime(2026, 1, 10, 7, 56, 29, tzinfo=UTC)),
        (None, None),
        (0, None),
        ("", None),
    ],
)
def test_timestamps_unix_or_iso(value: Any, expected: datetime | None) -> None:
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize("value", [True, "yesterday", [1], 10**30, -5, float("nan")])
def test_bad_timestamps_raise_shape_error(value: Any) -> None:
    with pytest.raises(ShapeError, match="created_at"):
        parse_timestamp(value, "created_at")


def test_parse_assignee_rejects_objects() -> None:
    with pytest.raises(ShapeError, match="admin_assignee_id"):
        parse_assignee({"id": 1}, "admin_assignee_id")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda i: i.pop("id"), "conversation.id"),
        (lambda i: i.pop("source"), "source: missing"),
        (lambda i: i.__setitem__("type", "ticket"), "conversation.type"),
        (lambda i: i.__setitem__("source", "text"), "source: expected an object"),
        (lambda i: i["source"].__setitem__("body", 12), "source.body"),
        (lambda i: i.__setitem__("contacts", ["c1"]), "contacts"),
        (lambda i: i.__setitem__("custom_attributes", [1]), "custom_attributes"),
        (lambda i: i.__setitem__("admin_assignee_id", 1.5), "admin_assignee_id"),
        (lambda i: i.__setitem__("id", True), "conversation.id"),
        (
            lambda i: i["conversation_parts"].__setitem__("conversation_parts", {}),
            "conversation_parts",
        ),
        (lambda i: i["conversation_parts"]["conversation_parts"][0].pop("part_type"), "part_type"),
        (lambda i: i["source"].__setitem__("attachments", [None, "x"]), "attachments[1]"),
    ],
)
def test_wrong_shapes_raise_shape_error_naming_the_field(mutate: Any, field: str) -> None:
    item = minimal_item()
    mutate(item)
    with pytest.raises(ShapeError, match=field.replace("[", r"\[").replace("]", r"\]")):
        conversation_from_item(item)


@pytest.mark.parametrize("item", [None, [], "conversation", 42])
def test_non_objects_raise_shape_error(item: Any) -> None:
    with pytest.raises(ShapeError):
        conversation_from_item(item)


def test_oversized_conversation_parses_without_quadratic_cost() -> None:
    item = minimal_item()
    part = item["conversation_parts"]["conversation_parts"][0]
    item["conversation_parts"]["conversation_parts"] = [
        dict(copy.deepcopy(part), id=n, body="x" * 1000) for n in range(5000)
    ]
    conv = conversation_from_item(item)
    assert len(conv.parts) == 5000 and conv.parts[-1].id == "4999"


def test_hostile_strings_are_kept_verbatim_not_interpreted() -> None:
    hostile = "<script>alert(1)</script>\x00" + "é" * 10
    conv = conversation_from_item(minimal_item(id="../../etc/passwd"))
    conv2 = conversation_from_item(
        minimal_item(source={**minimal_item()["source"], "body": hostile})
    )
    assert conv.id == "../../etc/passwd"
    assert conv2.source.body == hostile


def _sample(name: str) -> dict[str, Any]:
    data = json.loads((SAMPLES / name).read_text())
    return data["data"]["item"] if "data" in data else data


def test_real_2x_webhook_item_null_unassigned_and_only_new_part() -> None:
    conv = conversation_from_item(_sample("conversation.operator.replied.messenger.2x-shape.json"))
    assert conv.admin_assignee_id is None
    assert conv.source.delivered_as == "customer_initiated"
    assert [p.part_type for p in conv.parts] == ["channel_and_reply_time_expectation"]
    assert conv.parts[0].author.type == "bot"


def test_real_2x_assignment_part_keeps_assigned_to() -> None:
    conv = conversation_from_item(
        _sample("conversation.admin.open.assigned.messenger.2x-shape.json")
    )
    assert conv.admin_assignee_id == "9608799"
    assert conv.parts[0].assigned_to == {"type": "admin", "id": "9608799"}


def test_legacy_1x_shape_maps_user_assignee_and_message() -> None:
    created = conversation_from_item(
        _sample("conversation.user.created.messenger.legacy-1x-shape.json")
    )
    replied = conversation_from_item(
        _sample("conversation.user.replied.messenger.legacy-1x-shape.json")
    )
    assert created.admin_assignee_id is None  # "nobody_admin"
    assert created.contact_ids == ["5c9553cb27e377f24eed49f7"]
    assert created.source.type == "conversation"
    assert created.source.delivered_as == "customer_initiated"
    assert replied.admin_assignee_id == "1957471"
    assert replied.parts[0].body.startswith("<p>Well")


def test_rest_email_example_keeps_team_and_channel() -> None:
    conv = conversation_from_item(
        _sample("conversation.email.rest-get-response.preview-spec-example.json")
    )
    assert conv.source.type == "email"
    assert (conv.admin_assignee_id, conv.team_assignee_id) == ("991267715", "5017691")
    assert conv.channel_initial == "messenger"
    assert conv.state == "closed" and conv.tags == ["Test tag"]
