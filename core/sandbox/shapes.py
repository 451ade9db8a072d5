"""Intercom's JSON shapes, built from the sandbox's records.

REST answers follow the request's ``Intercom-Version``: from 2.16 on, "unassigned" is ``0`` and
priority is ``none``/``priority``-less; before it, ``null`` and ``not_priority``. Webhook items
follow the real 2.x captures: ``null`` when unassigned, ISO-8601 statistics, ``teammates.admins``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from deskmate.core.sandbox.records import (
    Admin,
    Article,
    Author,
    Company,
    Contact,
    Conversation,
    Part,
    Source,
    Tag,
    Team,
)
from deskmate.core.sandbox.text import html_to_plain

MAX_PARTS = 500  # Intercom returns at most the 500 most recent parts.
_NULL_UNSPECIFIED = ("conversation_rating", "sla_applied", "ai_agent")


@dataclass(frozen=True)
class View:
    """How to render: plain-text bodies, the 2.16 conventions, or the webhook item's quirks."""

    plaintext: bool = False
    v216: bool = False
    webhook: bool = False


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """Intercom's ``error.list`` body."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"type": "error.list", "request_id": str(uuid.uuid4()), "errors": [error]}


def admin(record: Admin) -> dict[str, Any]:
    return {
        "type": "admin",
        "id": record.id,
        "name": record.name,
        "email": record.email,
        "job_title": record.job_title,
        "away_mode_enabled": False,
        "away_mode_reassign": False,
        "has_inbox_seat": True,
        "team_ids": list(record.team_ids),
        "avatar": None,
    }


def me(record: Admin, app: Mapping[str, Any], app_id: str) -> dict[str, Any]:
    """``GET /me``: the token's admin with the embedded workspace."""
    body = admin(record)
    body["email_verified"] = True
    body["avatar"] = {"type": "avatar", "image_url": None}
    body["app"] = {
        "type": "app",
        "id_code": app_id,
        "name": app["name"],
        "created_at": app["created_at"],
        "secure": False,
        "identity_verification": False,
        "timezone": app["timezone"],
        "region": app["region"],
    }
    return body


def team(record: Team) -> dict[str, Any]:
    return {
        "type": "team",
        "id": record.id,
        "name": record.name,
        "admin_ids": list(record.admin_ids),
        "assignment_limit": record.assignment_limit,
        "distribution_method": record.distribution_method,
    }


def tag(
    record: Tag, applied_at: int | None = None, applied_by: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "tag", "id": record.id, "name": record.name}
    if applied_at is not None:
        body["applied_at"] = applied_at
        body["applied_by"] = {"type": "admin", "id": applied_by}
    return body


def _body(text: str | None, view: View) -> str | None:
    return html_to_plain(text) if (text is not None and view.plaintext) else text


def _author(record: Author, *, part: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"type": record.type, "id": record.id, "name": record.name}
    body["email"] = record.email or ""
    if part:
        body["from_ai_agent"] = False
        body["is_ai_answer"] = False
    return body


