"""Intercom webhook notifications → :class:`~deskmate.core.intercom.models.WebhookEvent`.

This module owns the *envelope* (``app_id``, notification ``id``, ``topic``, delivery counters,
timestamps) and the detection of the legacy API 1.x shape; the conversation item itself is parsed
by :func:`deskmate.core.intercom.parse.conversation_from_item`, shared with the REST client.

Two depths: :func:`parse_event` parses everything (the engine, when it runs the event);
:func:`parse_envelope` skips the conversation's parts, which is all the webhook intake needs to
route, store and delay an event, so the request path stays short. A part with a bad shape is then
found by the engine, which stores the event as unprocessable with the same reason.

Two kinds of failure, because the host answers them differently:

* :class:`MalformedNotification`: the body is not a JSON object naming an ``app_id``. Nothing can
  be routed or stored; the host answers 400.
* :class:`UnprocessableEvent` (and its :class:`LegacyPayload`): a routable notification whose shape
  deskmate does not understand. The host stores it as ``unprocessable`` with :attr:`reason`, so an
  operator sees it and can replay it once the cause is fixed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import marshmallow
from marshmallow import fields, validate

from deskmate.core.intercom.models import Conversation, WebhookEvent
from deskmate.core.intercom.parse import (
    ShapeError,
    conversation_from_item,
    parse_id,
    parse_timestamp,
)

WEBHOOK_PATH = "/webhooks/intercom"
"""Where deskmate receives Intercom's notifications (the URL to paste into the Developer Hub)."""

__all__ = [
    "ARTICLE_TOPICS",
    "CONVERSATION_TOPICS",
    "CUSTOMER_TOPICS",
    "LEGACY_REASON",
    "PING",
    "WEBHOOK_PATH",
    "LegacyPayload",
    "MalformedNotification",
    "UnprocessableEvent",
    "app_id_of",
    "check_text",
    "id_problem",
    "load_notification",
    "notification_key",
    "parse_envelope",
    "parse_event",
    "topic_of",
]

PING = "ping"
CONVERSATION_TOPICS = frozenset(
    {
        "conversation.user.created",
        "conversation.user.replied",
        "conversation.admin.replied",
        "conversation.admin.noted",
        "conversation.admin.assigned",
        "conversation.admin.open.assigned",
        "conversation.admin.closed",
        "conversation.admin.opened",
        "conversation.admin.snoozed",
        "conversation.admin.unsnoozed",
        "conversation.admin.single.created",
        "conversation.operator.replied",
    }
)
"""Topics that carry a conversation deskmate acts on or keeps as history; others are ignored."""

ARTICLE_TOPICS = frozenset(
    {
        "article.created",
        "article.published",
        "article.updated",
        "article.unpublished",
        "article.deleted",
    }
)
"""Help Center topics: stored without a conversation for the knowledge sync to apply."""

CUSTOMER_TOPICS = frozenset({"conversation.user.created", "conversation.user.replied"})
"""Topics that bring a customer's message: the ones a channel may delay and the AI may answer."""

LEGACY_REASON = (
    "this app is on API 1.x; set the app's webhook API version to 2.x in the Developer Hub"
)
_LEGACY_KEYS = ("user", "assignee", "conversation_message")
_MODERN_KEYS = ("source", "contacts", "admin_assignee_id")

# Column widths of the outbox: longer values are refused here, not by the database.
MAX_APP_ID = 64
MAX_NOTIFICATION_ID = 255
MAX_TOPIC = 128
MAX_ID = 64
"""Characters in the store's id columns: conversations, contacts, parts and authors."""

# A JSON "\uXXXX" escape of a surrogate. Half of a pair (an emoji) is fine, a lone one decodes to
# a string no text column can store: check_text tells them apart only when this matches, which
# keeps the common body at one cheap search.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class MalformedNotification(ValueError):
    """The body is not an Intercom notification at all (not JSON, no ``app_id``)."""


class UnprocessableEvent(ValueError):
    """A routable notification with a shape deskmate does not understand; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LegacyPayload(UnprocessableEvent):
    """A notification in the API 1.x shape, which deskmate does not process."""

    def __init__(self) -> None:
        super().__init__(LEGACY_REASON)


def is_text(value: str) -> bool:
    """Whether ``value`` can be stored as text: no NUL, and no lone surrogate (which UTF-8 can't
    encode)."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def id_problem(value: str, limit: int) -> str | None:
    """Why ``value`` can't be an id kept in a column of ``limit`` characters; ``None`` if it can."""
    if not value.strip():
        return "is blank"
    if len(value) > limit:
        return f"is {len(value)} characters long; the limit is {limit}"
    if not is_text(value):
        return "is not text (it holds a NUL or a lone surrogate)"
    return None


def _text_id(value: str) -> None:
    """marshmallow validator: a non-blank id that can be stored as text."""
    if not value.strip() or not is_text(value):
        raise marshmallow.ValidationError("must be non-blank text")


