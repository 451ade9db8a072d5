"""The sandbox's in-memory records: what a fake Intercom workspace holds.

Records keep only what the sandbox needs; ``shapes`` turns them into Intercom's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Admin:
    """A teammate. ``id`` is a string; its team ids are integers, as in Intercom."""

    id: str
    name: str
    email: str
    job_title: str = ""
    team_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Team:
    """A team of admins that conversations can be assigned to."""

    id: str
    name: str
    admin_ids: list[int] = field(default_factory=list)
    assignment_limit: int | None = None
    distribution_method: str | None = None


@dataclass(slots=True)
class Company:
    """A company attached to contacts; its custom attributes enrich deskmate's context."""

    id: str
    name: str
    created_at: int
    custom_attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Contact:
    """A customer (``user``) or visitor (``lead``)."""

    id: str
    name: str | None
    email: str | None
    created_at: int
    role: str = "user"
    external_id: str | None = None
    browser_language: str | None = None
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    company_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Author:
    """Who wrote a part: ``type`` is user, lead, admin or bot."""

    type: str
    id: str
    name: str | None
    email: str | None

    @classmethod
    def of_contact(cls, contact: Contact) -> Author:
        return cls(contact.role, contact.id, contact.name, contact.email)

    @classmethod
    def of_admin(cls, admin: Admin) -> Author:
        return cls("admin", admin.id, admin.name, admin.email)


@dataclass(slots=True)
class Part:
    """One conversation part; ``app_package_code`` is set when it was created through the API."""

    id: str
    part_type: str
    body: str | None
    author: Author
    created_at: int
    state: str
    assigned_to: dict[str, str] | None = None
    app_package_code: str | None = None


@dataclass(slots=True)
class Source:
    """The opening message, kept outside the parts as Intercom does."""

    id: str
    type: str
    delivered_as: str
    subject: str
    body: str
    author: Author
    url: str | None = None


@dataclass(slots=True)
class AppliedTag:
    """A tag on a conversation, with who applied it and when."""

    tag_id: str
    applied_at: int
    applied_by: str


@dataclass(slots=True)
class Conversation:
    """A conversation; ``admin_assignee_id``/``team_assignee_id`` are ``None`` when unassigned."""

    id: str
    created_at: int
    updated_at: int
    source: Source
    contact_ids: list[str]
    state: str = "open"
    read: bool = False
    title: str | None = None
    priority: bool = False
    admin_assignee_id: str | None = None
    team_assignee_id: str | None = None
    waiting_since: int | None = None
    snoozed_until: int | None = None
    tags: list[AppliedTag] = field(default_factory=list)
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    parts: list[Part] = field(default_factory=list)
    count_assignments: int = 0
    count_reopens: int = 0
    last_admin_reply_at: int | None = None
    last_contact_reply_at: int | None = None
    last_close_at: int | None = None
    last_closed_by_id: str | None = None


@dataclass(slots=True)
class Tag:
    """A workspace tag; names are unique, compared case-insensitively."""

    id: str
    name: str


@dataclass(slots=True)
class ArticleContent:
    """An article's text in one locale."""

    title: str
    body: str
    description: str = ""


@dataclass(slots=True)
class Article:
    """A Help Center article; ``contents`` maps locale to text, the default locale included."""

    id: str
    state: str
    author_id: int
    created_at: int
    updated_at: int
    default_locale: str
    contents: dict[str, ArticleContent]

    @property
    def default(self) -> ArticleContent:
        return self.contents[self.default_locale]
