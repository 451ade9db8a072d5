"""The ``deskmate`` command line."""

from __future__ import annotations

import json
from pathlib import Path

import click
from werkzeug.utils import import_string

from deskmate import __version__
from deskmate.core.clicontext import CliState, load_config
from deskmate.core.config import (
    CONFIG_ENV,
    DEFAULT_CONFIG_NAME,
    config_path,
    describe,
    env_references,
    parse_toml,
    starter_text,
    write_starter,
)
from deskmate.core.intake import WEBHOOK_PATH
from deskmate.core.plugins import (
    add_plugin_commands,
    did_you_mean,
    make_plugin_manager,
    plugin_table,
)
from deskmate.core.server import (
    DEFAULT_THREADS,
    bind,
    embedded_worker,
    listen_url,
    prepare_app,
    run,
)
from deskmate.core.store.db import DatabaseError
from deskmate.core.verify import render_text, verify_settings

LAZY_COMMANDS = {
    "ask": "deskmate.core.brain.commands:ask",
    "db": "deskmate.core.store.commands:db_group",
    "demo": "deskmate.core.demo:demo",
    "events": "deskmate.core.operations:events",
    "knowledge": "deskmate.core.knowledge_cli:knowledge_group",
    "sandbox": "deskmate.core.sandbox.command:sandbox_command",
    "sessions": "deskmate.core.operations:sessions",
    "worker": "deskmate.core.operations:worker",
}
"""Commands imported only when they run (or are listed), so every command starts quickly."""


class LazyGroup(click.Group):
    """A click group that imports the commands of :data:`LAZY_COMMANDS` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            self.add_command(import_string(LAZY_COMMANDS[cmd_name]), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=CONFIG_ENV,
    help=f"Config file (default: ./{DEFAULT_CONFIG_NAME}; also ${CONFIG_ENV}).",
)
@click.version_option(__version__, prog_name="deskmate")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """deskmate: an AI teammate that works inside Intercom."""
    ctx.obj = CliState(config_path)


@cli.command()
@click.option(
    "--path",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Where to write it (default: --config, else ./{DEFAULT_CONFIG_NAME}).",
)
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@click.pass_context
def init(ctx: click.Context, target: Path | None, force: bool) -> None:
    """Write a commented starter config, then say what to fill in next."""
    state = ctx.find_object(CliState) or CliState()
    target = target or state.config_path or Path(DEFAULT_CONFIG_NAME)
    try:
        write_starter(target, force=force)
    except FileExistsError:
        raise click.ClickException(f"{target} exists; pass --force to overwrite it") from None
    except OSError as exc:
        raise click.ClickException(f"can't write {target}: {exc.strerror or exc}") from None
    starter = parse_toml(starter_text().encode())
    exports = "\n".join(f"       export {name}=…" for name in env_references(starter))
    click.echo(
        f"Wrote {target}. Next:\n"
        "  1. Edit it: your workspace (app) id in [workspaces.…], the AI teammate's admin id in\n"
        "     ai_admin_id, and the address Intercom reaches this server at in public_url.\n"
        f"  2. Set the secrets it refers to:\n{exports}\n"
        "  3. Check it: `deskmate check-config`, then `deskmate verify` (tests the credentials).\n"
        "  4. In the Intercom Developer Hub > Webhooks, set the URL to\n"
        f"     {starter['public_url']}{WEBHOOK_PATH} (with your public_url)\n"
        "     and subscribe to the topics `deskmate verify` lists.\n"
        "  5. Start it: `deskmate serve`."
    )


@cli.command("check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the config and every plugin section; print a summary, or every problem (exit 2)."""
    settings, host = load_config(ctx, strict=True)
    click.echo("\n".join(describe(settings, host)))
    click.echo("The configuration is valid.")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checklist as JSON.")
@click.pass_context
def verify(ctx: click.Context, as_json: bool) -> None:
    """Check each workspace's Intercom credentials and set-up; print the webhook to configure.

    Exits 1 when a check fails; every failing line says what to do.
    """
    settings, host = load_config(ctx)
    report = verify_settings(settings, email_channel="email" in host.loaded())
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else render_text(report))
    ctx.exit(0 if report.ok else 1)


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include deskmate's built-in defaults.")
@click.option("--hook", "hook_name", metavar="NAME", help="Only plugins implementing this hook.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def plugins(ctx: click.Context, show_all: bool, hook_name: str | None, as_json: bool) -> None:
    """List plugins with their version, status and hooks (and why one failed or is disabled).

    The config decides what loads; without a config file every installed plugin is listed.
    """
    state = ctx.find_object(CliState) or CliState()
    has_config = state.config_path is not None or config_path().exists()
    host = load_config(ctx)[1] if has_config else make_plugin_manager()
    infos = host.report(include_defaults=show_all)
    if hook_name is not None:
        known = host.hook_names()
        if hook_name not in known:
            raise click.BadParameter(
                f"no hook is named {hook_name!r}{did_you_mean(hook_name, known)}",
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
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Job consumer threads in this process; 0 when `deskmate worker` processes do the work.",
)
@click.pass_context
def serve(ctx: click.Context, listen: str, port: int, threads: int, workers: int) -> None:
    """Apply database migrations, then serve webhooks and pages with waitress until stopped."""
    settings, host = load_config(ctx)
    try:
        app = prepare_app(settings, host)
        server = bind(app, listen=listen, port=port, threads=threads)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"can't listen on {listen}:{port}: {exc.strerror or exc}. "
            "Choose another --port or stop the program using it."
        ) from None
    click.echo(f"deskmate serving on {listen_url(server)} (Ctrl-C to stop)")
    run(server, settings, host, [embedded_worker(workers)], app=app)
    click.echo("deskmate stopped")


def main() -> None:
    add_plugin_commands(cli, make_plugin_manager(quiet=True))
    cli()
