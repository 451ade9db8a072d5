"""The Flask host: factory, health, the plugin report, plugin routes and the startup hook."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask import Blueprint, Flask

from deskmate import hookimpl
from deskmate.core.app import CORE_BLUEPRINTS, HostState, create_app, state
from deskmate.core.config import ConfigInvalid, Secret, Settings
from deskmate.core.store import db
from deskmate.testing import make_host


def test_app_holds_its_settings_host_and_engine(settings: Settings) -> None:
    host = make_host()
    app = create_app(settings, host, testing=True)

    held = app.extensions["deskmate"]
    assert isinstance(held, HostState)
    assert held.settings is settings
    assert held.host is host
    assert held.engine is not None
    assert state(app) is held
    assert app.testing


def test_each_app_gets_its_own_plugin_host(settings: Settings) -> None:
    first, second = create_app(settings), create_app(settings)

    assert state(first).host is not state(second).host
    assert not first.testing


def test_app_without_arguments_loads_the_config_file(config_file: Path) -> None:
    app = create_app()

    held = state(app)
    assert held.settings.source_path == config_file
    assert list(held.settings.workspaces) == ["testapp"]
    assert "messenger" in held.host.loaded()


def test_app_without_arguments_and_no_config_file_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DESKMATE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)

    with pytest.raises(ConfigInvalid, match="config file not found"):
        create_app()


def test_core_blueprints_are_mounted(settings: Settings) -> None:
    app = create_app(settings, make_host())

    assert "deskmate.core.app:bp" in CORE_BLUEPRINTS
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/healthz", "/-/plugins"} <= rules


def test_healthz_is_ok_when_the_schema_is_current(settings: Settings) -> None:
    db.upgrade(settings.resolved_database_url())
    client = create_app(settings, make_host()).test_client()

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["reachable"] and body["database"]["at_head"]


def test_healthz_says_to_migrate_a_fresh_database(settings: Settings) -> None:
    client = create_app(settings, make_host()).test_client()

    response = client.get("/healthz")

    assert response.status_code == 503
    database = response.get_json()["database"]
    assert database["reachable"] and not database["at_head"]
    assert "deskmate db upgrade" in database["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "not a database url",
        "postgresql+nosuchdriver://deskmate:hunter2@127.0.0.1:1/deskmate",
        "postgresql://deskmate:hunter2@127.0.0.1:1/deskmate?connect_timeout=1",
    ],
    ids=["malformed", "unknown-driver", "unreachable"],
)
def test_healthz_reports_an_unusable_database_without_its_password(
    settings: Settings, url: str
) -> None:
    settings = dataclasses.replace(settings, database_url=url)
    client = create_app(settings, make_host()).test_client()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["database"]["reachable"] is False
    assert response.get_json()["database"]["detail"]
    assert "hunter2" not in response.get_data(as_text=True)


def test_healthz_reports_an_unwritable_sqlite_folder(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = dataclasses.replace(settings, database_url=f"sqlite:///{blocker}/deskmate.db")

    response = create_app(settings, make_host()).test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["database"]["reachable"] is False


def test_plugins_endpoint_matches_the_host_report(settings: Settings) -> None:
    host = make_host()
    client = create_app(settings, host).test_client()

    assert client.get("/-/plugins").get_json() == []
    everything = client.get("/-/plugins?all=1").get_json()
    assert everything == [info.as_dict() for info in host.report(include_defaults=True)]


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong", "Basic s3cret-admin", "Bearer " + "x" * 100_000, "Bearer ünïcode"],
    ids=["missing", "wrong", "wrong-scheme", "oversized", "non-ascii"],
)
def test_plugins_endpoint_needs_the_admin_token_when_one_is_set(
    settings: Settings, header: str | None
) -> None:
    token = Secret("env", "DESKMATE_ADMIN_TOKEN", "s3cret-admin")
    settings = dataclasses.replace(settings, admin_token=token)
    client = create_app(settings, make_host()).test_client()
    headers = {"Authorization": header} if header else {}

    response = client.get("/-/plugins", headers=headers)

    assert response.status_code == 401
    assert "Bearer" in response.get_json()["error"]
    assert "s3cret-admin" not in response.get_data(as_text=True)
    ok = client.get("/-/plugins", headers={"Authorization": "Bearer s3cret-admin"})
    assert ok.status_code == 200


class Pages:
    @hookimpl
    def register_routes(self, settings: Settings) -> list[Blueprint]:
        pages = Blueprint("pages", __name__)
        pages.add_url_rule("/pages/hello", "hello", lambda: f"hello from {settings.public_url}")
        return [pages]


class Clashing:
    @hookimpl
    def register_routes(self) -> list[Blueprint]:
        return [Blueprint("deskmate_host", __name__)]


class Raising:
    @hookimpl
    def register_routes(self) -> list[Blueprint]:
        raise RuntimeError("no routes today")


def test_plugin_blueprints_are_served(settings: Settings) -> None:
    client = create_app(settings, make_host(("pages", Pages()))).test_client()

    response = client.get("/pages/hello")

    assert response.get_data(as_text=True) == f"hello from {settings.public_url}"


@pytest.mark.parametrize("bad", [Clashing(), Raising()], ids=["name-clash", "raises"])
def test_plugin_whose_routes_fail_is_reported_and_others_still_served(
    settings: Settings, bad: object
) -> None:
    host = make_host(("bad", bad), ("pages", Pages()))
    client = create_app(settings, host).test_client()

    assert host.infos["bad"].status == "failed"
    assert host.infos["bad"].reason.startswith("register_routes: ")
    assert client.get("/pages/hello").status_code == 200
    assert client.get("/healthz").status_code in (200, 503)


def test_startup_fires_once_with_settings_and_app(settings: Settings) -> None:
    calls: list[tuple[Settings, Flask]] = []

    class Starter:
        @hookimpl
        def startup(self, settings: Settings, app: Flask) -> None:
            calls.append((settings, app))

    app = create_app(settings, make_host(("starter", Starter())))

    assert calls == [(settings, app)]


def test_startup_failure_in_one_plugin_does_not_stop_the_app(settings: Settings) -> None:
    started = []

    class Crashing:
        @hookimpl
        def startup(self) -> None:
            raise RuntimeError("cannot start")

    class Starter:
        @hookimpl
        def startup(self) -> None:
            started.append(True)

    app = create_app(settings, make_host(("a", Starter()), ("b", Crashing())))

    assert started == [True]
    assert app.test_client().get("/healthz").status_code == 503


def test_unknown_path_is_a_plain_404(settings: Settings) -> None:
    client = create_app(settings, make_host()).test_client()

    assert client.get("/../../etc/passwd").status_code == 404
    assert client.post("/healthz").status_code == 405
