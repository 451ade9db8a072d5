"""A plugin that can't work is never called valid: ``check-config`` fails on it with the whole
reason, and a plugin missing a required setting is reported once, not by every command."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from deskmate.core.cli import cli
from deskmate.core.config import load

from .conftest import BROKEN_PLUGIN, MISSPELT_PLUGIN

pytestmark = pytest.mark.usefixtures("clean_env")

Install = Callable[[str, str, str], None]

CONFIG = """
public_url = "https://help.acme.test"

[workspaces.abc123]
access_token = { env = "TEST_INTERCOM_TOKEN" }
client_secret = { env = "TEST_INTERCOM_CLIENT_SECRET" }
ai_admin_id = "4242"
"""

SECRETS = {"TEST_INTERCOM_TOKEN": "tok-never-shown", "TEST_INTERCOM_CLIENT_SECRET": "cs-never"}

WRONG_ARGUMENT_PLUGIN = """
from deskmate import hookimpl


@hookimpl
def inbound_message(msg):
    pass
"""

NEEDS_A_KEY_PLUGIN = """
from marshmallow import Schema, fields

from deskmate import hookimpl


class Settings(Schema):
    api_key = fields.String(required=True)


@hookimpl
def config_schema():
    return Settings
"""

NEEDS_A_KEY_FIX = (
    "plugins.needy.api_key: Missing data for required field. (the plugin needs it: add a "
    "[plugins.needy] section with api_key = …, or turn the plugin off there with enabled = false)"
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "deskmate.toml"
    path.write_text(CONFIG)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return path


def _check(config: Path, *extra: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "check-config", *extra])


def test_a_plugin_that_fails_to_import_fails_check_config_saying_where(
    install_dist: Install, config: Path, tmp_path: Path
) -> None:
    install_dist("broken", "deskmate_broken_plugin", BROKEN_PLUGIN)

    result = _check(config)

    assert result.exit_code == 2
    where = tmp_path / "site" / "deskmate_broken_plugin.py"
    assert (
        f"plugins.broken: failed to load: RuntimeError: boom while importing (at {where}, "
        "line 2) (fix or update the plugin, or turn it off with enabled = false under "
        "[plugins.broken])"
    ) in result.stderr
    assert "The configuration is valid." not in result.output


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (MISSPELT_PLUGIN, "implements unknown hook 'inbound_mesage' (did you mean"),
        (WRONG_ARGUMENT_PLUGIN, "Argument(s) {'msg'} are declared in the hookimpl but can not"),
    ],
    ids=["unknown-hook", "unknown-argument"],
)
def test_a_plugin_with_an_unknown_hook_or_argument_fails_check_config(
    install_dist: Install, config: Path, source: str, reason: str
) -> None:
    install_dist("odd", "deskmate_odd_plugin", source)

    result = _check(config, "--json")

    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False
    [problem] = report["problems"]
    assert problem["location"] == "plugins.odd"
    assert problem["message"].startswith("failed to load: PluginValidationError: ")
    assert reason in problem["message"]
    assert "enabled = false" in problem["fix"]


def test_a_disabled_broken_plugin_does_not_fail_check_config(
    install_dist: Install, config: Path
) -> None:
    install_dist("broken", "deskmate_broken_plugin", BROKEN_PLUGIN)
    config.write_text(CONFIG + "\n[plugins.broken]\nenabled = false\n")

    result = _check(config)

    assert result.exit_code == 0, result.output
    assert "plugin broken: disabled: [plugins.broken] enabled = false" in result.stdout


def test_a_missing_required_setting_is_one_problem_with_its_fix(
    install_dist: Install, config: Path
) -> None:
    install_dist("needy", "deskmate_needy_plugin", NEEDS_A_KEY_PLUGIN)

    checked = _check(config)
    listed = CliRunner().invoke(cli, ["--config", str(config), "plugins"])

    assert checked.exit_code == 2
    assert checked.stderr.splitlines() == [NEEDS_A_KEY_FIX, "1 problem in the configuration."]
    assert listed.exit_code == 0
    assert "needy           1.2.0    failed" in listed.stdout


def test_a_missing_required_setting_is_logged_once_where_logs_are_read(
    install_dist: Install, config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``serve`` and ``worker`` load with ``quiet=False``: one warning, carrying the fix."""
    install_dist("needy", "deskmate_needy_plugin", NEEDS_A_KEY_PLUGIN)

    with caplog.at_level(logging.DEBUG, logger="deskmate"):
        _, host = load(config)
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]

    assert host.infos["needy"].status == "failed"
    assert loud == [f"config: {NEEDS_A_KEY_FIX}"]


def _console(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``deskmate ARGS`` as the console script does, where nothing else captures the log."""
    env = {**os.environ, **SECRETS, "PYTHONPATH": str(site)}
    script = "from deskmate.core.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_other_commands_do_not_repeat_a_plugins_problem(
    install_dist: Install, config: Path, tmp_path: Path
) -> None:
    install_dist("needy", "deskmate_needy_plugin", NEEDS_A_KEY_PLUGIN)

    result = _console(tmp_path / "site", "--config", str(config), "db", "current")

    assert result.returncode == 0, result.stderr
    assert "needy" not in result.stderr
    assert "needy" not in result.stdout


def test_plugins_without_a_config_gives_the_reason_once_in_its_table(
    install_dist: Install, tmp_path: Path
) -> None:
    install_dist("broken", "deskmate_broken_plugin", BROKEN_PLUGIN)

    result = _console(tmp_path / "site", "plugins")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.count("boom while importing") == 1
