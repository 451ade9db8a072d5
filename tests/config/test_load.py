"""Loading the core config: the shape, defaults, paths, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskmate.core.config import (
    ConfigInvalid,
    Settings,
    SettingsSchema,
    config_keys,
    load_settings,
    settings_from_mapping,
)


def test_minimal_config_loads_with_documented_defaults(write_config, env):
    token = env["INTERCOM_ACCESS_TOKEN"]
    settings = load_settings(write_config(), env)

    ws = settings.workspaces["abc123"]
    assert ws.access_token.reveal() == token
    assert (ws.region, ws.intercom_version, ws.rate_limit) == ("us", "2.11", 10000)
    assert ws.routing.mode == "unassigned"
    assert (ws.process_unassigned, ws.process_on_assignment) == (False, True)
    assert ws.channel("messenger").autopilot is True
    assert ws.handoff.tag == "opencx_handed_off"
    assert ws.api_base_url() == "https://api.intercom.io"
    assert settings.public_url == "https://help.acme.test"
    assert settings.jobs_backend == "sqlite"


def test_relative_paths_are_taken_from_the_config_files_folder(write_config, env, tmp_path):
    path = write_config(top='database_url = "sqlite:///data/dm.db"\ninstance_path = "var"\n')

    settings = load_settings(path, env)

    assert settings.instance_path == tmp_path / "var"
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'data' / 'dm.db'}"
    assert settings.source_path == path


def test_default_database_is_a_sqlite_file_in_the_instance_folder(write_config, env, tmp_path):
    settings = load_settings(write_config(), env)

    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'instance' / 'deskmate.db'}"


def test_every_documented_workspace_option_is_read(write_config, env):
    path = write_config(
        """
        name = "Acme"
        region = "eu"
        intercom_version = "2.14"
        base_url = "http://127.0.0.1:8081/"
        rate_limit = 500
        process_unassigned = true
        process_on_assignment = false
        [workspaces.abc123.routing]
        mode = "team"
        team_id = "77"
        [workspaces.abc123.channels.email]
        autopilot = false
        assist = true
        [workspaces.abc123.handoff]
        tag = "needs_human"
        [workspaces.abc123.enrichment]
        allow = ["plan"]
        ttl_seconds = 60
        """
    )

    ws = load_settings(path, env).workspaces["abc123"]

    assert (ws.name, ws.region, ws.intercom_version, ws.rate_limit) == ("Acme", "eu", "2.14", 500)
    assert ws.api_base_url() == "http://127.0.0.1:8081"
    assert (ws.process_unassigned, ws.process_on_assignment) == (True, False)
    assert (ws.routing.mode, ws.routing.team_id) == ("team", "77")
    assert (ws.channel("email").autopilot, ws.channel("email").assist) == (False, True)
    assert ws.handoff.tag == "needs_human"
    assert (ws.enrichment.allow, ws.enrichment.ttl_seconds) == (("plan",), 60)


@pytest.mark.parametrize(("region", "host"), [("eu", "api.eu."), ("au", "api.au.")])
def test_region_chooses_the_intercom_base_url(write_config, env, region, host):
    ws = load_settings(write_config(f'region = "{region}"\n'), env).workspaces["abc123"]

    assert ws.api_base_url() == f"https://{host}intercom.io"


def test_config_file_comes_from_the_environment_unless_a_path_is_given(write_config, env):
    chosen = write_config(name="chosen.toml")
    other = write_config(text=MINIMAL_OTHER, name="other.toml")
    env["DESKMATE_CONFIG"] = str(chosen)

    assert set(load_settings(None, env).workspaces) == {"abc123"}
    assert set(load_settings(other, env).workspaces) == {"xyz789"}


MINIMAL_OTHER = """
[workspaces.xyz789]
access_token = { env = "INTERCOM_ACCESS_TOKEN" }
client_secret = { env = "INTERCOM_CLIENT_SECRET" }
ai_admin_id = "1"
"""


# -- malformed, hostile and oversized files -------------------------------------------------


def test_malformed_toml_is_one_error_with_line_and_column(write_config, env):
    token = env["INTERCOM_ACCESS_TOKEN"]
    path = write_config(text='public_url = "https://x.example"\naccess_token = abc-' + token)

    with pytest.raises(ConfigInvalid) as caught:
        load_settings(path, env)

    (error,) = caught.value.errors
    assert (error.line, error.column) == (2, 16)
    assert "not valid TOML" in error.message and "line 2, column 16" in error.message
    assert token not in str(caught.value)


def test_missing_file_says_how_to_create_one(tmp_path, env):
    with pytest.raises(ConfigInvalid) as caught:
        load_settings(tmp_path / "absent.toml", env)

    (error,) = caught.value.errors
    assert error.message == "config file not found"
    assert "deskmate init" in error.hint


def test_a_folder_is_not_a_config_file(tmp_path, env):
    with pytest.raises(ConfigInvalid, match="not a regular file"):
        load_settings(tmp_path, env)


def test_oversized_file_is_refused(write_config, env):
    path = write_config(top="# " + "x" * (1024 * 1024))

    with pytest.raises(ConfigInvalid, match="larger than 1 MiB"):
        load_settings(path, env)


def test_non_utf8_file_is_refused(tmp_path, env):
    path = tmp_path / "deskmate.toml"
    path.write_bytes(b'public_url = "caf\xe9"\n')

    with pytest.raises(ConfigInvalid, match="not UTF-8"):
        load_settings(path, env)


def test_absurdly_nested_toml_is_refused_cleanly(write_config, env):
    path = write_config(text="x = " + "[" * 50_000 + "]" * 50_000 + "\n")

    with pytest.raises(ConfigInvalid, match="too deeply"):
        load_settings(path, env)


def test_hostile_key_names_are_shortened_in_paths(write_config, env, errors_of):
    key = "evil key " + "z" * 500
    errors = errors_of(write_config(top=f'"{key}" = 1'), env)

    (path,) = errors
    assert len(path) < 60 and path.startswith("'evil key")


# -- unknown keys, wrong types, missing keys: every one named, all at once ---------------------


def test_misspelt_keys_get_did_you_mean_at_every_level(write_config, env, errors_of):
    path = write_config(
        """
        regoin = "eu"
        [workspaces.abc123.routing]
        mdoe = "team"
        """
    )
    errors = errors_of(path, env)

    assert errors["workspaces.abc123.regoin"].message == "unknown key"
    assert errors["workspaces.abc123.regoin"].hint == "did you mean 'region'?"
    assert errors["workspaces.abc123.routing.mdoe"].hint == "did you mean 'mode'?"


def test_unknown_key_without_a_close_match_lists_the_known_keys(write_config, env, errors_of):
    errors = errors_of(write_config("[jobs]\nqqqq = 1\n"), env)

    assert errors["jobs.qqqq"].hint == (
        "known keys: backend, lease_seconds, max_attempts, redis_url, sweep_seconds"
    )


def test_wrong_types_name_the_key_and_show_what_to_write(write_config, env, errors_of):
    path = write_config(
        """
        rate_limit = "10000"
        process_unassigned = "yes"
        name = 4242
        [workspaces.abc123.channels.messenger]
        autopilot = 1
        """,
    )
    errors = errors_of(path, env)

    assert errors["workspaces.abc123.rate_limit"].message == "must be a whole number"
    assert errors["workspaces.abc123.rate_limit"].hint == "e.g. rate_limit = 10000"
    assert errors["workspaces.abc123.process_unassigned"].message == "must be true or false"
    assert errors["workspaces.abc123.name"].message == "must be a string"
    assert errors["workspaces.abc123.name"].hint == 'e.g. name = "Acme"'
    assert errors["workspaces.abc123.channels.messenger.autopilot"].message == (
        "must be true or false"
    )


def test_a_table_written_as_a_value_is_named(write_config, env, errors_of):
    errors = errors_of(write_config(top='jobs = "sqlite"'), env)

    assert errors["jobs"].message == "must be a table"


def test_missing_required_keys_are_all_reported_together(write_config, env, errors_of):
    path = write_config(text="[workspaces.abc123]\nregion = 'mars'\n")

    errors = errors_of(path, env)

    assert set(errors) == {
        "workspaces.abc123.access_token",
        "workspaces.abc123.client_secret",
        "workspaces.abc123.ai_admin_id",
        "workspaces.abc123.region",
    }
    assert errors["workspaces.abc123.ai_admin_id"].message == "is required"
    assert errors["workspaces.abc123.ai_admin_id"].hint.startswith('add ai_admin_id = "')
    assert errors["workspaces.abc123.access_token"].hint == (
        'add access_token = { env = "INTERCOM_ACCESS_TOKEN" }'
    )
    assert errors["workspaces.abc123.region"].message == "must be one of us, eu, au"


def test_a_config_without_workspaces_says_to_add_one(write_config, env, errors_of):
    errors = errors_of(write_config(text='public_url = "https://x.example"\n'), env)

    assert errors["workspaces"].message == "is required"
    assert "[workspaces.<app_id>]" in errors["workspaces"].hint


@pytest.mark.parametrize(("mode", "key"), [("admin", "admin_id"), ("team", "team_id")])
def test_routing_to_an_admin_or_team_needs_its_id(write_config, env, errors_of, mode, key):
    errors = errors_of(write_config(f'[workspaces.abc123.routing]\nmode = "{mode}"\n'), env)

    assert errors[f"workspaces.abc123.routing.{key}"].message == f'is required when mode = "{mode}"'


def test_redis_jobs_need_a_redis_url(write_config, env, errors_of):
    errors = errors_of(write_config('[jobs]\nbackend = "redis"\n'), env)

    assert errors["jobs.redis_url"].message == 'is required when backend = "redis"'


def test_the_sweep_interval_is_read_and_bounded(write_config, env, errors_of):
    assert load_settings(write_config(), env).jobs_sweep_seconds == 15
    settings = load_settings(write_config("[jobs]\nsweep_seconds = 3\n"), env)
    assert settings.jobs_sweep_seconds == 3

    errors = errors_of(write_config("[jobs]\nsweep_seconds = 0\n"), env)

    assert errors["jobs.sweep_seconds"].message == "must be between 1 and 3600 seconds"


def test_bad_values_are_refused(write_config, env, errors_of):
    path = write_config(
        'base_url = "not a url"\n[workspaces.abc123.routing]\nmode = "anyone"',
        top='database_url = "ftp://x/y"',
    )
    errors = errors_of(path, env)

    assert errors["workspaces.abc123.base_url"].message == "must be an http(s) URL"
    assert errors["database_url"].message.startswith("must be a URL starting with sqlite")
    assert errors["workspaces.abc123.routing.mode"].message == (
        "must be one of unassigned, admin, team"
    )


def test_settings_can_be_built_from_a_mapping(env, tmp_path, secret_values):
    raw = {
        "workspaces": {
            "w1": {
                "access_token": {"env": "INTERCOM_ACCESS_TOKEN"},
                "client_secret": {"env": "INTERCOM_CLIENT_SECRET"},
                "ai_admin_id": "1",
            }
        }
    }

    settings = settings_from_mapping(raw, base_dir=tmp_path, env=env)

    assert isinstance(settings, Settings) and settings.instance_path == tmp_path / "instance"
    assert all(value not in repr(settings) for value in secret_values)


def test_config_keys_walks_named_tables_with_placeholders():
    keys = config_keys(SettingsSchema)

    assert "workspaces.<app_id>.routing.mode" in keys
    assert "workspaces.<app_id>.channels.<channel>.assist" in keys
    assert "plugins.<name>.enabled" in keys
    assert "workspaces" not in keys


def test_paths_outside_the_config_folder_stay_absolute(write_config, env):
    absolute = Path("/srv/deskmate/instance")
    settings = load_settings(write_config(top=f'instance_path = "{absolute}"'), env)

    assert settings.instance_path == absolute


def test_the_brain_section_is_validated_by_the_brains_schema(write_config, env, errors_of):
    errors = errors_of(write_config("[brain.triggers]\nlop = false"), env)

    assert errors["brain.triggers.lop"].hint == "did you mean 'loop'?"


def test_the_brain_section_reaches_the_settings(write_config, env):
    path = write_config('[brain]\nmax_ai_turns = 2\nhandoff_topics = ["refund"]')

    brain = load_settings(path, env).brain

    assert (brain.max_ai_turns, brain.handoff_topics) == (2, ("refund",))
