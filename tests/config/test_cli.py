"""``deskmate init``, ``deskmate check-config`` and the group's ``--config`` option."""

from __future__ import annotations

from click.testing import CliRunner, Result

from deskmate.core.cli import cli
from deskmate.core.config import starter_text


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


def test_init_writes_a_starter_that_check_config_accepts_once_secrets_are_set(
    tmp_path, env, secret_values, monkeypatch
):
    monkeypatch.chdir(tmp_path)

    written = _run("init", env={})
    checked = _run("check-config", env=env)

    assert written.exit_code == 0
    assert (tmp_path / "deskmate.toml").read_text() == starter_text()
    for name in env:
        assert f"export {name}=" in written.stdout
    assert "https://deskmate.example.com/webhooks/intercom" in written.stdout
    assert "deskmate verify" in written.stdout and "deskmate serve" in written.stdout
    assert checked.exit_code == 0, checked.stderr
    assert not any(value in _all_output(checked) for value in secret_values)


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
