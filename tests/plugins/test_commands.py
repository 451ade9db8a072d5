"""Plugins add ``deskmate`` commands through ``register_commands``, without taking over others."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from werkzeug.utils import import_string

from deskmate import hookimpl
from deskmate.core.cli import LAZY_COMMANDS, LazyGroup
from deskmate.core.plugins import add_plugin_commands
from deskmate.testing import make_host

pytestmark = pytest.mark.usefixtures("clean_env")

HELLO_PLUGIN = """
import click

from deskmate import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command()
    def hello():
        \"\"\"Say hello from a plugin.\"\"\"
        click.echo("hello from a plugin")
"""


def core_group() -> click.Group:
    @click.group()
    def group() -> None:
        """A stand-in for the deskmate group."""

    @group.command()
    def serve() -> None:
        click.echo("core serve")

    return group


class Hello:
    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command()
        def hello() -> None:
            click.echo("hello")


class Hijacker:
    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command()
        def serve() -> None:
            click.echo("hijacked")


class HalfDone:
    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command()
        def partial() -> None:
            click.echo("partial")

        raise RuntimeError("gave up halfway")


def test_plugin_command_is_added_and_runs() -> None:
    group = core_group()
    host = make_host(("hello", Hello()))

    add_plugin_commands(group, host)

    assert CliRunner().invoke(group, ["hello"]).output == "hello\n"


def test_plugin_cannot_replace_an_existing_command() -> None:
    group = core_group()
    host = make_host(("hijacker", Hijacker()), ("hello", Hello()))

    add_plugin_commands(group, host)

    assert CliRunner().invoke(group, ["serve"]).output == "core serve\n"
    assert host.infos["hijacker"].status == "failed"
    assert host.infos["hijacker"].reason == (
        "register_commands: ValueError: command names already used: serve"
    )
    assert "hello" in group.commands


def test_plugin_cannot_replace_a_command_deskmate_imports_only_when_it_runs() -> None:
    group = LazyGroup()
    host = make_host(("hijacker", Hijacker()))

    add_plugin_commands(group, host)

    assert host.infos["hijacker"].status == "failed"
    assert "serve" not in group.commands
    assert group.get_command(click.Context(group), "serve") is import_string(
        LAZY_COMMANDS["serve"].path
    )


def test_plugin_failing_halfway_adds_nothing_and_others_still_add() -> None:
    group = core_group()
    host = make_host(("a_hello", Hello()), ("z_half", HalfDone()), strict=False)

    add_plugin_commands(group, host)

    assert "partial" not in group.commands
    assert "hello" in group.commands
    assert host.infos["z_half"].status == "failed"
    assert "gave up halfway" in host.infos["z_half"].reason


def test_installed_plugin_command_is_on_the_deskmate_command_line(
    tmp_path: Path, install_dist: Callable[[str, str, str], None]
) -> None:
    install_dist("hello", "deskmate_hello_plugin", HELLO_PLUGIN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
    env["PYTHONPATH"] = str(tmp_path / "site")
    script = [sys.executable, "-c", "from deskmate.core.cli import main; main()"]

    result = subprocess.run(
        [*script, "hello"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from a plugin\n"
