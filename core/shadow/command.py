"""``deskmate shadow report``: shadow decisions beside what the teammates did."""

from __future__ import annotations

import json
from datetime import datetime

import click

from deskmate.core.clicontext import load_config, migrated_engine
from deskmate.core.shadow.report import render, shadow_decisions, summarize
from deskmate.core.store.db import make_session_factory


@click.group("shadow")
def shadow_group() -> None:
    """Compare what the AI would have done in shadow mode with what the team did."""


@shadow_group.command("report")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Decisions made on or after this day (YYYY-MM-DD, UTC); default: all.",
)
@click.option("--workspace", metavar="APP_ID", help="One workspace only (default: all).")
@click.option(
    "--examples", default=10, show_default=True, type=click.IntRange(0, 1000),
    help="How many of the newest decisions to list.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def shadow_report(
    since: datetime | None, workspace: str | None, examples: int, as_json: bool
) -> None:
    """Count shadow decisions by what the AI would do (answer or hand off) and what the team
    then did (replied, closed without a reply, assigned, nothing yet)."""
    settings, _ = load_config()
    if workspace is not None and workspace not in settings.workspaces:
        known = ", ".join(settings.workspaces)
        raise click.BadParameter(
            f"no workspace {workspace!r} (configured: {known})", param_hint="--workspace"
        )
    with make_session_factory(migrated_engine())() as db:
        decisions = shadow_decisions(db, since=since, workspace_id=workspace)
    summary = summarize(decisions, examples=examples)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    elif not decisions:
        click.echo('no shadow decisions yet; set mode = "shadow" on a workspace or channel')
    else:
        click.echo(render(summary))
