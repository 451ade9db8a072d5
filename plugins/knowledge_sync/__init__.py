"""The knowledge_sync plugin: learns from the Intercom Help Center and from past conversations.

Each workspace's articles become knowledge documents the brain searches and cites; closed
conversations that a human rep answered well become learned answers (internal by default). Each
source is its own scheduled job (``hourly``, ``daily``, a cron expression, or ``manual``), runs
incrementally from a checkpoint saved per page, and uses at most ``rate_limit_share`` of the
workspace's rate limit. Article webhooks update single articles between runs. ``deskmate sync``
runs a sync by hand. docs/knowledge-sync.md has the details.
"""

from __future__ import annotations

import logging

import click
from marshmallow import Schema

from deskmate.core.config import Settings
from deskmate.core.domain import PeriodicJob
from deskmate.hookspecs import hookimpl
from deskmate.plugins.knowledge_sync.articles import SOURCE, SyncReport, sync_articles
from deskmate.plugins.knowledge_sync.command import sync_command
from deskmate.plugins.knowledge_sync.events import (
    ARTICLE_TOPICS,
    drain_article_events,
    handle_article_event,
)
from deskmate.plugins.knowledge_sync.options import (
    NAME,
    SCHEDULES,
    SOURCE_NAMES,
    KnowledgeSyncConfig,
    sync_options,
)
from deskmate.plugins.knowledge_sync.runner import SyncBusy, SyncError, run_sync

__all__ = [
    "ARTICLE_TOPICS",
    "NAME",
    "SCHEDULES",
    "SOURCE",
    "KnowledgeSyncConfig",
    "SyncError",
    "SyncReport",
    "drain_article_events",
    "handle_article_event",
    "run_sync",
    "sync_articles",
    "sync_workspace_articles",
]

log = logging.getLogger(__name__)

EVENTS_SCHEDULE = "* * * * *"
"""Article webhooks stored by the intake are applied within a minute."""


@hookimpl
def config_schema() -> type[Schema]:
    return KnowledgeSyncConfig


def sync_workspace_articles(settings: Settings, workspace_id: str) -> SyncReport:
    """Sync the workspace's Help Center (incrementally, resuming an interrupted run)."""
    return run_sync(settings, workspace_id, "articles")


def scheduled_sync(settings: Settings, workspace_id: str, source: str) -> SyncReport | None:
    """A scheduled run: a busy source or a failed run is logged, never raised to the scheduler."""
    try:
        report = run_sync(settings, workspace_id, source)
    except SyncBusy as exc:
        log.info("%s", exc)
        return None
    except SyncError as exc:
        log.error("%s", exc)
        return None
    log.info("knowledge sync of %s: %s", workspace_id, report.summary())
    return report


@hookimpl
def register_jobs(settings: Settings) -> list[PeriodicJob]:
    options = sync_options(settings)
    jobs = [
        PeriodicJob(
            name=f"{NAME}:{source}:{workspace_id}",
            schedule=options.schedule_of(source),
            func=lambda s, ws=workspace_id, src=source: scheduled_sync(s, ws, src),
        )
        for workspace_id in settings.workspaces
        for source in SOURCE_NAMES
        if options.enabled(source)
    ]
    jobs.append(PeriodicJob(f"{NAME}:article-events", EVENTS_SCHEDULE, drain_article_events))
    return jobs


@hookimpl
def webhook_topics() -> list[str]:
    """The article notifications :func:`drain_article_events` applies."""
    return sorted(ARTICLE_TOPICS)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(sync_command)
