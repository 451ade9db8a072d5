"""The deployment files in docs/deployment/: they parse, their health checks call endpoints deskmate
serves, their config loads, and every ``deskmate`` command they run exists with those options."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from deskmate.core.app import create_app
from deskmate.core.cli import cli
from deskmate.core.config import Settings, parse_toml, settings_from_mapping
from deskmate.testing import make_host

DEPLOYMENT = Path(__file__).resolve().parents[2] / "docs" / "deployment"
UNITS = sorted(DEPLOYMENT.glob("*.service"))
COMPOSE = DEPLOYMENT / "compose.yaml"
DESKMATE_SERVICES = ("migrate", "deskmate", "worker")
LOCAL_URL = re.compile(r"http://127\.0\.0\.1:(\d+)(/[\w/-]*)")


def check_command(argv: list[str]) -> click.Command:
    """Parse ``deskmate ARGS`` as the CLI would (options and their values checked, nothing run);
    return the command it reaches."""
    assert Path(argv[0]).name == "deskmate", argv
    command: click.Command = cli
    name, args, parent = "deskmate", list(argv[1:]), None
    while isinstance(command, click.Group):
        group_ctx = click.Context(command, info_name=name, parent=parent)
        names = set(command.list_commands(group_ctx))
        at = next((i for i, arg in enumerate(args) if arg in names), None)
        assert at is not None, f"{argv}: no {name} command named"
        parent = command.make_context(name, args[:at], parent=parent, resilient_parsing=True)
        name, args = args[at], args[at + 1 :]
        command = command.get_command(parent, name)
    command.make_context(name, args, parent=parent)
    return command


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(), source=str(path))
    return parser


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def served_paths(settings: Settings) -> set[str]:
    app = create_app(settings, make_host(), testing=True)
    return {rule.rule for rule in app.url_map.iter_rules()}


def test_there_is_a_unit_for_serve_and_one_for_worker() -> None:
    commands = {check_command(shlex.split(unit(p)["Service"]["ExecStart"])).name for p in UNITS}
    assert commands == {"serve", "worker"}


@pytest.mark.parametrize("path", UNITS, ids=[p.name for p in UNITS])
def test_units_parse_and_run_existing_commands(path: Path) -> None:
    parsed = unit(path)

    assert {"Unit", "Service", "Install"} <= set(parsed.sections())
    service = parsed["Service"]
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 60
    assert service["EnvironmentFile"].startswith("/etc/deskmate/")
    for key in ("ExecStartPre", "ExecStart"):
        if key in service:
            check_command(shlex.split(service[key]))


def test_compose_has_the_services_with_health_checks() -> None:
    services = compose()["services"]

    assert {"deskmate", "worker", "postgres", "redis", "caddy"} <= set(services)
    for name in ("deskmate", "worker", "postgres", "redis"):
        assert "healthcheck" in services[name], name
    assert services["deskmate"]["stop_signal"] == "SIGTERM"
    assert services["caddy"]["depends_on"]["deskmate"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", DESKMATE_SERVICES)
def test_compose_runs_existing_deskmate_commands(name: str) -> None:
    check_command(compose()["services"][name]["command"])


def test_compose_health_checks_call_endpoints_deskmate_serves(settings: Settings) -> None:
    services = compose()["services"]
    paths = served_paths(settings)
    serve_check = " ".join(services["deskmate"]["healthcheck"]["test"])
    worker_check = " ".join(services["worker"]["healthcheck"]["test"])

    (port, path), *_ = LOCAL_URL.findall(serve_check)
    assert path in paths and path == "/readyz"
    assert f"--port {port}" in " ".join(services["deskmate"]["command"])
    (port, path), *_ = LOCAL_URL.findall(worker_check)
    assert path == "/metrics"
    assert f"--metrics-port {port}" in " ".join(services["worker"]["command"])


def test_caddy_proxies_to_deskmate_and_checks_readiness(settings: Settings) -> None:
    caddyfile = (DEPLOYMENT / "Caddyfile").read_text()

    assert re.search(r"reverse_proxy deskmate:8080\b", caddyfile)
    (health,) = re.findall(r"health_uri (\S+)", caddyfile)
    assert health in served_paths(settings)
    for volume in compose()["services"]["caddy"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (DEPLOYMENT / source).exists(), source


def test_dockerfile_runs_an_existing_command() -> None:
    text = (DEPLOYMENT / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (\[.*\])$", text, re.MULTILINE)
    check_command(yaml.safe_load(cmd))


def test_the_example_config_loads_with_the_example_environment() -> None:
    env = {}
    for line in (DEPLOYMENT / "deskmate.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    raw = parse_toml((DEPLOYMENT / "deskmate.toml").read_bytes())

    settings = settings_from_mapping(raw, env=env, base_dir=DEPLOYMENT)

    assert settings.jobs_backend == "redis"
    assert settings.resolved_database_url().startswith("postgresql+psycopg://")
    assert settings.log_format == "json"
    assert "replace-me" not in (DEPLOYMENT / "deskmate.toml").read_text()
