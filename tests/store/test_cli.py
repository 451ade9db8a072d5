"""``deskmate db upgrade`` and ``deskmate db current``."""

from __future__ import annotations

import socket

from click.testing import CliRunner

from deskmate.core.cli import cli
from deskmate.core.store.db import head_revision


def run(*args: str):
    return CliRunner().invoke(cli, ["db", *args])


def test_upgrade_reports_before_and_after_then_nothing_to_do(tmp_path):
    url = f"sqlite:///{tmp_path / 'instance' / 'deskmate.db'}"
    first = run("upgrade", "--database-url", url)
    assert first.exit_code == 0, first.output
    assert f"upgraded from an empty database to {head_revision()}" in first.output
    second = run("upgrade", "--database-url", url)
    assert second.exit_code == 0
    assert f"already at {head_revision()} (latest)" in second.output


def test_current_says_whether_the_schema_is_latest(tmp_path):
    url = f"sqlite:///{tmp_path / 'deskmate.db'}"
    assert "schema empty" in run("current", "--database-url", url).output
    run("upgrade", "--database-url", url)
    result = run("current", "--database-url", url)
    assert result.exit_code == 0
    assert f"schema at {head_revision()} (latest)" in result.output


CONFIG = """
[workspaces.abc123]
access_token = { env = "TEST_INTERCOM_TOKEN" }
client_secret = { env = "TEST_INTERCOM_CLIENT_SECRET" }
ai_admin_id = "4242"
"""


def test_without_a_url_the_configured_database_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", "tok-never-print")
    monkeypatch.setenv("TEST_INTERCOM_CLIENT_SECRET", "cs-never-print")
    config = tmp_path / "deskmate.toml"
    config.write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "instance" / "deskmate.db").exists()
    assert "never-print" not in result.output


def test_without_a_url_or_a_config_file_it_says_how_to_make_one(tmp_path):
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "missing.toml"), "db", "current"])
    assert result.exit_code == 2
    assert "deskmate init" in result.output


def test_unreachable_database_fails_with_a_masked_url_and_what_to_check():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://deskmate:hunter2@127.0.0.1:{port}/deskmate"
    for command in ("upgrade", "current"):
        result = run(command, "--database-url", url)
        assert result.exit_code == 1
        assert f"deskmate:***@127.0.0.1:{port}/deskmate" in result.output
        assert "Check database_url in your configuration" in result.output
        assert "hunter2" not in result.output


def test_malformed_url_is_explained():
    result = run("upgrade", "--database-url", "localhost:5432")
    assert result.exit_code == 1
    assert "database_url must look like sqlite:///" in result.output
