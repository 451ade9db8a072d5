"""``deskmate init``, ``deskmate check-config`` and the group's ``--config`` option."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from deskmate.core.cli import cli
from deskmate.core.config import starter_text
from deskmate.core.config.starter import PLACEHOLDER_ADMIN_ID, PLACEHOLDER_APP_ID, PLACEHOLDER_HOST


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _all_output(result: Result) -> str:
    return result.stdout + result.stderr


def test_check_config_on_a_misspelt_key_exits_2_naming_it(write_config, env):
    path = write_config("[plugins.messenger]\nenabeld = true\n")

    result = _run("--config", str(path), "check-config", env=env)

    assert result.exit_code == 2
    assert "plugins.messenger.enabeld: unknown key (did you mean 'enabled'?)" in result.stderr
    assert "Traceback" not in _all_output(result)


def test_check_config_prints_every_problem_and_no_secret(write_config, env, secret_values):
    path = write_config('region = "mars"\nrate_limit = "x"\n')

    result = _run("--config", str(path), "check-config", env=env)

    assert result.exit_code == 2
    assert "workspaces.abc123.region: must be one of us, eu, au" in result.stderr
    assert "workspaces.abc123.rate_limit: must be a whole number" in result.stderr
    assert "2 problems in the configuration." in result.stderr
    assert not any(value in _all_output(result) for value in secret_values)


def test_check_config_summarises_a_valid_config(write_config, env, secret_values):
    env["DATABASE_URL"] = "postgresql://app:hunter2-secret@db.example/deskmate"
    path = write_config(top='database_url = { env = "DATABASE_URL" }')

    result = _run("--config", str(path), "check-config", env=env)

    assert result.exit_code == 0, result.stderr
    assert "workspace abc123" in result.stdout
    assert "plugin messenger: loaded" in result.stdout
    assert "database: postgresql://app:***@db.example/deskmate" in result.stdout
    assert "The configuration is valid." in result.stdout
    assert not any(v in _all_output(result) for v in (*secret_values, "hunter2-secret"))


def test_the_config_file_can_come_from_deskmate_config(write_config, env):
    env["DESKMATE_CONFIG"] = str(write_config(name="elsewhere.toml"))

    result = _run("check-config", env=env)

    assert result.exit_code == 0, result.stderr
    assert "elsewhere.toml" in result.stdout


def test_check_config_without_a_file_points_to_init(tmp_path, env, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = _run("check-config", env=env)

    assert result.exit_code == 2
    assert "config file not found" in result.stderr and "deskmate init" in result.stderr


def _filled_in(starter: str) -> str:
    """The starter with its placeholders replaced, as a new user would."""
    return (
        starter.replace(PLACEHOLDER_APP_ID, "abc123")
        .replace(PLACEHOLDER_ADMIN_ID, "4242")
        .replace(PLACEHOLDER_HOST, "help.acme.test")
    )


def test_the_placeholders_checked_are_the_starters_own():
    for placeholder in (PLACEHOLDER_APP_ID, PLACEHOLDER_ADMIN_ID, PLACEHOLDER_HOST):
        assert placeholder in starter_text()


def test_init_writes_a_starter_that_check_config_accepts_once_filled_in(
    tmp_path, env, secret_values, monkeypatch
):
    monkeypatch.chdir(tmp_path)

    written = _run("init", env={})
    unchanged = _run("check-config", env=env)
    config = tmp_path / "deskmate.toml"
    config.write_text(_filled_in(config.read_text()))
    checked = _run("check-config", env=env)

    assert written.exit_code == 0
    assert _filled_in(starter_text()) == config.read_text()
    for name in env:
        assert f"export {name}=" in written.stdout
    assert "https://deskmate.example.com/webhooks/intercom" in written.stdout
    assert "deskmate verify" in written.stdout and "deskmate serve" in written.stdout
    assert unchanged.exit_code == 2
    assert unchanged.stderr.splitlines() == [
        "public_url: is still the starter's example address (deskmate.example.com) "
        "(set the https address Intercom reaches this server at)",
        "workspaces.your_app_id: is the starter's placeholder, not a workspace id (rename "
        "[workspaces.your_app_id] and its sub-tables to your workspace (app) id, from your "
        "Intercom URL: https://app.intercom.com/a/apps/<app id>/)",
        "workspaces.your_app_id.ai_admin_id: is still the starter's placeholder (set the id of "
        "the Intercom admin the AI answers as; `deskmate verify` lists your admins and their ids)",
        "3 problems in the configuration.",
    ]
    assert checked.exit_code == 0, checked.stderr
    assert "The configuration is valid." in checked.stdout
    assert not any(value in _all_output(checked) for value in secret_values)


def test_check_config_reports_a_missing_table_and_a_misspelt_plugin_key_in_one_run(
    write_config, env
):
    path = write_config(
        text='public_url = "https://help.acme.test"\n[plugins.email]\nenabeld = true\n'
    )

    result = _run("--config", str(path), "check-config", env=env)

    assert result.exit_code == 2
    assert "workspaces: is required (add a [workspaces.<app_id>] section" in result.stderr
    assert "plugins.email.enabeld: unknown key (did you mean 'enabled'?)" in result.stderr
    assert "2 problems in the configuration." in result.stderr


def test_check_config_flags_a_short_admin_token_without_showing_it(write_config, env):
    env["DESKMATE_ADMIN_TOKEN"] = "hunter2hunter2"
    path = write_config()

    result = _run("--config", str(path), "check-config", env=env)

    assert result.exit_code == 2
    assert (
        "admin_token: is 14 characters long (from env DESKMATE_ADMIN_TOKEN); it needs at least 16"
        in result.stderr
    )
    assert "secrets.token_urlsafe(32)" in result.stderr
    assert "hunter2" not in _all_output(result)


def test_check_config_json_gives_each_problem_its_location_message_and_fix(write_config, env):
    bad = write_config('region = "mars"\n', name="bad.toml")
    good = write_config(name="good.toml")

    failed = _run("check-config", "--json", "--config", str(bad), env=env)
    passed = _run("check-config", "--json", "--config", str(good), env=env)

    assert failed.exit_code == 2
    assert json.loads(failed.stdout) == {
        "ok": False,
        "problems": [
            {
                "location": "workspaces.abc123.region",
                "message": "must be one of us, eu, au",
                "fix": 'e.g. region = "us"',
            }
        ],
    }
    assert passed.exit_code == 0
    assert json.loads(passed.stdout) == {"ok": True, "problems": []}


@pytest.mark.parametrize(
    "args",
    [
        ["check-config", "--config", "{path}"],
        ["--config", "elsewhere.toml", "check-config", "--config", "{path}"],
        ["db", "current", "--config", "{path}"],
        ["db", "--config", "{path}", "current"],
    ],
)
def test_config_is_accepted_after_the_command_too(write_config, env, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    path = write_config(name="mine.toml")

    result = _run(*(arg.format(path=path) for arg in args), env=env)

    assert result.exit_code == 0, result.output
    assert "Error" not in result.output


def test_the_starter_is_invalid_until_its_secrets_are_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _run("init")

    result = _run("check-config", env={})

    assert result.exit_code == 2
    assert "environment variable INTERCOM_ACCESS_TOKEN is not set" in result.stderr


def test_init_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "mine.toml"
    target.write_text("# my own config\n")

    refused = _run("init", "--path", str(target))
    kept = target.read_text()
    forced = _run("init", "--path", str(target), "--force")

    assert refused.exit_code == 1
    assert "exists; pass --force to overwrite it" in refused.stderr
    assert kept == "# my own config\n"
    assert forced.exit_code == 0 and target.read_text() == starter_text()


def test_init_writes_to_the_config_option_by_default(tmp_path):
    target = tmp_path / "custom.toml"

    result = _run("--config", str(target), "init")

    assert result.exit_code == 0 and target.read_text() == starter_text()


def test_init_into_a_missing_folder_is_a_clear_error(tmp_path):
    result = _run("init", "--path", str(tmp_path / "no" / "such" / "deskmate.toml"))

    assert result.exit_code == 1
    assert "can't write" in result.stderr and "No such file or directory" in result.stderr
