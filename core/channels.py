"""What the channel plugins share: the decision rules, their options at startup, reply helpers.

A channel plugin (Messenger, Email, or a third party's) decides for its own conversations only,
with the same rules: act only on customer-initiated conversations, never after our own or a
bot's message, autopilot when the AI admin owns the conversation, assist when a human does,
shadow (decide as autopilot, send nothing) on every conversation of a channel in shadow mode.
The engine never branches on a channel's name; it asks the hooks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from marshmallow import EXCLUDE, Schema

from deskmate.core.config import ChannelSwitches
from deskmate.core.domain import Author, Decision, Hit, Turn
from deskmate.core.html import safe_url

if TYPE_CHECKING:
    from deskmate.core.config import Settings, WorkspaceSettings
    from deskmate.core.intercom.models import Conversation

CUSTOMER_INITIATED = "customer_initiated"
MESSAGE_PART_TYPES = frozenset({"comment", "quick_reply"})
"""Part types that are a message someone wrote (not an assignment, a close, a note…)."""

OptionsT = TypeVar("OptionsT")


@dataclass(frozen=True, kw_only=True)
class BaseChannelOptions:
    """Options every channel has: its switches and how long to wait before acting.

    Options carry no defaults of their own: they are built from the plugin's schema, which has.
    """

    autopilot: bool
    assist: bool
    initial_delay: float
    followup_delay: float

    def delay(self, first_message: bool) -> float:
        return self.initial_delay if first_message else self.followup_delay


def options_loader(
    schema: type[Schema], make: Callable[..., OptionsT]
) -> Callable[[Mapping[str, Any]], OptionsT]:
    """A function turning a ``[plugins.<name>]`` section into options, defaults filled in.

    The section may be raw or already validated; the common ``enabled`` key is ignored.
    """

    def load(section: Mapping[str, Any]) -> OptionsT:
        return make(**schema().load(dict(section), unknown=EXCLUDE))

    return load


class ChannelRuntime(Generic[OptionsT]):
    """A channel plugin's options: read from the settings a hook is given, or else from the
    settings seen at ``startup`` (``processing_delay`` and ``should_process`` get none)."""

    def __init__(self, name: str, load: Callable[[Mapping[str, Any]], OptionsT]) -> None:
        self.name = name
        self._load = load
        self.options: OptionsT = load({})

    def configure(self, settings: Settings) -> None:
        """Remember the plugin's section of ``settings`` (called from the ``startup`` hook)."""
        self.options = self.options_for(settings)

    def options_for(self, settings: Settings | None) -> OptionsT:
        if settings is None:
            return self.options
        return self._load(settings.plugin_config(self.name))

    def should_process(self, turn: Turn, channel: str) -> Decision | None:
        """The ``should_process`` answer for this channel's conversations; ``None`` for others."""
        if channel != self.name:
            return None
        return decide(turn, self.name, switches_for(turn.workspace, self.name, self.options))

    def processing_delay(self, channel: str, first_message: bool) -> float | None:
        """The ``processing_delay`` answer for this channel's conversations; ``None`` for others."""
        if channel != self.name:
            return None
        return self.options.delay(first_message)


def switches_for(
    workspace: WorkspaceSettings, channel: str, defaults: BaseChannelOptions
) -> ChannelSwitches:
    """The workspace's ``channels.<name>`` switches when set, else the plugin section's."""
    configured = workspace.channels.get(channel)
    if configured is not None:
        return configured
    return ChannelSwitches(autopilot=defaults.autopilot, assist=defaults.assist)


def decide(turn: Turn, channel: str, switches: ChannelSwitches) -> Decision:
    """Whether the AI acts on ``turn`` for ``channel`` now: autopilot, assist, or skip and why."""
    conversation = turn.conversation
    workspace = turn.workspace
    delivered_as = conversation.source.delivered_as
    if delivered_as != CUSTOMER_INITIATED:
        return Decision(
            "skip",
            f"not customer-initiated (delivered_as={delivered_as})",
            "not_customer_initiated",
        )
    own = _own_message_reason(conversation, workspace.ai_admin_id)
    if own:
        return Decision("skip", own, "not_a_customer_message")
    if workspace.shadow(channel):
        return Decision("shadow", f"shadow mode on {channel}: whoever owns it, nothing is sent")
    admin, team = conversation.admin_assignee_id, conversation.team_assignee_id
    if admin == workspace.ai_admin_id or (admin is None and team is None):
        if admin is None and not workspace.process_unassigned:
            return Decision("skip", "unassigned and process_unassigned is off", "unassigned")
        if switches.autopilot:
            owner = "the AI admin" if admin else "nobody (process_unassigned)"
            return Decision("autopilot", f"assigned to {owner}; autopilot on for {channel}")
        return Decision("skip", f"autopilot off for {channel}", "autopilot_off")
    owner = f"admin {admin}" if admin else f"team {team}"
    if switches.assist:
        return Decision("assist", f"owned by a human ({owner}); assist on for {channel}")
    return Decision("skip", f"owned by a human ({owner}); assist off for {channel}", "human_owned")


def _own_message_reason(conversation: Conversation, ai_admin_id: str) -> str | None:
    """Why the latest message rules out a reply: it is ours, a bot's or made through the API."""
    messages = [p for p in conversation.parts if p.part_type in MESSAGE_PART_TYPES]
    if messages:
        last = messages[-1]
        author, via_api = last.author, last.app_package_code
    else:
        author, via_api = conversation.source.author, None
    if author.type == "admin" and author.id == ai_admin_id:
        return "latest message is the AI admin's own"
    if author.type == "bot":
        return "latest message is from a bot"
    if via_api:
        return f"latest message was created through the API ({via_api})"
    return None


def first_name(author: Author | None) -> str | None:
    """A customer's first name fit for a greeting, or ``None`` (no name, an email address…)."""
    if author is None or not author.is_customer or not (author.name or "").strip():
        return None
    word = (author.name or "").split()[0]
    if "@" in word or len(word) > 40 or not any(c.isalpha() for c in word):
        return None
    return word


def customer_first_name(turn: Turn) -> str | None:
    """The first name of the customer a reply goes to: the latest message's author's, else the
    name on the message that opened the conversation."""
    latest = turn.latest.author if turn.latest else None
    return first_name(latest) or first_name(turn.conversation.source.author)


def public_citations(hits: Iterable[Hit]) -> list[Hit]:
    """The hits a customer may see as links: public, with a safe URL, each URL once."""
    seen: set[str] = set()
    kept = []
    for hit in hits:
        url = safe_url(hit.url or "")
        if hit.visibility != "public" or not url or url in seen:
            continue
        seen.add(url)
        kept.append(hit)
    return kept


def language_code(value: str | None) -> str | None:
    """``"de-DE"`` → ``"de"``; ``None`` for anything that is not a language tag."""
    if not value:
        return None
    match = re.match(r"^([a-zA-Z]{2,3})(?:[-_].*)?$", value.strip())
    return match.group(1).lower() if match else None
