"""Intercom's objects as deskmate sees them, independent of the API version that sent them.

``deskmate.core.intercom.webhooks`` builds these from webhook envelopes and
``deskmate.core.intercom.client`` from REST responses, so the engine and the plugins never read
raw Intercom JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deskmate.core.domain import Attachment, Author


@dataclass
class Part:
    """One conversation part: a comment, a note, an assignment, a close…"""

    id: str
    part_type: str
    body: str
    author: Author
    created_at: datetime | None = None
    attachments: list[Attachment] = field(default_factory=list)
    assigned_to: dict[str, Any] | None = None
    app_package_code: str | None = None


@dataclass
class Source:
    """The message that opened the conversation (Intercom keeps it outside the parts)."""

    id: str
    type: str
    delivered_as: str | None
    body: str
    author: Author
    subject: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    url: str | None = None


@dataclass
class Conversation:
    """A conversation with the parts Intercom sent (all of them on GET, only new ones in webhooks).

    ``admin_assignee_id`` is ``None`` when unassigned, whatever the API version sent (null or 0).
    """

    id: str
    source: Source
    contact_ids: list[str] = field(default_factory=list)
    admin_assignee_id: str | None = None
    team_assignee_id: str | None = None
    state: str = "open"
    parts: list[Part] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    channel_initial: str | None = None


@dataclass
class WebhookEvent:
    """One notification from Intercom, parsed.

    ``conversation`` is ``None`` for topics that carry no conversation (``ping``, articles…);
    ``item`` keeps the raw item for those topics.
    """

    id: str | None
    topic: str
    app_id: str
    delivery_attempts: int = 1
    first_sent_at: datetime | None = None
    created_at: datetime | None = None
    conversation: Conversation | None = None
    item: dict[str, Any] = field(default_factory=dict)
