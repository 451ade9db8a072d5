"""The ``[plugins.knowledge_sync]`` section: its schema and the typed options read from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from deskmate.core.config import Settings

NAME = "knowledge_sync"
SCHEDULES = ("hourly", "daily", "manual")
SOURCE_NAMES = ("articles", "conversations")


def check_schedule(value: str) -> None:
    """Refuse anything but ``hourly``, ``daily``, ``manual`` or a cron expression apscheduler
    reads."""
    if value in SCHEDULES:
        return
    if len(value.split()) != 5:
        raise ValidationError('use "hourly", "daily", "manual" or a 5-field cron expression')
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValidationError(f"not a valid cron expression: {exc}") from None


def _schedule_field(what: str, default: str | None) -> fields.String:
    return fields.String(
        load_default=default,
        allow_none=default is None,
        metadata={"description": what},
    )


class KnowledgeSyncConfig(Schema):
    """Options of the ``[plugins.knowledge_sync]`` section."""

    schedule = _schedule_field(
        'When to sync: "hourly", "daily", "manual" or a cron expression', "hourly"
    )
    articles = fields.Boolean(load_default=True)
    conversations = fields.Boolean(load_default=True)
    articles_schedule = _schedule_field("The articles' own schedule (default: schedule)", None)
    conversations_schedule = _schedule_field(
        "The past conversations' own schedule (default: schedule)", None
    )
    rate_limit_share = fields.Float(load_default=0.5, validate=validate.Range(0.05, 1.0))
    drafts = fields.Boolean(load_default=True)
    learned_answers_in_autopilot = fields.Boolean(load_default=False)
    conversation_days = fields.Integer(load_default=365, validate=validate.Range(0, 3650))
    min_answer_chars = fields.Integer(load_default=40, validate=validate.Range(1, 5000))
    max_answer_chars = fields.Integer(load_default=4000, validate=validate.Range(100, 100_000))
    min_rating = fields.Integer(load_default=4, validate=validate.Range(1, 5))

    @validates("schedule", "articles_schedule", "conversations_schedule")
    def _schedule(self, value: str | None, **_: object) -> None:
        if value is not None:
            check_schedule(value)


@dataclass(frozen=True)
class SyncOptions:
    """The plugin's options with defaults filled in."""

    schedule: str = "hourly"
    articles: bool = True
    conversations: bool = True
    articles_schedule: str | None = None
    conversations_schedule: str | None = None
    rate_limit_share: float = 0.5
    drafts: bool = True
    learned_answers_in_autopilot: bool = False
    conversation_days: int = 365
    min_answer_chars: int = 40
    max_answer_chars: int = 4000
    min_rating: int = 4

    def enabled(self, source: str) -> bool:
        """Whether ``source`` (``articles`` or ``conversations``) is synced at all."""
        return bool(getattr(self, source))

    def schedule_of(self, source: str) -> str:
        """The schedule of ``source``: its own, else the plugin's."""
        return getattr(self, f"{source}_schedule") or self.schedule


def sync_options(settings: Settings) -> SyncOptions:
    """The options of ``settings`` (validated again, so raw test sections get the defaults)."""
    section: dict[str, Any] = dict(settings.plugin_config(NAME))
    section.pop("enabled", None)
    return SyncOptions(**KnowledgeSyncConfig().load(section))
