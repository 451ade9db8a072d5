"""The knowledge_sync plugin: learns from the Intercom Help Center and from past conversations.

Each workspace's articles become knowledge documents the brain searches and cites; closed
conversations that a human rep answered well become learned answers (internal by default). Each
source is its own scheduled job (``hourly``, ``daily``, a cron expression, or ``manual``), runs
incrementally from a checkpoint saved per page, and uses at most ``rate_limit_share`` of the
workspace's rate limit. Article webhooks update single articles between runs. ``deskmate sync``
runs a sync by hand, and ``deskmate serve`` runs one at start while the knowledge store is empty.
docs/knowledge-sync.md has the details.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click
from marshmallow import Schema

from deskmate.core.config import Settings
from deskmate.core.domain import PeriodicJob
from deskmate.hookspecs import hookimpl
from deskmate.plugins.knowledge_sync.command import sync_command
from deskmate.plugins.knowledge_sync.options import (
    NAME,
    SCHEDULES,
    SOURCE_NAMES,
    KnowledgeSyncConfig,
    sync_options,
)
from deskmate.plugins.knowledge_sync.report import SyncReport

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

_LAZY = {
    "ARTICLE_TOPICS": "events",
    "drain_article_events": "events",
    "handle_article_event": "events",
    "SOURCE": "articles",
    "sync_articles": "articles",
    "SyncBusy": "runner",
    "SyncError": "runner",
    "run_sync": "runner",
}
"""Names this package offers from modules imported on first use (the store, the Intercom client
and the brain are slow to import; listing ``deskmate --help`` needs none of them)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


log = logging.getLogger(__name__)

EVENTS_SCHEDULE = "* * * * *"
"""Article webhooks stored by the intake are applied within a minute."""


@hookimpl
def config_schema() -> type[Schema]:
    return KnowledgeSyncConfig


def sync_workspace_articles(settings: Settings, workspace_id: str) -> SyncReport:
    """Sync the workspace's Help Center (incrementally, resuming an interrupted run)."""
    from deskmate.plugins.knowledge_sync.runner import run_sync

    return run_sync(settings, workspace_id, "articles")


def scheduled_sync(settings: Settings, workspace_id: str, source: str) -> SyncReport | None:
    """A scheduled run: a busy source or a failed run is logged, never raised to the scheduler."""
    from deskmate.plugins.knowledge_sync.runner import SyncBusy, SyncError, run_sync

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


def first_sync(settings: Settings) -> None:
    """Sync every enabled source of each workspace whose knowledge store is still empty.

    ``deskmate serve`` runs it once at start, so a fresh install can answer from its Help Center
    without waiting for the first scheduled run (or for someone to run ``deskmate sync``).
    """
    from deskmate.core.store.db import make_engine, make_session_factory
    from deskmate.core.store.knowledge import has_documents

    options = sync_options(settings)
    engine = make_engine(settings.resolved_database_url())
    try:
        with make_session_factory(engine)() as db:
            empty = [ws for ws in settings.workspaces if not has_documents(db, ws)]
    finally:
        engine.dispose()
    for workspace_id in empty:
        log.info("the knowledge store of %s is empty: syncing it now", workspace_id)
        for source in SOURCE_NAMES:
            if options.enabled(source):
                scheduled_sync(settings, workspace_id, source)


def apply_article_events(settings: Settings) -> int:
    """Apply the stored article webhooks (see :func:`events.drain_article_events`)."""
    from deskmate.plugins.knowledge_sync.events import drain_article_events

    return drain_article_events(settings)


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
    jobs.append(PeriodicJob(f"{NAME}:article-events", EVENTS_SCHEDULE, apply_article_events))
    jobs.append(PeriodicJob(f"{NAME}:first-sync", "manual", first_sync, at_start=True))
    return jobs


@hookimpl
def webhook_topics() -> list[str]:
    """The article notifications :func:`drain_article_events` applies."""
    from deskmate.plugins.knowledge_sync.events import ARTICLE_TOPICS

    return sorted(ARTICLE_TOPICS)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(sync_command)
