"""How the dashboard shows things: readable states and outcomes, local times, Intercom links."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from deskmate.core.config import WorkspaceSettings
from deskmate.core.store.models import SessionRecord, SessionState

NOTHING = "\u2013"
"""Shown for a missing value (an en dash)."""
INTERCOM_APPS = {
    "us": "https://app.intercom.com",
    "eu": "https://app.eu.intercom.com",
    "au": "https://app.au.intercom.com",
}
"""The Intercom web app of each region (the inbox where a team reads a conversation)."""

STATES = {
    SessionState.OPEN: "With the AI",
    SessionState.HANDED_OFF: "Handed to the team",
    SessionState.RESOLVED: "Closed",
}
REASONS = {
    "no_knowledge": "No answer in the knowledge",
    "low_confidence": "Answer not confident enough",
    "human_requested": "Customer asked for a person",
    "frustration": "Customer frustrated",
    "handoff_topic": "Handoff topic",
    "loop": "Customer repeated a question",
    "max_turns": "Too many AI replies",
    "processing_failed": "deskmate failed to process it",
    "unknown": "Unknown (before the upgrade)",
}


def intercom_url(workspace: WorkspaceSettings, conversation_id: str) -> str:
    """The conversation in the Intercom inbox of the workspace's region."""
    app = INTERCOM_APPS.get(workspace.region, INTERCOM_APPS["us"])
    return f"{app}/a/apps/{workspace.app_id}/inbox/inbox/all/conversations/{conversation_id}"


def local_time(at: datetime | None, zone: ZoneInfo) -> str:
    """``at`` in the workspace's time zone, to the minute (``2026-12-04 18:05 CET``)."""
    if at is None:
        return NOTHING
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time from a stored report (``2026-12-04T18:05:00+00:00``)."""
    return datetime.fromisoformat(text)


def duration(seconds: float | None) -> str:
    """A short readable duration: ``42 s``, ``3 min``, ``2 h 5 min``."""
    if seconds is None:
        return NOTHING
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def reason_label(code: str | None) -> str:
    """A handoff reason code in words (the code itself when deskmate doesn't know it)."""
    return REASONS.get(code or "unknown", code or "unknown")


def outcome_of(record: SessionRecord) -> str:
    """What the AI did in the conversation, in words (see :mod:`figures` for the same rules)."""
    if record.handed_off_at is not None:
        return "Handed off"
    if record.ai_turns > 0:
        return "Resolved by the AI" if record.state == SessionState.RESOLVED else "Answered"
    if record.mode == "assist":
        return "Assisted"
    if record.mode == "shadow":
        return "Shadow: nothing sent"
    return "Left alone" if record.mode is None else "Seen, no reply"
