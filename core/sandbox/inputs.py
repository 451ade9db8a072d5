"""Validation of every request body the sandbox accepts (marshmallow schemas).

Control-API schemas reject unknown fields; REST schemas ignore them, as Intercom does. Size limits
keep a hostile caller from filling memory: a body that breaks one gets a 400 and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from deskmate.core.sandbox.webhooks import MAX_DUPLICATE, MAX_RECEIVERS, TOPICS

MAX_MESSAGE = 50_000
MAX_ARTICLE = 200_000
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_TEXT = 2_000
DELIVERED_AS = (
    "customer_initiated", "campaigns_initiated", "operator_initiated", "automated",
    "admin_initiated",
)  # fmt: skip
LOCALE = validate.Regexp(r"^[a-z]{2}(-[A-Z]{2})?$", error="must be a locale like en or pt-BR")


class IdField(fields.Field):
    """An Intercom id sent as a string or an integer (the docs' examples do both)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValidationError("must be an id (a string or an integer)")
        text = str(value)
        if not 0 < len(text) <= 40:
            raise ValidationError("must be an id of 1 to 40 characters")
        return text


class AttributesField(fields.Field):
    """Custom attributes: at most 100 names, scalar values, texts of at most 2,000 characters."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict:
        if not isinstance(value, dict):
            raise ValidationError("must be an object of attribute names to values")
        if len(value) > MAX_ATTRIBUTES:
            raise ValidationError(f"must hold at most {MAX_ATTRIBUTES} attributes")
        for key, item in value.items():
            if not 0 < len(key) <= 190:
                raise ValidationError("attribute names must have 1 to 190 characters")
            if item is not None and not isinstance(item, str | int | float | bool):
                raise ValidationError(f"{key!r:.60}: values must be text, numbers or booleans")
            if isinstance(item, str) and len(item) > MAX_ATTRIBUTE_TEXT:
                raise ValidationError(f"{key!r:.60}: text longer than {MAX_ATTRIBUTE_TEXT}")
        return dict(value)


def _text(max_len: int, *, required: bool = False, min_len: int = 1, **kw: Any) -> fields.String:
    return fields.String(required=required, validate=validate.Length(min_len, max_len), **kw)


# control API ---------------------------------------------------------------------------------


class ContactIn(Schema):
    name = _text(200, required=True)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    custom_attributes = AttributesField(load_default=dict)
    role = fields.String(load_default="user", validate=validate.OneOf(("user", "lead")))
    browser_language = _text(20, load_default=None)
    external_id = _text(100, load_default=None)


class CompanyIn(Schema):
    name = _text(200, required=True)
    custom_attributes = AttributesField(load_default=dict)


class NewConversationIn(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(("messenger", "email")))
    body = _text(MAX_MESSAGE, required=True)
    subject = _text(500, min_len=0, load_default="")
    delivered_as = fields.String(load_default="customer_initiated",
                                 validate=validate.OneOf(DELIVERED_AS))  # fmt: skip
    contact = fields.Nested(ContactIn, required=True)
    company = fields.Nested(CompanyIn, load_default=None)


class CustomerReplyIn(Schema):
    body = _text(MAX_MESSAGE, required=True)


class AdminReplyIn(Schema):
    admin_id = IdField(required=True)
    body = _text(MAX_MESSAGE, required=True)
    message_type = fields.String(
        load_default="comment", validate=validate.OneOf(("comment", "note"))
    )


class AssignIn(Schema):
    admin_id = IdField(load_default=None)
    team_id = IdField(load_default=None)
    by_admin_id = IdField(load_default=None)

    @validates_schema
    def _one_target(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data["admin_id"] is None) == (data["team_id"] is None):
            raise ValidationError("give exactly one of admin_id or team_id", "admin_id")


class CloseIn(Schema):
    admin_id = IdField(load_default=None)
    body = _text(MAX_MESSAGE, load_default=None)


class TranslationIn(Schema):
    title = _text(500, required=True)
    body = _text(MAX_ARTICLE, required=True)


class ArticleIn(Schema):
    title = _text(500, required=True)
    body = _text(MAX_ARTICLE, required=True)
    state = fields.String(required=True, validate=validate.OneOf(("published", "draft")))
    locale = fields.String(load_default="en", validate=LOCALE)
    translations = fields.Dict(
        keys=fields.String(validate=LOCALE),
        values=fields.Nested(TranslationIn),
        load_default=dict,
        validate=validate.Length(max=40),
    )


class FaultStatus(fields.Field):
    """An HTTP error status (400-599), or ``0``/``"timeout"`` for a slow but successful answer."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if value == "timeout":
            return 0
        if type(value) is int and (value == 0 or 400 <= value <= 599):
            return value
        raise ValidationError('must be an HTTP status from 400 to 599, or 0 / "timeout"')


class FaultIn(Schema):
    status = FaultStatus(required=True)
    rate = fields.Float(required=True, validate=validate.Range(0, 1))
    latency_ms = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 60_000))
    paths = fields.List(_text(200), load_default=list, validate=validate.Length(max=20))
    seed = fields.Integer(strict=True, load_default=None)
    retry_after = fields.Integer(strict=True, load_default=None, validate=validate.Range(0, 3600))
    effect_first = fields.Boolean(load_default=False)

    @validates_schema
    def _retry_after_needs_an_error(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("retry_after") is not None and data.get("status") == 0:
            raise ValidationError("a timeout fault answers normally, with no Retry-After",
                                  "retry_after")  # fmt: skip


class WebhooksIn(Schema):
    duplicate = fields.Integer(
        strict=True, load_default=None, validate=validate.Range(1, MAX_DUPLICATE)
    )
    url = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"})
    urls = fields.List(
        fields.Url(require_tld=False, schemes={"http", "https"}),
        load_default=None,
        validate=validate.Length(min=1, max=MAX_RECEIVERS),
    )
    admin_webhooks = fields.Boolean(load_default=None)
    also_as = fields.Dict(
        keys=fields.String(validate=validate.OneOf(TOPICS)),
        values=fields.String(validate=validate.OneOf(TOPICS)),
        load_default=None,
    )


# REST API (Intercom's request shapes) ---------------------------------------------------------


class _Rest(Schema):
    class Meta:
        unknown = EXCLUDE


class ReplyRequest(_Rest):
    message_type = fields.String(required=True, validate=validate.OneOf(("comment", "note")))
    type = fields.String(required=True, validate=validate.OneOf(("admin", "user")))
    admin_id = IdField(load_default=None)
    intercom_user_id = IdField(load_default=None)
    body = _text(MAX_MESSAGE, required=True)

    @validates_schema
    def _author(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["type"] == "admin" and data["admin_id"] is None:
            raise ValidationError("admin_id is required for admin replies", "admin_id")
        if data["type"] == "user" and data["message_type"] != "comment":
            raise ValidationError("contacts can only send comments", "message_type")


class PartsRequest(_Rest):
    message_type = fields.String(
        required=True, validate=validate.OneOf(("assignment", "close", "open", "snoozed"))
    )
    admin_id = IdField(required=True)
    type = fields.String(load_default="admin", validate=validate.OneOf(("admin", "team")))
    assignee_id = IdField(load_default=None)
    body = _text(MAX_MESSAGE, load_default=None)
    snoozed_until = fields.Integer(strict=True, load_default=None)

    @validates_schema
    def _per_type(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["message_type"] == "assignment" and data["assignee_id"] is None:
            raise ValidationError("assignee_id is required for assignment", "assignee_id")
        if data["message_type"] == "snoozed" and data["snoozed_until"] is None:
            raise ValidationError("snoozed_until is required to snooze", "snoozed_until")


class UpdateConversationRequest(_Rest):
    custom_attributes = AttributesField(load_default=None)
    title = _text(500, min_len=0, load_default=None)
    read = fields.Boolean(load_default=None)


class AttachTagRequest(_Rest):
    id = IdField(required=True)
    admin_id = IdField(required=True)


class DetachTagRequest(_Rest):
    admin_id = IdField(required=True)


class TagRequest(_Rest):
    name = _text(190, required=True)
    id = IdField(load_default=None)


class Pagination(_Rest):
    per_page = fields.Integer(strict=True, load_default=None)
    starting_after = fields.String(load_default=None, validate=validate.Length(max=200))


class SearchRequest(_Rest):
    query = fields.Raw(required=True)
    pagination = fields.Nested(Pagination, load_default=dict)


def json_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object; ``None`` if it is not one (unreadable, not an object, or nested
    too deep to parse)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def first_error(messages: dict[str, Any] | list[Any]) -> tuple[str | None, str]:
    """The first field name and message of a marshmallow error, for Intercom's error body."""
    if isinstance(messages, list):
        return None, str(messages[0])
    field, detail = next(iter(messages.items()))
    if isinstance(detail, dict):
        sub, message = first_error(detail)
        return (f"{field}.{sub}" if sub else field), message
    field_name = None if field == "_schema" else field
    return field_name, str(detail[0] if isinstance(detail, list) else detail)
