"""An example deskmate plugin: tell a Slack-style channel about handoffs, and mark VIP customers.

Configure it in deskmate's config file::

    [plugins.example]
    webhook_url = "https://hooks.slack.com/services/T000/B000/XXXX"
    vip_domains = ["bigcustomer.com"]
"""

from __future__ import annotations

from typing import Any

import requests
from marshmallow import Schema, fields

from deskmate import hookimpl
from deskmate.core.domain import Handoff, Turn

__version__ = "0.1.0"

NAME = "example"
TIMEOUT_SECONDS = 5


class ExampleConfig(Schema):
    """The ``[plugins.example]`` section (deskmate adds ``enabled`` itself)."""

    webhook_url = fields.Url(load_default=None, require_tld=False)
    vip_domains = fields.List(fields.String(), load_default=list)


@hookimpl
def config_schema() -> type[Schema]:
    return ExampleConfig


@hookimpl
def enrich_context(turn: Turn) -> dict[str, Any] | None:
    """Add ``VIP customer: yes`` when the customer writes from one of ``vip_domains``."""
    email = (turn.conversation.source.author.email or "").lower()
    domains = {d.lower() for d in _config(turn).get("vip_domains", [])}
    if email.rpartition("@")[2] in domains:
        return {"VIP customer": "yes"}
    return None


@hookimpl
def handed_off(turn: Turn, handoff: Handoff) -> None:
    """Post the handoff's summary to the configured webhook.

    A failure here is logged by deskmate with this plugin's name; the handoff itself already
    happened in Intercom, and other plugins still run.
    """
    url = _config(turn).get("webhook_url")
    if not url:
        return
    requests.post(url, json={"text": _message(turn, handoff)}, timeout=TIMEOUT_SECONDS)


def _message(turn: Turn, handoff: Handoff) -> str:
    reasons = ", ".join(reason.detail for reason in handoff.reasons) or "no reason recorded"
    lines = [
        f"Conversation {turn.conversation.id} was handed to a human: {reasons}.",
        f"Summary: {handoff.summary}",
        f"Sentiment: {handoff.sentiment.label}; language: {handoff.language or 'unknown'}",
    ]
    if handoff.session_url:
        lines.append(f"Audit: {handoff.session_url}")
    return "\n".join(lines)


def _config(turn: Turn) -> dict[str, Any]:
    settings = turn.settings
    return settings.plugin_config(NAME) if settings is not None else {}
