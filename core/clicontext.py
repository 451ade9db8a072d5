"""What every ``deskmate`` command reads: the config file given to the group, loaded once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from deskmate.core.config import ConfigInvalid, Settings, load
from deskmate.core.plugins import PluginHost


@dataclass
class CliState:
    """What the ``deskmate`` group passes to its commands: the config file, loaded once."""

    config_path: Path | None = None
    loaded: tuple[Settings, PluginHost] | None = None


def load_config(
    ctx: click.Context | None = None, *, strict: bool = False
) -> tuple[Settings, PluginHost]:
    """Return ``(settings, plugin host)`` for the ``--config`` file, loaded once per run.

    On an invalid config, print every problem as ``path: message (hint)`` to stderr and exit 2.
    ``strict`` also treats an invalid plugin section as fatal instead of failing that plugin.
    """
    ctx = ctx or click.get_current_context()
    state = ctx.find_object(CliState) or CliState()
    if state.loaded is None:
        try:
            state.loaded = load(state.config_path, strict=strict)
        except ConfigInvalid as exc:
            for error in exc.errors:
                click.echo(str(error), err=True)
            count = len(exc.errors)
            click.echo(f"{count} problem{'s' * (count != 1)} in the configuration.", err=True)
            ctx.exit(2)
    return state.loaded
