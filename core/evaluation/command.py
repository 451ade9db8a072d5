"""``deskmate eval``: play eval cases through the configured AI and report how it did."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import click

from deskmate.core.clicontext import CliState, choose_workspace, load_config, migrated_engine
from deskmate.core.config import Settings, WorkspaceSettings, config_path
from deskmate.core.evaluation import metrics, report
from deskmate.core.evaluation.cases import WORKSPACE, Case, CaseError, load_cases
from deskmate.core.evaluation.export import draft_cases
from deskmate.core.evaluation.player import Played, Player, eval_workspace, player
from deskmate.core.plugins import PluginHost, make_plugin_manager
from deskmate.core.store.db import make_session_factory

BAD_INPUT = 2
MISSED = 1


class BadCases(click.ClickException):
    """A case file that can't be used: every problem, then exit 2."""

    exit_code = BAD_INPUT


@click.command("eval")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--workspace", metavar="APP_ID", help="Whose configuration (and knowledge) to use.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--fail-under",
    "under",
    multiple=True,
    metavar="NAME=VALUE",
    help="Exit 1 when the figure is below VALUE (e.g. answer_rate=0.85). Repeatable.",
)
@click.option(
    "--fail-over",
    "over",
    multiple=True,
    metavar="NAME=VALUE",
    help="Exit 1 when the figure is above VALUE (e.g. wrong_citation_rate=0.03). Repeatable.",
)
@click.option(
    "--from-sessions", is_flag=True, help="Export stored sessions as draft cases instead."
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    help="With --from-sessions: sessions started on or after this day (YYYY-MM-DD).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --from-sessions: write the draft cases here (default: standard output).",
)
@click.pass_context
def eval_command(
    ctx: click.Context,
    files: tuple[Path, ...],
    workspace: str | None,
    as_json: bool,
    under: tuple[str, ...],
    over: tuple[str, ...],
    from_sessions: bool,
    since: datetime | None,
    out: Path | None,
) -> None:
    """Play eval cases through the AI (nothing sent to Intercom) and report how it did.

    FILES are YAML case files; the report gives the figures per split, group, category and
    language, then the cases that missed. Exit 1 when a threshold is missed, 2 on a case file
    that can't be used. See docs/eval.md.
    """
    if from_sessions:
        if files:
            raise click.UsageError("--from-sessions exports cases; give no case file with it")
        _export(ctx, workspace, since, out)
        return
    if not files:
        raise click.UsageError("give one or more case files (YAML), or --from-sessions")
    if since is not None or out is not None:
        raise click.UsageError("--since and --out go with --from-sessions")
    thresholds = _thresholds(under, "under", "--fail-under") + _thresholds(
        over, "over", "--fail-over"
    )
    try:
        case_set = load_cases(files)
    except CaseError as exc:
        raise BadCases(str(exc)) from None
    settings, host, chosen = _configuration(ctx, workspace)
    results = _play(ctx, settings, host, chosen, case_set.cases)
    overall = metrics.figures(results)
    scoped = metrics.grouped(results, case_set.groups)
    checked = metrics.check(thresholds, overall, scoped)
    if as_json:
        document = report.as_json(
            results,
            overall,
            scoped,
            checked,
            files=[str(f) for f in files],
            workspace=chosen.app_id,
        )
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(report.render(results, overall, scoped, checked))
    missed = [c for c in checked if not c.ok]
    if missed:
        click.echo(f"{len(missed)} threshold(s) missed:", err=True)
        for c in missed:
            click.echo(f"  {c.message()}", err=True)
        ctx.exit(MISSED)


def _thresholds(values: Iterable[str], kind: str, option: str) -> list[metrics.Threshold]:
    parsed = []
    for value in values:
        try:
            parsed.append(metrics.parse_threshold(value, kind))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=option) from None
    return parsed


def _has_config(ctx: click.Context) -> bool:
    state = ctx.find_object(CliState) or CliState()
    return state.config_path is not None or config_path().exists()


def _configuration(
    ctx: click.Context, workspace: str | None
) -> tuple[Settings, PluginHost, WorkspaceSettings]:
    """The config's settings, plugins and chosen workspace; without a config file, the
    installed plugins on their defaults and a built-in workspace."""
    if not _has_config(ctx):
        if workspace is not None:
            raise click.UsageError("--workspace needs a config file (see `deskmate init`)")
        return Settings(), make_plugin_manager(), eval_workspace()
    settings, host = load_config(ctx)
    return settings, host, settings.workspaces[choose_workspace(settings, workspace)]


def _play(
    ctx: click.Context,
    settings: Settings,
    host: PluginHost,
    workspace: WorkspaceSettings,
    cases: Sequence[Case],
) -> list[Played]:
    needs_store = any(c.knowledge.kind == WORKSPACE for c in cases)
    if needs_store and not _has_config(ctx):
        raise BadCases("knowledge: workspace needs a config file naming the database")
    store = make_session_factory(migrated_engine(ctx)) if needs_store else None
    with player(settings, host, workspace, configured_store=store) as played:
        try:
            played.prepare(cases)
        except CaseError as exc:
            raise BadCases(str(exc)) from None
        return play_all(played, cases)


def play_all(played: Player, cases: Sequence[Case]) -> list[Played]:
    """Play every case, with a progress bar when standard error is a terminal."""
    if not sys.stderr.isatty():
        return [played.play(case) for case in cases]
    with click.progressbar(cases, label="playing cases", file=sys.stderr) as bar:
        return [played.play(case) for case in bar]


def _export(
    ctx: click.Context, workspace: str | None, since: datetime | None, out: Path | None
) -> None:
    settings, _ = load_config(ctx)
    chosen = choose_workspace(settings, workspace)
    sessions = make_session_factory(migrated_engine(ctx))
    text, count = draft_cases(sessions, settings.workspaces[chosen], since)
    if out is None:
        click.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"can't write {out}: {exc.strerror or exc}") from None
    click.echo(f"exported {count} session(s) as draft cases; review each expect:", err=True)
