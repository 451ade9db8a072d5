"""The knowledge_sync plugin: learns from the Intercom Help Center on a schedule.

Each workspace's articles are listed and stored as knowledge documents that the brain searches;
the scheduler runs the sync ``hourly``, ``daily``, on a cron expression or only on demand.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates

from deskmate.core.config import Settings
from deskmate.core.domain import PeriodicJob
from deskmate.core.intercom.client import IntercomClient
from deskmate.core.store.db import make_engine, make_session_factory
from deskmate.core.store.knowledge import record_sync_run
from deskmate.hookspecs import hookimpl
from deskmate.plugins.knowledge_sync.articles import SOURCE, SyncReport, sync_articles

NAME = "knowledge_sync"
SCHEDULES = ("hourly", "daily", "manual")


class KnowledgeSyncConfig(Schema):
    """Options of the ``[plugins.knowledge_sync]`` section."""

    schedule = fields.String(
        load_default="hourly",
        metadata={"description": 'When to sync: "hourly", "daily", "manual" or a cron expression'},
    )

    @validates("schedule")
    def _schedule(self, value: str, **_: object) -> None:
        if value in SCHEDULES or len(value.split()) == 5:
            return
        raise ValidationError('use "hourly", "daily", "manual" or a 5-field cron expression')


@hookimpl
def config_schema() -> type[Schema]:
    return KnowledgeSyncConfig


def sync_workspace_articles(settings: Settings, workspace_id: str) -> SyncReport:
    """List the workspace's Help Center and store it; records the run in the sync state."""
    workspace = settings.workspaces[workspace_id]
    sessions = make_session_factory(make_engine(settings.resolved_database_url()))
    client = IntercomClient(workspace)
    report = sync_articles(client.list_articles(), sessions, workspace_id)
    with sessions.begin() as db:
        record_sync_run(
            db, workspace_id, SOURCE, cursor=None, succeeded=True, stats=report.as_dict()
        )
    return report


@hookimpl
def register_jobs(settings: Settings) -> list[PeriodicJob]:
    schedule = settings.plugin_config(NAME).get("schedule", "hourly")
    return [
        PeriodicJob(
            name=f"{NAME}:articles:{workspace_id}",
            schedule=schedule,
            func=lambda s, ws=workspace_id: sync_workspace_articles(s, ws),
        )
        for workspace_id in settings.workspaces
    ]