class _EnvelopeSchema(marshmallow.Schema):
    """The notification envelope; unknown keys (``links``, ``self``, …) are dropped."""

    class Meta:
        unknown = marshmallow.EXCLUDE

    type = fields.String(load_default=None, validate=validate.Equal("notification_event"))
    app_id = fields.String(required=True, validate=[validate.Length(1, MAX_APP_ID), _text_id])
    id = fields.String(
        required=True,
        allow_none=True,
        validate=[validate.Length(1, MAX_NOTIFICATION_ID), _text_id],
    )
    topic = fields.String(required=True, validate=[validate.Length(1, MAX_TOPIC), _text_id])
    delivery_attempts = fields.Integer(load_default=1, allow_none=True, strict=True)
    first_sent_at = fields.Raw(load_default=None, allow_none=True)
    created_at = fields.Raw(load_default=None, allow_none=True)
    data = fields.Dict(required=True)


_ENVELOPE = _EnvelopeSchema()


def load_notification(raw: bytes) -> dict[str, Any]:
    """Decode a request body into the notification object; :class:`MalformedNotification` if
    it is not UTF-8 JSON, not an object, or names no ``app_id``."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise MalformedNotification("the body is not UTF-8 text") from None
    except (ValueError, RecursionError):
        raise MalformedNotification("the body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise MalformedNotification("the body is JSON but not an object")
    app_id_of(doc)
    return doc


def app_id_of(doc: Mapping[str, Any]) -> str:
    """The workspace (app) id a notification is routed on."""
    app_id = doc.get("app_id")
    if not _short_text(app_id, MAX_APP_ID):
        raise MalformedNotification("the notification has no app_id string")
    return app_id


def topic_of(doc: Mapping[str, Any]) -> str:
    """The notification's topic, or ``"unknown"`` when it is missing or not a short string."""
    topic = doc.get("topic")
    return topic if _short_text(topic, MAX_TOPIC) else "unknown"


def notification_key(doc: Mapping[str, Any], raw: bytes) -> str:
    """The key the outbox is unique on: the notification id, or a digest of the body without one.

    The digest keeps an unprocessable body stored once however often it is delivered.
    """
    notification_id = doc.get("id")
    if _short_text(notification_id, MAX_NOTIFICATION_ID):
        return notification_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def check_text(raw: bytes | str, doc: Any) -> None:
    """Raise :class:`UnprocessableEvent` when the notification ``doc`` (parsed from ``raw``)
    holds a lone surrogate anywhere: no text column can store it, so nothing would ever settle.

    ``raw`` is scanned for a surrogate escape first, so the common body costs one search.
    """
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if _SURROGATE_ESCAPE.search(data) is None:
        return
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        found = exc.object[exc.start : exc.end]
        raise UnprocessableEvent(
            f"unexpected text: a lone surrogate ({found!r}) is not text"
        ) from None
    except RecursionError:
        raise UnprocessableEvent("unexpected text: nested too deep to check") from None


def parse_event(doc: Mapping[str, Any]) -> WebhookEvent:
    """Parse a notification object into a :class:`WebhookEvent`.

    Conversation topics get their item parsed into ``event.conversation``; other topics keep the
    raw item only. Raises :class:`UnprocessableEvent` (or :class:`LegacyPayload`) with a reason.
    """
    event = _event(doc)
    if event.topic in CONVERSATION_TOPICS:
        conversation = _conversation(event.item)
        _check_ids(_conversation_ids(conversation, _parsed_part_ids(conversation)))
        event.conversation = conversation
    return event


def parse_envelope(doc: Mapping[str, Any]) -> WebhookEvent:
    """Like :func:`parse_event`, but ``event.conversation`` comes without its parts.

    Everything else is parsed and checked as :func:`parse_event` does (the envelope, the
    conversation's id, source, channel, assignees, contacts, tags, and every id the store keeps,
    the parts' ids and authors' ids included), so an event this accepts fails
    :func:`parse_event` only for a bad shape in ``conversation_parts``.
    """
    event = _event(doc)
    if event.topic in CONVERSATION_TOPICS:
        head = dict(event.item)
        parts = head.pop("conversation_parts", None)
        conversation = _conversation(head)
        _check_ids(_conversation_ids(conversation, _raw_part_ids(parts)))
        event.conversation = conversation
    return event


def _event(doc: Mapping[str, Any]) -> WebhookEvent:
    """The envelope as a :class:`WebhookEvent` with its raw item and no conversation yet."""
    envelope = _plain_envelope(doc) or _checked_envelope(doc)
    topic = envelope["topic"]
    item = envelope["data"].get("item")
    if not isinstance(item, dict):
        raise UnprocessableEvent("unexpected envelope: data.item is not an object")
    if envelope["id"] is None and topic != PING:
        raise UnprocessableEvent("unexpected envelope: id is null on a non-ping notification")
    return WebhookEvent(
        id=envelope["id"],
        topic=topic,
        app_id=envelope["app_id"],
        delivery_attempts=envelope["delivery_attempts"] or 1,
        first_sent_at=_timestamp(envelope["first_sent_at"], "first_sent_at"),
        created_at=_timestamp(envelope["created_at"], "created_at"),
        item=item,
    )


