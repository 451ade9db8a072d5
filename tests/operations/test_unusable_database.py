"""Every command that reads or writes the store says what is wrong with an unusable database."""

from __future__ import annotations

import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from deskmate.core.cli import cli

ENV = {"T_TOKEN": "test-token-value", "T_SECRET": "test-client-secret-value"}


@pytest.fixture
def command_line() -> click.Group:
    """``deskmate`` as the console script runs it: the plugins' commands (``sync``) included."""
    return cli


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config whose SQLite file would live under a regular file, so it can't be created."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    path = tmp_path / "deskmate.toml"
    path.write_text(textwrap.dedent(f"""
        database_url = "sqlite:///{blocker / 'deskmate.db'}"

        [workspaces.abc]
        access_token = {{ env = "T_TOKEN" }}
        client_secret = {{ env = "T_SECRET" }}
        ai_admin_id = "42"
    """))  # fmt: skip
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "How do I get a refund?"],
        ["knowledge", "list"],
        ["events", "list"],
        ["sessions", "list"],
        ["sync", "--dry-run"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_an_unusable_database_ends_the_command_with_the_reason(
    command_line: click.Group, config: Path, tmp_path: Path, args: list[str]
) -> None:
    result = CliRunner().invoke(command_line, ["--config", str(config), *args], env=ENV)

    assert result.exit_code == 1, result.output
    assert "Can't create the folder for the database" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not any(value in result.output for value in ENV.values())
    assert not (tmp_path / "instance").exists()
