"""The sandbox workspace's in-memory state, guarded by one re-entrant lock.

Every change that Intercom would announce calls the listener with the webhook topic and the
conversation item (holding only the new parts), under the lock, so events keep their order.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from deskmate.core.sandbox import shapes
from deskmate.core.sandbox.records import (
    Admin,
    AppliedTag,
    Article,
    ArticleContent,
    Author,
    Company,
    Contact,
    Conversation,
    Part,
    Source,
    Tag,
    Team,
)
from deskmate.core.sandbox.seed import (
    Ids,
    SeedOptions,
    generate_articles,
    generate_conversations,
    help_center,
    load_workspace,
)

API_PACKAGE_CODE = "deskmate-sandbox"
WEBHOOK_VIEW = shapes.View(webhook=True)

Listener = Callable[[str, dict[str, Any]], None]


class SandboxError(Exception):
    """A request the sandbox refuses, with Intercom's status and error code."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


class SandboxState:
    """A fake Intercom workspace: admins, teams, contacts, conversations, tags and articles."""

    def __init__(
        self,
        app_id: str,
        seed: SeedOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        seed = seed or SeedOptions()
        self.lock = threading.RLock()
        self.app_id = app_id
        self.listener: Listener | None = None
        self.admin_webhooks = True
        self._clock = clock
        self._ids = Ids()
        workspace = load_workspace()
        self.app = workspace.app
        self.me_id, self.human_admin_id = workspace.me_id, workspace.human_admin_id
        self.admins: dict[str, Admin] = {a.id: a for a in workspace.admins}
        self.teams: dict[str, Team] = {t.id: t for t in workspace.teams}
        self.contacts: dict[str, Contact] = {}
        self.companies: dict[str, Company] = {}
        self.conversations: dict[str, Conversation] = {}
        self.tags: dict[str, Tag] = {}
        self.articles: dict[str, Article] = {}
        self._seed(seed, workspace.admins)

    def _seed(self, seed: SeedOptions, admins: list[Admin]) -> None:
        rng = random.Random(seed.random_seed)
        author_id = int(self.human_admin_id)
        articles = help_center(self._ids) if seed.help_center else []
        articles += generate_articles(seed.articles, rng, self._ids, author_id)
        self.articles = {a.id: a for a in articles}
        humans = [a for a in admins if a.id != self.me_id]
        contacts, conversations = generate_conversations(seed.conversations, rng, self._ids, humans)
        self.contacts = {c.id: c for c in contacts}
        self.conversations = {c.id: c for c in conversations}

    def now(self) -> int:
        return int(self._clock())

    # lookups -------------------------------------------------------------------------------

    def admin(self, admin_id: str, field: str | None = None) -> Admin:
        found = self.admins.get(str(admin_id))
        if found is None:
            raise SandboxError(404 if field is None else 400, "admin_not_found",
                               "Admin not found", field)  # fmt: skip
        return found

    def team(self, team_id: str, field: str | None = None) -> Team:
        found = self.teams.get(str(team_id))
        if found is None:
            raise SandboxError(404 if field is None else 400, "team_not_found",
                               "Team not found", field)  # fmt: skip
        return found

    def conversation(self, conversation_id: str) -> Conversation:
        found = self.conversations.get(conversation_id)
        if found is None:
            raise SandboxError(404, "not_found", "Resource Not Found")
        return found

    def contact(self, contact_id: str) -> Contact:
        found = self.contacts.get(contact_id)
        if found is None:
            raise SandboxError(404, "not_found", "User Not Found")
        return found

    def company(self, company_id: str) -> Company:
        found = self.companies.get(company_id)
        if found is None:
            raise SandboxError(404, "company_not_found", "Company Not Found")
        return found

    def article(self, article_id: str) -> Article:
        found = self.articles.get(article_id)
        if found is None:
            raise SandboxError(404, "not_found", "Resource Not Found")
        return found

    def render(
        self,
        conv: Conversation,
        view: shapes.View,
        parts: Sequence[Part] | Literal["all"] | None = "all",
    ) -> dict[str, Any]:
        """The conversation's JSON (see ``shapes.conversation`` for ``parts``)."""
        return shapes.conversation(conv, self.tags, self.contacts, view, parts)

    # customers (control API) ---------------------------------------------------------------

    def upsert_contact(
        self,
        name: str | None,
        email: str | None,
        custom_attributes: dict[str, Any],
        role: str = "user",
        browser_language: str | None = None,
        external_id: str | None = None,
    ) -> Contact:
        """The contact with this email (updated), or a new one."""
        with self.lock:
            found = next((c for c in self.contacts.values() if email and c.email == email), None)
            if found is None:
                found = Contact(self._ids.contact(), name, email, self.now(), role)
                self.contacts[found.id] = found
            found.name = name or found.name
            found.browser_language = browser_language or found.browser_language
            found.external_id = external_id or found.external_id
            found.custom_attributes.update(custom_attributes)
            return found

    def attach_company(
        self, contact: Contact, name: str, custom_attributes: dict[str, Any]
    ) -> Company:
        """Attach the company with this name (created if missing) to the contact."""
        with self.lock:
            found = next((c for c in self.companies.values() if c.name == name), None)
            if found is None:
                found = Company(self._ids.company(), name, self.now())
                self.companies[found.id] = found
            found.custom_attributes.update(custom_attributes)
            if found.id not in contact.company_ids:
                contact.company_ids.append(found.id)
            return found

    def start_conversation(
        self, contact: Contact, channel: str, body_html: str, subject: str, delivered_as: str
    ) -> Conversation:
        """A customer opens a conversation: emits ``conversation.user.created``."""
        with self.lock:
            now = self.now()
            email = channel == "email"
            src = Source(
                id=self._ids.source(),
                type="email" if email else "conversation",
                delivered_as=delivered_as,
                subject=subject if email else "",
                body=body_html,
                author=Author.of_contact(contact),
                url=None if email else "https://app.example.com/",
            )
            conv = Conversation(self._ids.conversation(), now, now, src, [contact.id])
            conv.waiting_since = conv.last_contact_reply_at = now
            self.conversations[conv.id] = conv
            self._emit("conversation.user.created", conv, [])
            return conv

    def customer_reply(self, conversation_id: str, body_html: str) -> Part:
        """The customer replies (reopening a closed conversation): ``conversation.user.replied``."""
        with self.lock:
            conv = self.conversation(conversation_id)
            if conv.state != "open":
                self._reopen(conv)
            contact = self.contacts[conv.contact_ids[0]]
            new = self._add_part(
                conv, "comment", body_html, Author.of_contact(contact), via_api=False
            )
            conv.waiting_since = conv.waiting_since or new.created_at
            conv.last_contact_reply_at, conv.read = new.created_at, False
            self._emit("conversation.user.replied", conv, [new])
            return new

    # admin actions (REST and control API) ---------------------------------------------------

    def admin_message(
        self,
        conversation_id: str,
        admin_id: str,
        body_html: str,
        message_type: str,
        *,
        via_api: bool,
    ) -> Conversation:
        """An admin comment (customer-visible) or note: ``conversation.admin.replied``/``noted``."""
        with self.lock:
            conv = self.conversation(conversation_id)
            author = Author.of_admin(self.admin(admin_id, "admin_id"))
            new = self._add_part(conv, message_type, body_html, author, via_api=via_api)
            if message_type == "comment":
                conv.waiting_since, conv.last_admin_reply_at = None, new.created_at
                topic = "conversation.admin.replied"
            else:
                topic = "conversation.admin.noted"
            self._emit_admin(topic, conv, [new], via_api)
            return conv

    def assign(
        self,
        conversation_id: str,
        actor_id: str,
        kind: str,
        assignee_id: str,
        body_html: str | None,
        *,
        via_api: bool,
    ) -> Conversation:
        """Assign to an admin or a team (``"0"`` unassigns): ``conversation.admin.assigned``."""
        with self.lock:
            conv = self.conversation(conversation_id)
            author = Author.of_admin(self.admin(actor_id, "admin_id"))
            target = None if str(assignee_id) == "0" else str(assignee_id)
            if target is not None:
                lookup = self.admin if kind == "admin" else self.team
                try:
                    lookup(target, "assignee_id")
                except SandboxError as exc:
                    raise SandboxError(
                        400, "assignee_not_found", exc.message, "assignee_id"
                    ) from exc
            if kind == "admin":
                conv.admin_assignee_id = target
            else:
                conv.team_assignee_id = target
            assigned_to = (
                {"type": kind, "id": target} if target else {"type": "nobody_admin", "id": None}
            )
            new = self._add_part(conv, "assignment", body_html, author, via_api=via_api)
            new.assigned_to = assigned_to
            conv.count_assignments += 1
            self._emit_admin("conversation.admin.assigned", conv, [new], via_api)
            return conv

    def close(
        self, conversation_id: str, admin_id: str, body_html: str | None, *, via_api: bool
    ) -> Conversation:
        """Close the conversation: ``conversation.admin.closed``."""
        with self.lock:
            conv = self.conversation(conversation_id)
            author = Author.of_admin(self.admin(admin_id, "admin_id"))
            conv.state, conv.waiting_since, conv.snoozed_until = "closed", None, None
            new = self._add_part(conv, "close", body_html, author, via_api=via_api)
            conv.last_close_at, conv.last_closed_by_id = new.created_at, admin_id
            self._emit_admin("conversation.admin.closed", conv, [new], via_api)
            return conv

    def open(self, conversation_id: str, admin_id: str, *, via_api: bool) -> Conversation:
        """Reopen the conversation: ``conversation.admin.opened``."""
        with self.lock:
            conv = self.conversation(conversation_id)
            author = Author.of_admin(self.admin(admin_id, "admin_id"))
            self._reopen(conv)
            new = self._add_part(conv, "open", None, author, via_api=via_api)
            self._emit_admin("conversation.admin.opened", conv, [new], via_api)
            return conv

    def snooze(
        self, conversation_id: str, admin_id: str, until: int, *, via_api: bool
    ) -> Conversation:
        """Snooze until a unix time: ``conversation.admin.snoozed``."""
        with self.lock:
            conv = self.conversation(conversation_id)
            author = Author.of_admin(self.admin(admin_id, "admin_id"))
            conv.state, conv.snoozed_until = "snoozed", until
            new = self._add_part(conv, "snoozed", None, author, via_api=via_api)
            self._emit_admin("conversation.admin.snoozed", conv, [new], via_api)
            return conv

    def update_conversation(
        self,
        conversation_id: str,
        custom_attributes: dict[str, Any] | None,
        title: str | None,
        read: bool | None,
    ) -> Conversation:
        """``PUT /conversations/{id}``: merge custom attributes, set title or read."""
        with self.lock:
            conv = self.conversation(conversation_id)
            conv.custom_attributes.update(custom_attributes or {})
            conv.title = conv.title if title is None else title
            conv.read = conv.read if read is None else read
            conv.updated_at = self.now()
            return conv

    # tags ----------------------------------------------------------------------------------

    def tag_named(self, name: str, tag_id: str | None = None) -> Tag:
        """Create-or-find by name (case-insensitive); with ``tag_id``, rename that tag."""
        with self.lock:
            if tag_id is not None:
                found = self.tags.get(tag_id)
                if found is None:
                    raise SandboxError(404, "tag_not_found", "Tag not found", "id")
                found.name = name
                return found
            key = name.casefold()
            found = next((t for t in self.tags.values() if t.name.casefold() == key), None)
            if found is None:
                found = Tag(self._ids.tag(), name)
                self.tags[found.id] = found
            return found

    def attach_tag(self, conversation_id: str, tag_id: str, admin_id: str) -> AppliedTag:
        """Apply a tag to a conversation (applying it twice keeps the first application)."""
        with self.lock:
            conv = self.conversation(conversation_id)
            self.admin(admin_id, "admin_id")
            if tag_id not in self.tags:
                raise SandboxError(400, "tag_not_found", "Tag not found", "id")
            applied = next((t for t in conv.tags if t.tag_id == tag_id), None)
            if applied is None:
                applied = AppliedTag(tag_id, self.now(), admin_id)
                conv.tags.append(applied)
                conv.updated_at = applied.applied_at
            return applied

    def detach_tag(self, conversation_id: str, tag_id: str, admin_id: str) -> Tag:
        with self.lock:
            conv = self.conversation(conversation_id)
            self.admin(admin_id, "admin_id")
            applied = next((t for t in conv.tags if t.tag_id == tag_id), None)
            if applied is None:
                raise SandboxError(404, "tag_not_found", "Tag not found")
            conv.tags.remove(applied)
            conv.updated_at = self.now()
            return self.tags[tag_id]

    # articles ------------------------------------------------------------------------------

    def add_article(
        self,
        title: str,
        body: str,
        state: str,
        locale: str,
        translations: dict[str, tuple[str, str]],
    ) -> Article:
        """Publish (or draft) a Help Center article with optional translations."""
        with self.lock:
            now = self.now()
            contents = {locale: ArticleContent(title, body)}
            for other, (t_title, t_body) in translations.items():
                contents.setdefault(other, ArticleContent(t_title, t_body))
            article = Article(
                self._ids.article(), state, int(self.human_admin_id), now, now, locale, contents
            )
            self.articles[article.id] = article
            return article

    # internals -----------------------------------------------------------------------------

    def _add_part(
        self, conv: Conversation, part_type: str, body: str | None, author: Author, *, via_api: bool
    ) -> Part:
        now = self.now()
        code = API_PACKAGE_CODE if via_api else None
        new = Part(
            self._ids.part(), part_type, body, author, now, conv.state, app_package_code=code
        )
        conv.parts.append(new)
        conv.updated_at = now
        return new

    def _reopen(self, conv: Conversation) -> None:
        conv.state, conv.snoozed_until = "open", None
        conv.count_reopens += 1

    def _emit_admin(self, topic: str, conv: Conversation, parts: list[Part], via_api: bool) -> None:
        if self.admin_webhooks or not via_api:
            self._emit(topic, conv, parts)

    def _emit(self, topic: str, conv: Conversation, parts: list[Part]) -> None:
        if self.listener is not None:
            self.listener(topic, self.render(conv, WEBHOOK_VIEW, parts))
