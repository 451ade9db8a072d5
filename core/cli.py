"""The ``deskmate`` command line."""

from __future__ import annotations

import json

import click

from deskmate import __version__
from deskmate.core.plugins import make_plugin_manager


@click.group()
@click.version_option(__version__, prog_name="deskmate")
def cli() -> None:
    """deskmate: an AI teammate that works inside Intercom."""


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include deskmate's built-in defaults.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(show_all: bool, as_json: bool) -> None:
    """List plugins with their version, hooks and status."""
    host = make_plugin_manager()
    infos = host.report(include_defaults=show_all)
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in infos], indent=2))
        return
    for info in infos:
        click.echo(f"{info.name} {info.version or ''} [{info.status}] {', '.join(info.hooks)}")


def main() -> None:
    cli()
