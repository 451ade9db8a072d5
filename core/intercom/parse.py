"""Intercom conversation JSON → :mod:`deskmate.core.intercom.models`, for every API version we meet.

One parser serves both the REST client (``GET /conversations/{id}``, search and list results) and
the webhook parser (``data.item`` of a notification), so the engine sees one shape whatever sent it.

Tolerated differences between API versions (1.x legacy webhooks, 2.11 to 2.16):

* unassigned is ``null`` (≤ 2.15), ``0`` (2.16) or ``"0"``; all become ``None``;
* ids arrive as strings or integers; all become strings;
* bodies are HTML (REST) or plain text (2.15+ webhooks); they are kept as received, and the
  channel plugin that owns the message normalises them;
* timestamps are unix seconds (int, float or numeric string) or ISO-8601 strings;
* the 1.x webhook shape (``user`` / ``assignee`` / ``conversation_message``) instead of
  ``contacts`` / ``admin_assignee_id`` / ``source``; its first message becomes a Messenger
  source (``type="conversation"``), ``customer_initiated`` when a user or lead wrote it, since
  1.x has no ``delivered_as``.

The rule for bad input: a field that is missing or ``null`` gets its default; a field that is
present with the wrong type raises :class:`ShapeError`, which says which field and why, so the
caller can store the event as unprocessable instead of acting on a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from deskmate.core.domain import Attachment, Author
from deskmate.core.intercom.models import Conversation, Part, Source

__all__ = [
    "ShapeError",
    "conversation_from_item",
    "parse_assignee",
    "parse_attachments",
    "parse_author",
    "parse_id",
    "parse_part",
    "parse_source",
    "parse_timestamp",
]

_UNASSIGNED = {"", "0"}
_MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z


class ShapeError(ValueError):
    """Intercom JSON that does not have the shape deskmate expects; the message names the field."""


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` as a mapping; ``None`` becomes empty, anything else that is no object fails."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ShapeError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ShapeError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _text(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ShapeError(f"{where}: expected a string, got {type(value).__name__}")


def parse_id(value: Any, where: str = "id") -> str | None:
    """An Intercom id (string or integer) as a string; ``None`` when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ShapeError(f"{where}: expected a string or integer id, got {type(value).__name__}")
    return str(value)


def _required_id(item: Mapping[str, Any], key: str, where: str) -> str:
    value = parse_id(item.get(key), f"{where}.{key}")
    if not value:
        raise ShapeError(f"{where}.{key}: missing")
    return value


def parse_assignee(value: Any, where: str = "assignee_id") -> str | None:
    """An admin or team assignee id; ``None`` for unassigned, sent as null, ``0`` or ``"0"``."""
    parsed = parse_id(value, where)
    return None if parsed is None or parsed.strip() in _UNASSIGNED else parsed


def parse_timestamp(value: Any, where: str = "timestamp") -> datetime | None:
    """A UTC datetime from unix seconds (number or numeric string) or ISO-8601; ``None`` if unset.

    ``0`` and ``""`` mean "not set" (Intercom sends ``delivered_at: 0``).
    """
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, bool):
        raise ShapeError(f"{where}: expected a timestamp, got bool")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return _iso(value, where)
    if not isinstance(value, int | float):
        raise ShapeError(f"{where}: expected a timestamp, got {type(value).__name__}")
    if not 0 < value <= _MAX_TIMESTAMP:
        raise ShapeError(f"{where}: timestamp {value!r} is out of range")
    return datetime.fromtimestamp(value, tz=UTC)


