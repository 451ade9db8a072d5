"""The ``deskmate`` command line.

It starts fast: ``deskmate --version`` and ``--help`` import click and little else. Commands are
imported when they run (:data:`LAZY_COMMANDS`), the installed plugins only when their commands
are looked for, and the config, store and plugin modules inside the commands that use them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from deskmate import __version__
from deskmate.core.configfile import CONFIG_ENV, DEFAULT_CONFIG_NAME


@dataclass(frozen=True)
class LazyCommand:
    """A command imported only when it runs, with the one-line help ``deskmate --help`` shows."""

    path: str  # ``module:attribute``
    summary: str  # the command's short help; a test keeps it equal to the command's own


LAZY_COMMANDS = {
    "ask": LazyCommand(
        "deskmate.core.brain.commands:ask",
        "Show what the AI would answer to QUESTION, with the hits and their scores.",
    ),
    "db": LazyCommand(
        "deskmate.core.store.commands:db_group", "Apply and inspect deskmate's database migrations."
    ),
    "demo": LazyCommand(
        "deskmate.core.demo:demo",
        "See deskmate work end to end against the built-in Intercom sandbox (no account needed).",
    ),
    "eval": LazyCommand(
        "deskmate.core.evaluation.command:eval_command",
        "Play eval cases through the AI (nothing sent to Intercom) and report how it did.",
    ),
    "events": LazyCommand(
        "deskmate.core.operations:events", "List stored webhook events and replay failed ones."
    ),
    "knowledge": LazyCommand(
        "deskmate.core.knowledge_cli:knowledge_group",
        "Look into the knowledge the AI answers from, and add local files to it.",
    ),
    "replay": LazyCommand(
        "deskmate.core.replay.command:replay",
        "Play stored conversations again through this config and report what would change.",
    ),
    "sandbox": LazyCommand(
        "deskmate.core.sandbox.command:sandbox_command",
        "Run a local fake Intercom (REST API, control API, signed webhooks) for demos and tests.",
    ),
    "serve": LazyCommand(
        "deskmate.core.server:serve",
        "Apply database migrations, then serve webhooks and pages with waitress until stopped.",
    ),
    "sessions": LazyCommand(
        "deskmate.core.operations:sessions", "What the AI saw, decided and did, per conversation."
    ),
    "shadow": LazyCommand(
        "deskmate.core.shadow.command:shadow_group",
        "Compare what the AI would have done in shadow mode with what the team did.",
    ),
    "verify": LazyCommand(
        "deskmate.core.verify:verify",
        "Check each workspace's Intercom credentials and set-up; print the webhook to configure.",
    ),
    "worker": LazyCommand(
        "deskmate.core.operations:worker",
        "Run job consumers and the scheduler alone (no web server) until stopped.",
    ),
}
"""Commands imported only when they run, so every command (and ``--help``) starts quickly."""


def import_command(path: str) -> click.Command:
    """The command at ``module:attribute``."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def accept_config_option(command: click.Command) -> None:
    """Let ``command`` (and a group's subcommands) take ``--config`` after its name too, as in
    ``deskmate verify --config x.toml``; it replaces the one given before the command."""
    if not any(param.name == "config_after_command" for param in command.params):
        command.params.append(
            click.Option(
                ["--config", "config_after_command"],
                type=click.Path(dir_okay=False, path_type=Path),
                expose_value=False,
                is_eager=True,
                callback=_use_config,
                help="Config file (also accepted before the command).",
            )
        )
    for sub in getattr(command, "commands", {}).values():
        accept_config_option(sub)


def _use_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    """Point the run's :class:`~deskmate.core.clicontext.CliState` (the root's ``obj``) at
    ``value`` and forget a config loaded from the earlier one."""
    state = ctx.find_root().obj
    if value is not None and state is not None:
        state.config_path, state.loaded = value, None


class LazyGroup(click.Group):
    """A click group that imports the commands of :data:`LAZY_COMMANDS` on first use.

    With ``plugin_commands=True`` it also adds the installed plugins' commands, the first time
    the command list is needed or a name is not one of its own.
    """

    def __init__(self, *args: Any, plugin_commands: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugins_pending = plugin_commands

    def add_installed_plugin_commands(self) -> None:
        """Load the installed plugins (not deskmate's own defaults) and adopt their commands."""
        if not self._plugins_pending:
            return
        self._plugins_pending = False
        from deskmate.core.plugins import add_plugin_commands, make_plugin_manager

        add_plugin_commands(self, make_plugin_manager(quiet=True, defaults=False))

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.add_installed_plugin_commands()
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            self.add_command(import_command(LAZY_COMMANDS[cmd_name].path), cmd_name)
        elif cmd_name not in self.commands:
            self.add_installed_plugin_commands()
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            accept_config_option(command)
        return command

    def _listed(self, ctx: click.Context, name: str) -> click.Command | None:
        """The command as listed: a stand-in carrying the summary while it is not imported."""
        if name in LAZY_COMMANDS and name not in self.commands:
            return click.Command(name, help=LAZY_COMMANDS[name].summary)
        return self.get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands without importing the lazy ones (their summary stands in)."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names), default=0)
        rows = []
        for name in names:
            command = self._listed(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, plugin_commands=True)
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
    from deskmate.core.clicontext import CliState

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
    from deskmate.core.clicontext import CliState
    from deskmate.core.config import env_references, parse_toml, starter_text, write_starter
    from deskmate.core.intercom.webhooks import WEBHOOK_PATH

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
@click.option("--json", "as_json", is_flag=True, help="Print {ok, problems: [{location, …}]}.")
@click.pass_context
def check_config_command(ctx: click.Context, as_json: bool) -> None:
    """Check the config and every enabled plugin; print a summary, or every problem (exit 2)."""
    import json

    from deskmate.core.clicontext import CliState, print_problems
    from deskmate.core.config import check_config, describe

    state = ctx.find_object(CliState) or CliState()
    report = check_config(state.config_path)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    elif report.ok and report.settings is not None and report.host is not None:
        click.echo("\n".join(describe(report.settings, report.host)))
        click.echo("The configuration is valid.")
    else:
        print_problems(report.problems)
    if not report.ok:
        ctx.exit(2)


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include deskmate's built-in defaults.")
@click.option("--hook", "hook_name", metavar="NAME", help="Only plugins implementing this hook.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def plugins(ctx: click.Context, show_all: bool, hook_name: str | None, as_json: bool) -> None:
    """List plugins with their version, status and hooks (and why one failed or is disabled).

    The config decides what loads; without a config file every installed plugin is listed.
    """
    import json

    from deskmate.core.clicontext import CliState, load_config
    from deskmate.core.config import config_path
    from deskmate.core.plugins import did_you_mean, make_plugin_manager, plugin_table

    state = ctx.find_object(CliState) or CliState()
    has_config = state.config_path is not None or config_path().exists()
    host = load_config(ctx)[1] if has_config else make_plugin_manager(quiet=True)
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


def main() -> None:
    cli()
