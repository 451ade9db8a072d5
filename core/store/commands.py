"""``deskmate db …``: apply and inspect the schema migrations."""

from __future__ import annotations

import click

from deskmate.core.clicontext import load_config
from deskmate.core.store.db import DatabaseError, check_schema, current_revision, masked, upgrade

database_url_option = click.option(
    "--database-url",
    metavar="URL",
    help="Database to use instead of the one the config file names (no config file needed).",
)


def _url(database_url: str | None) -> str:
    """``--database-url`` if given, else the configured database (the config must load)."""
    if database_url:
        return database_url
    settings, _host = load_config()
    return settings.resolved_database_url()


@click.group("db")
def db_group() -> None:
    """Apply and inspect deskmate's database migrations."""


@db_group.command("upgrade")
@database_url_option
def upgrade_command(database_url: str | None) -> None:
    """Bring the database schema up to date (safe to run again; `serve` does it too)."""
    url = _url(database_url)
    try:
        before = current_revision(url)
        after = upgrade(url)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    if before == after:
        click.echo(f"{masked(url)}: already at {after} (latest)")
    else:
        click.echo(f"{masked(url)}: upgraded from {before or 'an empty database'} to {after}")


@db_group.command("current")
@database_url_option
def current_command(database_url: str | None) -> None:
    """Show the database's schema revision and whether it is the latest."""
    url = _url(database_url)
    try:
        status = check_schema(url)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{masked(url)}: {status.describe()}")
