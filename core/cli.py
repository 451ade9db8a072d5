"""The ``deskmate`` command line."""

from __future__ import annotations

import json

import click

from deskmate import __version__
from deskmate.core.config import Settings
from deskmate.core.plugins import make_plugin_manager, plugin_table, suggest_hook
from deskmate.core.server import DEFAULT_THREADS, listen_url, make_server, run
from deskmate.core.store.commands import db_group
from deskmate.core.store.db import DatabaseError


@click.group()
@click.version_option(__version__, prog_name="deskmate")
def cli() -> None:
    """deskmate: an AI teammate that works inside Intercom."""


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include deskmate's built-in defaults.")
@click.option("--hook", "hook_name", metavar="NAME", help="Only plugins implementing this hook.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(show_all: bool, hook_name: str | None, as_json: bool) -> None:
    """List plugins with their version, status and hooks (and why one failed or is disabled)."""
    host = make_plugin_manager()
    infos = host.report(include_defaults=show_all)
    if hook_name is not None:
        known = host.hook_names()
        if hook_name not in known:
            raise click.BadParameter(
                f"no hook is named {hook_name!r}{suggest_hook(hook_name, known)}",
                param_hint="--hook",
            )
        infos = [i for i in infos if hook_name in i.hooks]
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in infos], indent=2))
        return
    click.echo(plugin_table(infos))


@cli.command()
@click.option("--host", "listen", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=click.IntRange(1, 256))
def serve(listen: str, port: int, threads: int) -> None:
    """Apply database migrations, then serve webhooks and pages with waitress until stopped."""
    settings, host = Settings(), make_plugin_manager()
    try:
        server = make_server(settings, host, listen=listen, port=port, threads=threads)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"can't listen on {listen}:{port}: {exc.strerror or exc}. "
            "Choose another --port or stop the program using it."
        ) from None
    click.echo(f"deskmate serving on {listen_url(server)} (Ctrl-C to stop)")
    run(server, settings, host)
    click.echo("deskmate stopped")


cli.add_command(db_group)


def main() -> None:
    cli()
