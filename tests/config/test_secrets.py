"""Secrets come only by reference, resolve at load time, and never appear in any message."""

from __future__ import annotations

import logging

import pytest

from deskmate.core.config import ConfigInvalid, load_settings

WORKSPACE = """
[workspaces.abc123]
ai_admin_id = "4242"
client_secret = { env = "INTERCOM_CLIENT_SECRET" }
"""


def _problems(path, env) -> tuple[dict, str]:
    with pytest.raises(ConfigInvalid) as caught:
        load_settings(path, env)
    return {e.path: e for e in caught.value.errors}, str(caught.value)


def test_secret_from_a_file_is_read_and_loses_its_trailing_newline(write_config, env, tmp_path):
    (tmp_path / "token").write_text("from-file-token\n")
    path = write_config(text=WORKSPACE + 'access_token = { file = "token" }\n')

    token = load_settings(path, env).workspaces["abc123"].access_token

    assert token.reveal() == "from-file-token"
    assert token.source == "file" and token.ref == str(tmp_path / "token")


def test_a_literal_secret_is_refused_without_echoing_it(write_config, env):
    literal = env["INTERCOM_ACCESS_TOKEN"]
    path = write_config(text=WORKSPACE + f'access_token = "{literal}"\n')

    errors, text = _problems(path, env)

    error = errors["workspaces.abc123.access_token"]
    assert "secrets are never written in the config file" in error.message
    assert '{ env = "INTERCOM_ACCESS_TOKEN" }' in error.hint
    assert literal not in text


def test_an_unset_variable_is_named_and_nothing_else(write_config, env, secret_values):
    del env["INTERCOM_CLIENT_SECRET"]
    path = write_config(text=WORKSPACE + 'access_token = { env = "INTERCOM_ACCESS_TOKEN" }\n')

    errors, text = _problems(path, env)

    error = errors["workspaces.abc123.client_secret"]
    assert error.message == "environment variable INTERCOM_CLIENT_SECRET is not set"
    assert "export INTERCOM_CLIENT_SECRET" in error.hint
    assert not any(value in text for value in secret_values)


def test_an_empty_variable_is_an_error(write_config, env):
    env["INTERCOM_ACCESS_TOKEN"] = ""
    path = write_config(text=WORKSPACE + 'access_token = { env = "INTERCOM_ACCESS_TOKEN" }\n')

    errors, _ = _problems(path, env)

    assert errors["workspaces.abc123.access_token"].message.endswith("is empty")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist or is not a file"),
        (b"", "is empty"),
        (b"\n", "is empty"),
        (b"\xff\xfe", "is not UTF-8 text"),
        (b"x" * (64 * 1024 + 1), "is larger than 64 KiB"),
    ],
)
def test_unusable_secret_files_are_named(write_config, env, tmp_path, content, message):
    if content is not None:
        (tmp_path / "token").write_bytes(content)
    path = write_config(text=WORKSPACE + 'access_token = { file = "token" }\n')

    errors, _ = _problems(path, env)

    error = errors["workspaces.abc123.access_token"]
    assert str(tmp_path / "token") in error.message and error.message.endswith(message)


def test_a_folder_is_not_a_secret_file(write_config, env, tmp_path):
    path = write_config(text=WORKSPACE + f'access_token = {{ file = "{tmp_path}" }}\n')

    errors, _ = _problems(path, env)

    assert "is not a file" in errors["workspaces.abc123.access_token"].message


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ('{ vault = "x" }', "has an unknown key vault"),
        ('{ env = "A", file = "b" }', "must give exactly one of env or file"),
        ("{ env = 5 }", "env must be a non-empty string"),
        ("{ }", "must give exactly one of env or file"),
        ("42", "must be a secret reference"),
    ],
)
def test_malformed_references_say_how_to_write_one(write_config, env, reference, message):
    path = write_config(text=WORKSPACE + f"access_token = {reference}\n")

    errors, _ = _problems(path, env)

    error = errors["workspaces.abc123.access_token"]
    assert error.message == message
    assert "env" in error.hint


def test_a_value_written_where_the_variable_name_goes_is_not_echoed(write_config, env):
    value = "dG9rOjEyMzQ1Njc4OTA=:" + env["INTERCOM_ACCESS_TOKEN"]
    path = write_config(text=WORKSPACE + f'access_token = {{ env = "{value}" }}\n')

    errors, text = _problems(path, env)

    assert "name of an environment variable" in errors["workspaces.abc123.access_token"].message
    assert value not in text and env["INTERCOM_ACCESS_TOKEN"] not in text


def test_a_database_password_in_the_file_is_refused_without_echoing_it(write_config, env):
    path = write_config(top='database_url = "postgresql://app:hunter2-secret@db/deskmate"')

    errors, text = _problems(path, env)

    assert "passwords are never written" in errors["database_url"].message
    assert 'database_url = { env = "DATABASE_URL" }' in errors["database_url"].hint
    assert "hunter2-secret" not in text


def test_a_database_url_with_a_password_comes_from_the_environment(write_config, env):
    env["DATABASE_URL"] = "postgresql://app:hunter2-secret@db/deskmate"
    path = write_config(top='database_url = { env = "DATABASE_URL" }')

    settings = load_settings(path, env)

    assert settings.resolved_database_url() == env["DATABASE_URL"]
    assert "hunter2-secret" not in repr(settings)


def test_loaded_settings_never_show_a_secret(write_config, env, secret_values, caplog):
    caplog.set_level(logging.DEBUG)

    settings = load_settings(write_config(), env)

    shown = repr(settings) + str(settings) + caplog.text
    assert not any(value in shown for value in secret_values)
    assert "Secret(env:INTERCOM_ACCESS_TOKEN)" in repr(settings)
