"""The value objects that cross the plugin contract.

Hooks receive and return these; they carry no behaviour beyond small conveniences, so a plugin
author can build them in a test without the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from deskmate.core.config import WorkspaceSettings
    from deskmate.core.intercom.models import Conversation

Mode = Literal["autopilot", "assist", "shadow", "skip"]
SentimentLabel = Literal["negative", "neutral", "positive", "unknown"]
Visibility = Literal["public", "internal"]


@dataclass(frozen=True)
class Author:
    """Who wrote a message: Intercom's author type (user, lead, admin, bot, team) and id."""

    type: str
    id: str | None = None
    name: str | None = None
    email: str | None = None

    @property
    def is_customer(self) -> bool:
        return self.type in {"user", "lead", "contact"}


@dataclass
class Attachment:
    """A file or inline image of a message; ``local_path`` is set once it is kept locally."""

    url: str
    name: str | None = None
    content_type: str | None = None
    size: int | None = None
    local_path: str | None = None
    error: str | None = None


@dataclass
class Message:
    """One message of a conversation, normalised to plain text by the channel that owns it."""

    part_id: str
    author: Author
    text: str
    html: str = ""
    subject: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    created_at: datetime | None = None
    kind: str = "comment"


@dataclass(frozen=True)
class Decision:
    """Whether the AI acts on a conversation now, in which mode, and why (recorded in the audit).

    ``code`` is a short snake_case name of the reason (``human_owned``, ``autopilot_off``…) for
    logs and metrics; any other value is counted as ``other``.
    """

    mode: Mode
    reason: str
    code: str = ""

    @property
    def acts(self) -> bool:
        return self.mode != "skip"


@dataclass(frozen=True)
class LanguageGuess:
    """An ISO 639-1 code, the confidence in [0, 1], and where it came from."""

    code: str
    confidence: float
    source: str = "text"


@dataclass(frozen=True)
class Sentiment:
    """A sentiment label with a score in [-1, 1] and the frustration cues that were seen."""

    label: SentimentLabel
    score: float = 0.0
    cues: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """One knowledge passage found for a query, with its relevance score."""

    doc_id: str
    title: str
    passage: str
    score: float
    url: str | None = None
    source: str = "article"
    visibility: Visibility = "public"
    locale: str | None = None


@dataclass
class Draft:
    """A reply the AI could send: plain text, its sources and a confidence in [0, 1].

    Empty text means there is nothing to answer (the customer only thanked or said goodbye):
    the AI sends nothing and keeps the conversation.
    """

    text: str
    confidence: float
    citations: list[Hit] = field(default_factory=list)
    language: str | None = None

    @property
    def silent(self) -> bool:
        """Whether the draft says nothing, so nothing is sent and nothing handed off."""
        return not self.text.strip()


@dataclass(frozen=True)
class EscalationReason:
    """Why the conversation should go to a human: a stable code and a readable detail."""

    code: str
    detail: str


UNASSIGNED = "0"
"""The assignee id that leaves a conversation unassigned."""


@dataclass(frozen=True)
class Route:
    """Where a handed-off conversation goes: unassigned, an admin, or a team."""

    mode: Literal["unassigned", "admin", "team"] = "unassigned"
    admin_id: str | None = None
    team_id: str | None = None

    def assignee(self) -> tuple[Literal["admin", "team"], str]:
        """The assignee type and id Intercom is sent; id :data:`UNASSIGNED` names nobody."""
        if self.mode == "admin" and self.admin_id:
            return "admin", self.admin_id
        if self.mode == "team" and self.team_id:
            return "team", self.team_id
        return "admin", UNASSIGNED


@dataclass
class Handoff:
    """Everything a human rep is given when the AI escalates."""

    reasons: list[EscalationReason]
    summary: str
    sentiment: Sentiment
    language: str | None
    route: Route
    session_url: str | None = None


@dataclass
class ActionResult:
    """What an action did: ``ok`` and Intercom's answer (status, short excerpt) for the audit."""

    action: str
    ok: bool
    detail: str = ""
    status: int | None = None
    response: dict[str, Any] | None = None


@dataclass
class Turn:
    """Everything known while the AI handles one conversation: the hooks' shared context.

    ``messages`` is the stored history, oldest first; ``latest`` the customer message being
    answered (``None`` when a run has no new customer text). ``enrichment`` collects what
    ``enrich_context`` implementations return. ``intercom`` is the workspace's API client, used by
    the default action implementations. ``actions`` performs effects through the action hooks with
    idempotency and audit (:class:`deskmate.core.effects.Effects`): a plugin that acts calls
    ``turn.actions.note(...)`` rather than a hook, so a retried run never repeats the effect.
    """

    workspace: WorkspaceSettings
    conversation: Conversation
    session_id: int | None = None
    channel: str | None = None
    mode: Mode = "skip"
    messages: list[Message] = field(default_factory=list)
    latest: Message | None = None
    language: LanguageGuess | None = None
    sentiment: Sentiment | None = None
    enrichment: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    session_url: str | None = None
    intercom: Any = None
    actions: Any = None
    settings: Any = None


@dataclass(frozen=True)
class PeriodicJob:
    """Work a plugin wants run on a schedule: ``"hourly"``, ``"daily"``, ``"manual"`` or cron.

    ``func`` is called with the settings; it runs as a job on the queue, once per period however
    many processes run a scheduler (:mod:`deskmate.core.schedules`), never in the scheduler.
    ``at_start`` also runs it once in the background when ``deskmate serve`` starts (a first
    knowledge sync, say); ``func`` itself decides whether there is anything to do.
    """

    name: str
    schedule: str
    func: Any
    at_start: bool = False