def _checked_envelope(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope through :class:`_EnvelopeSchema`, which names what is wrong."""
    try:
        return _ENVELOPE.load(doc)
    except marshmallow.ValidationError as exc:
        raise UnprocessableEvent(f"unexpected envelope: {_describe(exc.messages)}") from None


def _plain_envelope(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """The envelope fields when every one has the plain shape Intercom sends, else ``None``.

    A shortcut for :class:`_EnvelopeSchema` (a tenth of its cost): it accepts only values the
    schema accepts unchanged, and leaves everything else to the schema's verdict and reason.
    """
    get = doc.get
    fields_ = {
        "type": get("type"),
        "app_id": get("app_id"),
        "id": get("id"),
        "topic": get("topic"),
        "delivery_attempts": get("delivery_attempts", 1),
        "first_sent_at": get("first_sent_at"),
        "created_at": get("created_at"),
        "data": get("data"),
    }
    plain = (
        fields_["type"] in (None, "notification_event")
        and _short_text(fields_["app_id"], MAX_APP_ID)
        and "id" in doc
        and (fields_["id"] is None or _short_text(fields_["id"], MAX_NOTIFICATION_ID))
        and _short_text(fields_["topic"], MAX_TOPIC)
        and (fields_["delivery_attempts"] is None or type(fields_["delivery_attempts"]) is int)
        and type(fields_["data"]) is dict
    )
    return fields_ if plain else None


def _short_text(value: Any, limit: int) -> bool:
    return type(value) is str and 0 < len(value) <= limit and bool(value.strip()) and is_text(value)


def _conversation(item: dict[str, Any]) -> Conversation:
    if _is_legacy(item):
        raise LegacyPayload()
    try:
        conversation = conversation_from_item(item)
    except ShapeError as exc:
        raise UnprocessableEvent(f"unexpected conversation: {exc}") from None
    return conversation


_Ids = Iterator[tuple[str, str | None]]


def _conversation_ids(conversation: Conversation, part_ids: _Ids) -> _Ids:
    """Every id the engine stores from the conversation, with where it is, parts last."""
    yield "id", conversation.id
    yield "source.id", conversation.source.id
    yield "source.author.id", conversation.source.author.id
    for index, contact_id in enumerate(conversation.contact_ids):
        yield f"contacts[{index}].id", contact_id
    yield from part_ids


def _parsed_part_ids(conversation: Conversation) -> _Ids:
    for index, part in enumerate(conversation.parts):
        yield f"conversation_parts[{index}].id", part.id
        yield f"conversation_parts[{index}].author.id", part.author.id


def _raw_part_ids(container: Any) -> _Ids:
    """The parts' ids as the full parse reads them, without parsing the parts; a part of the
    wrong shape is skipped here (the full parse names it)."""
    raw = container.get("conversation_parts") if isinstance(container, dict) else None
    for index, part in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(part, dict):
            continue
        author = part.get("author")
        for where, value in (
            (f"conversation_parts[{index}].id", part.get("id")),
            (
                f"conversation_parts[{index}].author.id",
                author.get("id") if isinstance(author, dict) else None,
            ),
        ):
            try:
                yield where, parse_id(value, where)
            except ShapeError:
                continue


def _check_ids(ids: _Ids) -> None:
    """Refuse an id the store could not keep (blank, too long, not text), naming it."""
    for where, value in ids:
        problem = None if value is None else id_problem(value, MAX_ID)
        if problem is not None:
            raise UnprocessableEvent(f"unexpected conversation: {where} {problem}")


def _is_legacy(item: Mapping[str, Any]) -> bool:
    """The 1.x shape names the contact ``user`` and the first message ``conversation_message``."""
    return any(k in item for k in _LEGACY_KEYS) and not any(k in item for k in _MODERN_KEYS)


def _timestamp(value: Any, where: str) -> datetime | None:
    try:
        return parse_timestamp(value, where)
    except ShapeError as exc:
        raise UnprocessableEvent(f"unexpected envelope: {exc}") from None


def _describe(messages: Any) -> str:
    """marshmallow's error dict as one short line: ``field: problem; field: problem``."""
    if not isinstance(messages, dict):
        return str(messages)[:200]
    parts = []
    for field_name, problems in sorted(messages.items()):
        text = problems[0] if isinstance(problems, list) and problems else problems
        parts.append(f"{field_name}: {text}")
    return "; ".join(parts)[:300]