def _drop_nulls(body: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Leave out null fields that the OpenAPI spec cannot express as null (real REST answers
    carry them as null; clients must read absent and null alike)."""
    for key in keys:
        if body.get(key, 0) is None:
            del body[key]
    return body


def part(record: Part, view: View) -> dict[str, Any]:
    body = {
        "type": "conversation_part",
        "id": record.id,
        "part_type": record.part_type,
        "body": _body(record.body, view),
        "created_at": record.created_at,
        "updated_at": record.created_at,
        "notified_at": record.created_at,
        "assigned_to": record.assigned_to,
        "author": _author(record.author, part=True),
        "attachments": [],
        "external_id": None,
        "redacted": False,
        "metadata": {},
        "email_message_metadata": None,
        "state": record.state,
        "tags": [],
        "event_details": {},
        "app_package_code": record.app_package_code,
    }
    return body if view.webhook else _drop_nulls(body, ("assigned_to", "email_message_metadata"))


def source(record: Source, view: View) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": record.type,
        "id": record.id,
        "delivered_as": record.delivered_as,
        "subject": _body(record.subject, view) or "",
        "body": _body(record.body, view),
        "author": _author(record.author, part=False),
        "attachments": [],
        "url": record.url,
        "redacted": False,
    }
    if record.type == "email":
        body["recipients"] = []
        body["reply_to"] = []
    return body


def _time(value: int | None, view: View) -> int | str | None:
    if value is None or not view.webhook:
        return value
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _statistics(conv: Conversation, view: View) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "type": "conversation_statistics",
        "first_contact_reply_at": _time(conv.created_at, view),
        "last_contact_reply_at": _time(conv.last_contact_reply_at, view),
        "last_admin_reply_at": _time(conv.last_admin_reply_at, view),
        "last_close_at": _time(conv.last_close_at, view),
        "last_closed_by_id": conv.last_closed_by_id,
        "count_reopens": conv.count_reopens,
        "count_assignments": conv.count_assignments,
        "count_conversation_parts": len(conv.parts) + 1,
    }
    if view.webhook:
        return stats
    return {key: value for key, value in stats.items() if value is not None}


def _assignee(value: str | None, view: View) -> int | None:
    if value is None:
        return 0 if view.v216 else None
    return int(value)


def _teammates(conv: Conversation, view: View) -> dict[str, Any]:
    ids = dict.fromkeys(p.author.id for p in conv.parts if p.author.type == "admin")
    refs = [{"type": "admin", "id": admin_id} for admin_id in ids]
    key = "admins" if view.webhook else "teammates"
    return {"type": "admin.list", key: refs}


def conversation(
    conv: Conversation,
    tags: Mapping[str, Tag],
    contacts: Mapping[str, Contact],
    view: View,
    parts: Sequence[Part] | Literal["all"] | None = "all",
) -> dict[str, Any]:
    """A conversation with ``parts``: ``"all"`` (the newest 500), those given (a webhook's new
    parts), or ``None`` for no part list (search and list results)."""
    body: dict[str, Any] = {
        "type": "conversation",
        "id": conv.id,
        "title": conv.title,
        "created_at": conv.created_at,
        "updated_at": conv.updated_at,
        "waiting_since": conv.waiting_since,
        "snoozed_until": conv.snoozed_until,
        "open": conv.state == "open",
        "state": conv.state,
        "read": conv.read,
        "priority": _priority(conv.priority, view),
        "admin_assignee_id": _assignee(conv.admin_assignee_id, view),
        "team_assignee_id": _assignee(conv.team_assignee_id, view),
        "tags": {
            "type": "tag.list",
            "tags": [tag(tags[t.tag_id], t.applied_at, t.applied_by) for t in conv.tags],
        },
        "conversation_rating": None,
        "source": source(conv.source, view),
        "contacts": {
            "type": "contact.list",
            "contacts": [
                {"type": "contact", "id": cid, "external_id": contacts[cid].external_id}
                for cid in conv.contact_ids
            ],
        },
        "teammates": _teammates(conv, view),
        "custom_attributes": dict(conv.custom_attributes),
        "first_contact_reply": {
            "created_at": conv.created_at,
            "type": conv.source.type,
            "url": conv.source.url,
        },
        "sla_applied": None,
        "statistics": _statistics(conv, view),
        "ai_agent_participated": False,
        "ai_agent": None,
    }
    if not view.webhook:
        _drop_nulls(body, _NULL_UNSPECIFIED)
    if parts is not None:
        chosen = conv.parts[-MAX_PARTS:] if parts == "all" else list(parts)
        body["conversation_parts"] = {
            "type": "conversation_part.list",
            "conversation_parts": [part(p, view) for p in chosen],
            "total_count": len(chosen),
        }
    return body


def _priority(flag: bool, view: View) -> str:
    if view.v216:
        return "high" if flag else "none"
    return "priority" if flag else "not_priority"


def company(record: Company, app_id: str) -> dict[str, Any]:
    return {
        "type": "company",
        "id": record.id,
        "name": record.name,
        "app_id": app_id,
        "company_id": record.id,
        "created_at": record.created_at,
        "updated_at": record.created_at,
        "remote_created_at": record.created_at,
        "last_request_at": record.created_at,
        "monthly_spend": 0,
        "session_count": 0,
        "user_count": 1,
        "size": 0,
        "custom_attributes": dict(record.custom_attributes),
        "tags": {"type": "tag.list", "tags": []},
        "segments": {"type": "segment.list", "segments": []},
    }


def _addressable(url: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "list",
        "data": items,
        "url": url,
        "total_count": len(items),
        "has_more": False,
    }


def contact(record: Contact, app_id: str) -> dict[str, Any]:
    """``GET /contacts/{id}``; ``companies`` is the summary list (at most 10, like Intercom)."""
    url = f"/contacts/{record.id}"
    email = record.email or ""
    return {
        "type": "contact",
        "id": record.id,
        "external_id": record.external_id,
        "workspace_id": app_id,
        "role": record.role,
        "email": email,
        "email_domain": email.partition("@")[2],
        "phone": None,
        "name": record.name,
        "owner_id": None,
        "has_hard_bounced": False,
        "marked_email_as_spam": False,
        "unsubscribed_from_emails": False,
        "created_at": record.created_at,
        "updated_at": record.created_at,
        "signed_up_at": record.created_at if record.role == "user" else None,
        "last_seen_at": record.created_at,
        "last_replied_at": None,
        "last_contacted_at": None,
        "language_override": None,
        "browser_language": record.browser_language,
        "custom_attributes": dict(record.custom_attributes),
        "avatar": None,
        "tags": _addressable(f"{url}/tags", []),
        "notes": _addressable(f"{url}/notes", []),
        "companies": {
            **_addressable(
                f"{url}/companies",
                [
                    {"type": "company", "id": cid, "url": f"/companies/{cid}"}
                    for cid in record.company_ids[:10]
                ],
            ),
            "total_count": len(record.company_ids),
            "has_more": len(record.company_ids) > 10,
        },
        "location": {"type": "location", "country": None, "region": None, "city": None},
        "social_profiles": {"type": "list", "data": []},
    }


def _article_content(article: Article, locale: str, workspace_url: str) -> dict[str, Any]:
    content = article.contents[locale]
    return {
        "type": "article_content",
        "title": content.title,
        "description": content.description,
        "body": content.body,
        "author_id": article.author_id,
        "state": article.state,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
        "url": f"{workspace_url}/{locale}/articles/{article.id}",
    }


def article(record: Article, app_id: str) -> dict[str, Any]:
    """An article in its default locale; ``translated_content`` holds every locale."""
    workspace_url = f"https://help.example.com/{app_id}"
    default = record.default
    translated: dict[str, Any] = {"type": "article_translated_content"}
    for locale in record.contents:
        translated[locale] = _article_content(record, locale, workspace_url)
    return {
        "type": "article",
        "id": record.id,
        "workspace_id": app_id,
        "title": default.title,
        "description": default.description,
        "body": default.body,
        "author_id": record.author_id,
        "state": record.state,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "url": f"{workspace_url}/{record.default_locale}/articles/{record.id}",
        "parent_ids": [],
        "default_locale": record.default_locale,
        "translated_content": translated,
        "tags": {"type": "tag.list", "tags": []},
    }
