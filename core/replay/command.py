"""``deskmate replay``: play stored conversations again through the configuration given and
report what would change."""

from __future__ import annotations

import json
from datetime import datetime

import click

from deskmate.core.clicontext import choose_workspace, load_config, migrated_engine
from deskmate.core.evaluation.cases import CaseError
from deskmate.core.evaluation.command import play_all
from deskmate.core.evaluation.player import player
from deskmate.core.replay.diff import compare, render
from deskmate.core.replay.saved import save_report
from deskmate.core.replay.stored import stored_conversations
from deskmate.core.store.db import make_session_factory


@click.command("replay")
@click.option(
    "--since",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="Conversations started on or after this day (YYYY-MM-DD, UTC).",
)
@click.option("--workspace", metavar="APP_ID", help="Whose conversations (needed with several).")
@click.option(
    "--limit", default=500, show_default=True, type=click.IntRange(1, 100_000),
    help="Replay at most this many conversations, oldest first.",
)  # fmt: skip
@click.option(
    "--examples", default=3, show_default=True, type=click.IntRange(0, 100),
    help="Examples shown of each kind of change.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def replay(
    ctx: click.Context,
    since: datetime,
    workspace: str | None,
    limit: int,
    examples: int,
    as_json: bool,
) -> None:
    """Play stored conversations again through this config and report what would change.

    Each conversation goes through this config's brain and plugins up to the customer's
    message of its last decision (nothing is sent to Intercom); the report counts
    answer/handoff flips, other citations and other handoff reasons, with examples. Give the
    candidate config with --config (it reads the same database); the report is also saved as
    last-replay.json in the instance folder.
    """
    settings, host = load_config(ctx)
    chosen = settings.workspaces[choose_workspace(settings, workspace)]
    store = make_session_factory(migrated_engine(ctx))
    with store() as db:
        stored = stored_conversations(
            db, chosen.app_id, chosen.ai_admin_id, since=since, limit=limit
        )
    day = since.date().isoformat()
    if not stored:
        raise click.ClickException(
            f"no conversation of workspace {chosen.app_id} since {day} has a decision to replay"
        )
    with player(settings, host, chosen, configured_store=store) as played:
        try:
            played.prepare([s.case for s in stored])
        except CaseError as exc:
            raise click.ClickException(str(exc)) from None
        results = play_all(played, [s.case for s in stored])
    context = {
        "workspace": chosen.app_id,
        "since": day,
        "config": str(settings.source_path) if settings.source_path else None,
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    pairs = [(s.taken, r) for s, r in zip(stored, results, strict=True)]
    report = compare(pairs, examples=examples, context=context)
    path = save_report(settings, report)
    click.echo(json.dumps(report, indent=2, ensure_ascii=False) if as_json else render(report))
    click.echo(f"report saved to {path}", err=True)
