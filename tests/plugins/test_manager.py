"""The plugin manager: discovery, the config's allow-list, load isolation, validation, tracing."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pluggy
import pytest
from click.testing import CliRunner

from deskmate import hookimpl
from deskmate.core.app import create_app
from deskmate.core.cli import cli
from deskmate.core.config import Settings
from deskmate.core.plugins import DEFAULT_PLUGINS, make_plugin_manager
from deskmate.testing import make_message, make_turn

from .conftest import GOOD_PLUGIN, MISSPELT_PLUGIN

pytestmark = pytest.mark.usefixtures("clean_env")

Install = Callable[[str, str, str], None]

CONFIG_DISABLING_GOOD = """
[workspaces.testapp]
access_token = { env = "TEST_INTERCOM_TOKEN" }
client_secret = { env = "TEST_INTERCOM_CLIENT_SECRET" }
ai_admin_id = "999"

[plugins.good]
enabled = false
"""


def by_name(rows: list[dict]) -> dict[str, dict]:
    return {row["name"]: row for row in rows}


@pytest.mark.usefixtures("good_and_broken")
def test_broken_plugin_is_reported_and_the_good_one_runs(tmp_path: Path) -> None:
    host = make_plugin_manager()

    good, broken = host.infos["good"], host.infos["broken"]
    assert (good.status, good.version, good.hooks) == ("loaded", "1.2.0", ["inbound_message"])
    assert broken.status == "failed"
    where = tmp_path / "site" / "deskmate_broken_plugin.py"
    assert broken.reason == f"RuntimeError: boom while importing (at {where}, line 2)"
    host.hook.inbound_message(turn=make_turn(), message=make_message("still served"))
    assert sys.modules["deskmate_good_plugin"].CALLS == ["still served"]


@pytest.mark.usefixtures("good_and_broken")
def test_plugins_command_json_shows_loaded_and_failed_plugins() -> None:
    result = CliRunner().invoke(cli, ["plugins", "--json"])

    assert result.exit_code == 0, result.output
    rows = by_name(json.loads(result.output))
    assert rows["good"]["status"] == "loaded"
    assert rows["broken"]["status"] == "failed"
    assert "boom while importing" in rows["broken"]["reason"]
    assert {"messenger", "email", "knowledge_sync"} <= rows.keys()
    assert not set(DEFAULT_PLUGINS) & rows.keys()


@pytest.mark.usefixtures("good_and_broken")
def test_plugins_endpoint_shows_loaded_and_failed_plugins(settings: Settings) -> None:
    client = create_app(settings, testing=True).test_client()

    rows = by_name(client.get("/-/plugins").get_json())

    assert rows["good"]["status"] == "loaded"
    assert rows["broken"]["status"] == "failed"
    assert rows["broken"]["reason"].startswith("RuntimeError: boom while importing (at ")


@pytest.mark.usefixtures("good_and_broken")
def test_plugins_table_prints_the_failure_reason() -> None:
    result = CliRunner().invoke(cli, ["plugins"])

    assert result.exit_code == 0
    lines = result.output.splitlines()
    broken = next(i for i, line in enumerate(lines) if line.startswith("broken "))
    assert "failed" in lines[broken]
    assert lines[broken + 1].strip().startswith("reason: RuntimeError: boom while importing")
    assert lines[broken + 1].endswith("deskmate_broken_plugin.py, line 2)")


def test_plugins_command_honours_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, install_dist: Install
) -> None:
    install_dist("good", "deskmate_good_plugin", GOOD_PLUGIN)
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", "token-value")
    monkeypatch.setenv("TEST_INTERCOM_CLIENT_SECRET", "secret-value")
    config = tmp_path / "elsewhere.toml"
    config.write_text(CONFIG_DISABLING_GOOD)

    result = CliRunner().invoke(cli, ["--config", str(config), "plugins", "--json"])

    assert result.exit_code == 0, result.output
    good = by_name(json.loads(result.output))["good"]
    assert (good["status"], good["reason"]) == ("disabled", "[plugins.good] enabled = false")
    assert "token-value" not in result.output
    assert "secret-value" not in result.output


def test_plugins_command_reports_a_missing_config_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "missing.toml"), "plugins"])

    assert result.exit_code == 2
    assert "config file not found" in result.output


def test_plugins_all_includes_the_defaults() -> None:
    result = CliRunner().invoke(cli, ["plugins", "--all", "--json"])

    rows = by_name(json.loads(result.output))
    assert all(rows[name]["default"] for name in DEFAULT_PLUGINS)


def test_plugins_hook_filter_keeps_implementers_only(install_dist: Install) -> None:
    install_dist("good", "deskmate_good_plugin", GOOD_PLUGIN)

    result = CliRunner().invoke(cli, ["plugins", "--hook", "inbound_message", "--json"])

    assert [row["name"] for row in json.loads(result.output)] == ["good"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("inbound_mesage", "did you mean 'inbound_message'?"),
        ("x" * 10_000, "no hook is named"),
        ("'; DROP TABLE plugins; --", "no hook is named"),
    ],
    ids=["misspelt", "oversized", "hostile"],
)
def test_plugins_unknown_hook_is_a_usage_error(value: str, expected: str) -> None:
    result = CliRunner().invoke(cli, ["plugins", "--hook", value])

    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


def test_misspelt_hook_name_fails_the_plugin_with_a_suggestion(install_dist: Install) -> None:
    install_dist("typo", "deskmate_typo_plugin", MISSPELT_PLUGIN)

    host = make_plugin_manager()

    info = host.infos["typo"]
    assert info.status == "failed"
    assert "unknown hook 'inbound_mesage' (did you mean 'inbound_message'?)" in info.reason
    assert host.plugin("typo") is None
    assert "messenger" in host.loaded()


def test_strict_mode_reraises_the_import_error(install_dist: Install) -> None:
    install_dist("broken", "deskmate_broken_plugin", "raise RuntimeError('boom')\n")

    with pytest.raises(RuntimeError, match="boom"):
        make_plugin_manager(env={"DESKMATE_STRICT_PLUGINS": "1"})


def test_plugin_calling_sys_exit_at_import_does_not_end_the_host(
    install_dist: Install, tmp_path: Path
) -> None:
    install_dist("quitter", "deskmate_quitter_plugin", "import sys\nsys.exit(3)\n")

    host = make_plugin_manager(env={})

    assert host.infos["quitter"].status == "failed"
    where = tmp_path / "site" / "deskmate_quitter_plugin.py"
    assert host.infos["quitter"].reason == f"SystemExit: 3 (at {where}, line 2)"


def test_config_section_disables_a_plugin() -> None:
    host = make_plugin_manager({"email": {"enabled": False}}, env={})

    assert host.infos["email"].status == "disabled"
    assert host.infos["email"].reason == "[plugins.email] enabled = false"
    assert host.plugin("email") is None
    assert host.infos["messenger"].status == "loaded"


@pytest.mark.parametrize(
    ("section", "reason"),
    [
        ({"enabled": "yes"}, "[plugins.email] enabled = 'yes'"),
        ({"enabled": 1}, "[plugins.email] enabled = 1"),
        (["enabled"], "[plugins.email] is not a table"),
        ("x" * 100_000, "[plugins.email] is not a table"),
    ],
    ids=["string", "number", "list", "oversized-string"],
)
def test_malformed_section_disables_the_plugin_safely(section: object, reason: str) -> None:
    host = make_plugin_manager({"email": section}, env={})  # type: ignore[dict-item]

    assert (host.infos["email"].status, host.infos["email"].reason) == ("disabled", reason)
    assert host.infos["messenger"].status == "loaded"


@pytest.mark.parametrize(
    ("env", "loaded"),
    [
        ({"DESKMATE_LOAD_PLUGINS": "messenger"}, {"messenger"}),
        ({"DESKMATE_LOAD_PLUGINS": " email , messenger ,"}, {"email", "messenger"}),
        ({"DESKMATE_LOAD_PLUGINS": ""}, set()),
        ({"DESKMATE_LOAD_PLUGINS": ",,, ,"}, set()),
        ({"DESKMATE_DISABLE_PLUGINS": "email"}, {"messenger", "knowledge_sync", "llm"}),
        ({"DESKMATE_LOAD_PLUGINS": "email", "DESKMATE_DISABLE_PLUGINS": "email"}, set()),
    ],
    ids=["allow-one", "allow-spaces", "allow-none", "allow-garbage", "deny", "deny-beats-allow"],
)
def test_environment_overrides_choose_plugins(env: dict[str, str], loaded: set[str]) -> None:
    host = make_plugin_manager(env=env)

    assert set(host.loaded()) - set(DEFAULT_PLUGINS) == loaded
    assert set(DEFAULT_PLUGINS) <= set(host.loaded())


def test_environment_override_beats_config_section() -> None:
    host = make_plugin_manager(
        {"email": {"enabled": True}}, env={"DESKMATE_DISABLE_PLUGINS": "email"}
    )

    assert host.infos["email"].reason == "listed in DESKMATE_DISABLE_PLUGINS"


def test_builtin_channel_plugins_come_through_entry_points() -> None:
    host = make_plugin_manager(env={}, entry_points=())

    assert not {"messenger", "email", "knowledge_sync"} & host.infos.keys()


def test_name_clash_keeps_the_first_plugin() -> None:
    class Impostor:
        @hookimpl
        def inbound_message(self) -> None:
            raise AssertionError("the impostor must not be registered")

    host = make_plugin_manager(env={}, extra_plugins=[("deskmate.core.brain.hooks", Impostor())])

    first, second = (
        host.infos["deskmate.core.brain.hooks"],
        host.infos["deskmate.core.brain.hooks#2"],
    )
    assert (first.status, first.default) == ("loaded", True)
    assert (second.name, second.status) == ("deskmate.core.brain.hooks", "failed")
    assert "already named" in second.reason
    assert host.plugin("deskmate.core.brain.hooks") is sys.modules["deskmate.core.brain.hooks"]
    host.hook.inbound_message(turn=make_turn(), message=make_message())


def test_two_installed_plugins_with_one_name_are_both_reported(install_dist: Install) -> None:
    install_dist("twin", "deskmate_twin_one", GOOD_PLUGIN)
    install_dist("twin", "deskmate_twin_two", GOOD_PLUGIN)

    host = make_plugin_manager(env={})

    twins = [info for info in host.report() if info.name == "twin"]
    assert sorted(info.status for info in twins) == ["failed", "loaded"]
    assert len(host.hook.inbound_message.get_hookimpls()) == 1


def test_allow_list_names_a_plugin_that_is_not_installed() -> None:
    host = make_plugin_manager(env={"DESKMATE_LOAD_PLUGINS": "messenger,emial"})

    assert host.infos["emial"].status == "failed"
    assert host.infos["emial"].reason == (
        "listed in DESKMATE_LOAD_PLUGINS but not installed (did you mean 'email'?)"
    )
    assert host.infos["messenger"].status == "loaded"


def test_implementation_with_an_argument_the_spec_lacks_fails_validation() -> None:
    class Greedy:
        @hookimpl
        def inbound_message(self, message, secret_store):  # type: ignore[no-untyped-def]
            pass

    host = make_plugin_manager(env={}, entry_points=(), extra_plugins=[("greedy", Greedy())])

    assert host.infos["greedy"].status == "failed"
    assert "secret_store" in host.infos["greedy"].reason
    assert host.plugin("greedy") is None


def test_wrapper_on_an_event_hook_is_refused() -> None:
    class Wrapper:
        @hookimpl(wrapper=True)
        def inbound_message(self):  # type: ignore[no-untyped-def]
            return (yield)

    host = make_plugin_manager(env={}, entry_points=(), extra_plugins=[("wrapper", Wrapper())])

    assert host.infos["wrapper"].status == "failed"
    assert "wraps event hook 'inbound_message'" in host.infos["wrapper"].reason
    assert host.hook.inbound_message.get_hookimpls() == []


def test_event_failure_is_logged_with_the_plugin_name(caplog: pytest.LogCaptureFixture) -> None:
    seen = []

    class Failing:
        @hookimpl
        def inbound_message(self) -> None:
            raise ValueError("plugin bug")

    class Listening:
        @hookimpl
        def inbound_message(self, message) -> None:  # type: ignore[no-untyped-def]
            seen.append(message.text)

    host = make_plugin_manager(
        env={},
        entry_points=(),
        extra_plugins=[("a_listening", Listening()), ("z_failing", Failing())],
    )
    with caplog.at_level(logging.ERROR, logger="deskmate.core.plugins"):
        host.hook.inbound_message(turn=make_turn(), message=make_message("hello"))

    assert seen == ["hello"]
    assert "plugin 'z_failing' failed in inbound_message" in caplog.text
    assert "ValueError: plugin bug" in caplog.text


def test_plugins_registered_directly_are_isolated_too() -> None:
    seen = []

    class Failing:
        @hookimpl
        def handed_off(self) -> None:
            raise ValueError("plugin bug")

    host = make_plugin_manager(env={}, entry_points=())
    host.pm.register(SimpleNamespace(handed_off=hookimpl(lambda: seen.append("ok"))), "ok")
    host.pm.register(Failing(), "failing")

    host.hook.handed_off(turn=make_turn(), handoff=None, results=[])

    assert seen == ["ok"]


def test_tracing_prints_hook_calls_without_argument_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Listening:
        @hookimpl
        def inbound_message(self, message) -> None:  # type: ignore[no-untyped-def]
            pass

    host = make_plugin_manager(
        env={"DESKMATE_TRACE_PLUGINS": "1"}, entry_points=(), extra_plugins=[("ear", Listening())]
    )
    host.hook.inbound_message(turn=make_turn(), message=make_message("my card 4111 is blocked"))

    err = capsys.readouterr().err
    assert "[deskmate trace] inbound_message(turn, message) -> ear" in err
    assert "[deskmate trace] inbound_message returned list of 0" in err
    assert "4111" not in err


def test_tracing_is_off_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    host = make_plugin_manager(env={}, entry_points=())
    host.hook.summarize(turn=make_turn())

    assert "[deskmate trace]" not in capsys.readouterr().err


def test_manager_is_built_per_call_not_shared() -> None:
    first = make_plugin_manager(env={}, entry_points=())
    second = make_plugin_manager(env={}, entry_points=())

    assert first.pm is not second.pm
    assert isinstance(first.pm, pluggy.PluginManager)


def test_every_builtin_plugin_loads_and_implements_only_known_hooks() -> None:
    host = make_plugin_manager(env={"DESKMATE_STRICT_PLUGINS": "1"})

    host.pm.check_pending()
    builtin = {*DEFAULT_PLUGINS, "messenger", "email", "knowledge_sync"}
    assert builtin <= set(host.loaded())
    assert all(host.infos[name].hooks for name in builtin)


@pytest.mark.usefixtures("good_and_broken")
def test_quiet_host_reports_load_failures_without_logging_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BadCommands:
        @hookimpl
        def register_commands(self) -> None:
            raise RuntimeError("no commands today")

    with caplog.at_level(logging.DEBUG, logger="deskmate.core.plugins"):
        host = make_plugin_manager(quiet=True, extra_plugins=[("bad_commands", BadCommands())])
        load_errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        host.call_each("register_commands", lambda _: None, cli=None)

    assert host.infos["broken"].status == "failed"
    assert load_errors == []
    assert "boom while importing" in caplog.text
    assert [r.levelname for r in caplog.records if "no commands today" in r.getMessage()] == [
        "ERROR"
    ]
