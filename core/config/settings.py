"""The validated configuration as frozen dataclasses: what every other module reads.

:class:`Settings` holds the whole configuration, :class:`WorkspaceSettings` one Intercom workspace,
and :class:`Secret` a secret whose value never appears in a repr, an error or a log line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from deskmate.core.brain.settings import BrainSettings

Region = Literal["us", "eu", "au"]
RoutingMode = Literal["unassigned", "admin", "team"]
RunMode = Literal["live", "shadow"]

DEFAULT_INTERCOM_VERSION = "2.11"
REGION_BASE_URLS: dict[str, str] = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}


@dataclass(frozen=True)
class Secret:
    """A secret known by reference (``env:NAME`` or ``file:path``); its value is never printed."""

    source: str
    ref: str
    _value: str = field(repr=False, compare=False, default="")

    def reveal(self) -> str:
        """Return the secret's value; call it only where the value is sent, never to log."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.source}:{self.ref})"

    __str__ = __repr__


@dataclass(frozen=True)
class ChannelSwitches:
    """Whether the AI answers (autopilot) or drafts notes for reps (assist) on one channel, and
    its ``mode`` there (``None``: the workspace's)."""

    autopilot: bool = True
    assist: bool = False
    mode: RunMode | None = None


@dataclass(frozen=True)
class Routing:
    """Where escalated conversations go."""

    mode: RoutingMode = "unassigned"
    admin_id: str | None = None
    team_id: str | None = None


@dataclass(frozen=True)
class HandoffPolicy:
    """How a handoff is marked in Intercom: the tags, and the attributes written for workflows."""

    tag: str = "opencx_handed_off"
    assist_tag: str = "opencx_ai_assisted"
    write_attributes: bool = True
    reason_attribute: str = "deskmate_handoff_reason"
    sentiment_attribute: str = "deskmate_sentiment"
    language_attribute: str = "deskmate_language"
    citation_note: bool = False
    on_failure: bool = True


@dataclass(frozen=True)
class EnrichmentPolicy:
    """Which contact and company custom attributes reach the AI, and how long they are cached."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    ttl_seconds: int = 900


@dataclass(frozen=True)
class WorkspaceSettings:
    """One Intercom workspace, keyed by its app id."""

    app_id: str
    access_token: Secret
    client_secret: Secret
    ai_admin_id: str
    region: Region = "us"
    name: str | None = None
    intercom_version: str = DEFAULT_INTERCOM_VERSION
    base_url: str | None = None
    rate_limit: int = 10000
    routing: Routing = field(default_factory=Routing)
    channels: dict[str, ChannelSwitches] = field(default_factory=dict)
    process_unassigned: bool = False
    process_on_assignment: bool = True
    handoff: HandoffPolicy = field(default_factory=HandoffPolicy)
    enrichment: EnrichmentPolicy = field(default_factory=EnrichmentPolicy)
    mode: RunMode = "live"
    shadow_note: bool = False

    def channel(self, name: str) -> ChannelSwitches:
        return self.channels.get(name, ChannelSwitches())

    def shadow(self, channel: str | None) -> bool:
        """Whether the AI only records what it would do on ``channel`` (shadow mode): the
        channel's own ``mode`` when set, else the workspace's."""
        switches = self.channels.get(channel or "")
        mode = switches.mode if switches is not None and switches.mode else self.mode
        return mode == "shadow"

    def api_base_url(self) -> str:
        """The Intercom REST base URL: ``base_url`` when set, else the region's."""
        return self.base_url or REGION_BASE_URLS[self.region]


@dataclass(frozen=True)
class Settings:
    """The whole validated configuration."""

    workspaces: dict[str, WorkspaceSettings] = field(default_factory=dict)
    database_url: str | None = field(default=None, repr=False)
    instance_path: Path = field(default_factory=lambda: Path(os.getcwd()) / "instance")
    public_url: str = "http://127.0.0.1:8080"
    jobs_backend: str = "sqlite"
    jobs_lease_seconds: int = 120
    jobs_max_attempts: int = 5
    jobs_sweep_seconds: int = 15
    redis_url: str | None = field(default=None, repr=False)
    admin_token: Secret | None = None
    log_level: str = "info"
    log_format: str = "text"
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    brain: BrainSettings = field(default_factory=BrainSettings)
    source_path: Path | None = None

    def plugin_config(self, name: str) -> dict[str, Any]:
        """The validated ``[plugins.<name>]`` section (empty when absent)."""
        return self.plugins.get(name, {})

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_path / 'deskmate.db'}"
