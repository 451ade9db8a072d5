"""What every ``deskmate`` command reads: the config file given to the group, loaded once, and
the database it names, migrated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click
from sqlalchemy import Engine

from deskmate.core.config import ConfigError, ConfigInvalid, Settings, load
from deskmate.core.plugins import PluginHost
from deskmate.core.store.db import DatabaseError, make_engine, upgrade


@dataclass
class CliState:
    """What the ``deskmate`` group passes to its commands: the config file, loaded once."""

    config_path: Path | None = None
    loaded: tuple[Settings, PluginHost] | None = None


def load_config(
    ctx: click.Context | None = None, *, report: bool = False
) -> tuple[Settings, PluginHost]:
    """Return ``(settings, plugin host)`` for the ``--config`` file, loaded once per run.

    On an invalid config, print every problem as ``path: message (hint)`` to stderr and exit 2.
    A plugin that fails (to load, or on its section) is left out; ``report`` logs why, once per
    plugin — for the long-running commands whose log is read. Other commands stay quiet about
    it: ``deskmate plugins`` and ``deskmate check-config`` say why.
    """
    ctx = ctx or click.get_current_context()
    state = ctx.find_object(CliState) or CliState()
    if state.loaded is None:
        try:
            state.loaded = load(state.config_path, quiet=not report)
        except ConfigInvalid as exc:
            print_problems(exc.errors)
            ctx.exit(2)
    return state.loaded


def print_problems(errors: Sequence[ConfigError]) -> None:
    """Print each configuration problem, then how many there are, to stderr."""
    for error in errors:
        click.echo(str(error).replace("\n", "\n    "), err=True)
    count = len(errors)
    click.echo(f"{count} problem{'s' * (count != 1)} in the configuration.", err=True)


def migrated_engine(ctx: click.Context | None = None) -> Engine:
    """Return an engine on the configured database after applying deskmate's migrations to it.

    A database that can't be reached or migrated ends the command with the reason and what to
    do (exit 1), never a traceback. A command that only needs the migrations disposes of it.
    """
    settings, _ = load_config(ctx)
    try:
        engine = make_engine(settings.resolved_database_url())
        upgrade(engine)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    return engine


def choose_workspace(settings: Settings, workspace_id: str | None) -> str:
    """Return the workspace ``--workspace`` names, or the only one configured.

    :raises click.UsageError: none is named and there is not exactly one.
    :raises click.BadParameter: the named one is not configured.
    """
    if workspace_id is None:
        if len(settings.workspaces) != 1:
            names = ", ".join(settings.workspaces) or "none configured"
            raise click.UsageError(f"choose a workspace with --workspace ({names})")
        return next(iter(settings.workspaces))
    if workspace_id not in settings.workspaces:
        known = ", ".join(settings.workspaces) or "none"
        raise click.BadParameter(
            f"no workspace {workspace_id!r} (configured: {known})", param_hint="--workspace"
        )
    return workspace_id