def _iso(value: str, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ShapeError(f"{where}: {value[:40]!r} is neither unix seconds nor ISO-8601") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_author(value: Any, where: str = "author") -> Author:
    """An author object; a missing author becomes ``Author("unknown")``."""
    data = _mapping(value, where)
    return Author(
        type=_text(data.get("type"), f"{where}.type") or "unknown",
        id=parse_id(data.get("id"), f"{where}.id"),
        name=_text(data.get("name"), f"{where}.name"),
        email=_text(data.get("email"), f"{where}.email") or None,
    )


def parse_attachments(value: Any, where: str = "attachments") -> list[Attachment]:
    """Attachment objects (``{type, name, url, content_type, filesize}``); ones without a URL
    are dropped, since there is nothing to fetch."""
    attachments = []
    for index, raw in enumerate(_list(value, where)):
        data = _mapping(raw, f"{where}[{index}]")
        url = _text(data.get("url"), f"{where}[{index}].url")
        if not url:
            continue
        size = data.get("filesize")
        attachments.append(
            Attachment(
                url=url,
                name=_text(data.get("name"), f"{where}[{index}].name"),
                content_type=_text(data.get("content_type"), f"{where}[{index}].content_type"),
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            )
        )
    return attachments


def parse_source(value: Any, where: str = "source") -> Source:
    """The conversation's first message (``source``, or ``conversation_message`` in 1.x)."""
    data = _mapping(value, where)
    if not data:
        raise ShapeError(f"{where}: missing")
    return Source(
        id=_required_id(data, "id", where),
        type=_text(data.get("type"), f"{where}.type") or "conversation",
        delivered_as=_text(data.get("delivered_as"), f"{where}.delivered_as"),
        body=_text(data.get("body"), f"{where}.body") or "",
        author=parse_author(data.get("author"), f"{where}.author"),
        subject=_text(data.get("subject"), f"{where}.subject") or None,
        attachments=parse_attachments(data.get("attachments"), f"{where}.attachments"),
        url=_text(data.get("url"), f"{where}.url") or None,
    )


def parse_part(value: Any, where: str = "part") -> Part:
    """One ``conversation_part``."""
    data = _mapping(value, where)
    part_type = _text(data.get("part_type"), f"{where}.part_type")
    if not part_type:
        raise ShapeError(f"{where}.part_type: missing")
    assigned_to = data.get("assigned_to")
    return Part(
        id=_required_id(data, "id", where),
        part_type=part_type,
        body=_text(data.get("body"), f"{where}.body") or "",
        author=parse_author(data.get("author"), f"{where}.author"),
        created_at=parse_timestamp(data.get("created_at"), f"{where}.created_at"),
        attachments=parse_attachments(data.get("attachments"), f"{where}.attachments"),
        assigned_to=dict(_mapping(assigned_to, f"{where}.assigned_to")) or None,
        app_package_code=_text(data.get("app_package_code"), f"{where}.app_package_code"),
    )


def _source(item: Mapping[str, Any]) -> Source:
    if "source" in item or "conversation_message" not in item:
        return parse_source(item.get("source"))
    legacy = parse_source(item["conversation_message"], "conversation_message")
    legacy.type = "conversation"
    if legacy.delivered_as is None and legacy.author.is_customer:
        legacy.delivered_as = "customer_initiated"
    return legacy


def _parts(item: Mapping[str, Any]) -> list[Part]:
    container = _mapping(item.get("conversation_parts"), "conversation_parts")
    raw = _list(container.get("conversation_parts"), "conversation_parts.conversation_parts")
    return [parse_part(p, f"conversation_parts[{i}]") for i, p in enumerate(raw)]


def _tag_names(item: Mapping[str, Any]) -> list[str]:
    tags = item.get("tags")
    raw = tags if isinstance(tags, list) else _mapping(tags, "tags").get("tags")
    names = []
    for index, tag in enumerate(_list(raw, "tags.tags")):
        name = _text(_mapping(tag, f"tags[{index}]").get("name"), f"tags[{index}].name")
        if name:
            names.append(name)
    return names


def _contact_ids(item: Mapping[str, Any]) -> list[str]:
    if "contacts" not in item and "user" in item:  # 1.x shape
        legacy = parse_id(_mapping(item["user"], "user").get("id"), "user.id")
        return [legacy] if legacy else []
    container = _mapping(item.get("contacts"), "contacts")
    ids = []
    for index, raw in enumerate(_list(container.get("contacts"), "contacts.contacts")):
        contact_id = parse_id(
            _mapping(raw, f"contacts[{index}]").get("id"), f"contacts[{index}].id"
        )
        if contact_id:
            ids.append(contact_id)
    return ids


def _assignees(item: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(admin, team) assignee ids; the 1.x shape has one ``assignee`` object instead."""
    if "admin_assignee_id" not in item and "assignee" in item:
        assignee = _mapping(item["assignee"], "assignee")
        assignee_id = parse_assignee(assignee.get("id"), "assignee.id")
        if assignee.get("type") == "team":
            return None, assignee_id
        return (assignee_id if assignee.get("type") == "admin" else None), None
    return (
        parse_assignee(item.get("admin_assignee_id"), "admin_assignee_id"),
        parse_assignee(item.get("team_assignee_id"), "team_assignee_id"),
    )


def _state(item: Mapping[str, Any]) -> str:
    state = _text(item.get("state"), "state")
    if state:
        return state
    is_open = item.get("open")
    return "closed" if is_open is False else "open"


def conversation_from_item(item: Any) -> Conversation:
    """Build a :class:`Conversation` from a conversation object (REST body or webhook item).

    Raises :class:`ShapeError` when the object is not a conversation or a field has the wrong type.
    """
    data = _mapping(item, "conversation")
    kind = data.get("type")
    if kind not in (None, "conversation"):
        raise ShapeError(f"conversation.type: expected 'conversation', got {str(kind)[:40]!r}")
    admin_id, team_id = _assignees(data)
    channel = _mapping(data.get("channel"), "channel")
    return Conversation(
        id=_required_id(data, "id", "conversation"),
        source=_source(data),
        contact_ids=_contact_ids(data),
        admin_assignee_id=admin_id,
        team_assignee_id=team_id,
        state=_state(data),
        parts=_parts(data),
        tags=_tag_names(data),
        custom_attributes=dict(_mapping(data.get("custom_attributes"), "custom_attributes")),
        created_at=parse_timestamp(data.get("created_at"), "created_at"),
        updated_at=parse_timestamp(data.get("updated_at"), "updated_at"),
        channel_initial=_text(channel.get("initial"), "channel.initial"),
    )
