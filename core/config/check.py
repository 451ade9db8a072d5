"""``deskmate check-config``: every problem of a config file in one run — the core keys, each
plugin (failed to load, unknown hook or argument, invalid section), channel overrides, and what
the starter left to fill in — each with its key path and what to do."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from deskmate.core.config.errors import ConfigError, ConfigInvalid, join_key
from deskmate.core.config.loading import (
    check_channels,
    check_plugins,
    config_path,
    plugin_tables,
    read_config_file,
    settings_from_mapping,
)
from deskmate.core.config.settings import Settings
from deskmate.core.config.starter import (
    PLACEHOLDER_ADMIN_ID,
    PLACEHOLDER_APP_ID,
    PLACEHOLDER_HOST,
)
from deskmate.core.plugins import PluginHost, make_plugin_manager

if TYPE_CHECKING:
    from importlib import metadata

MIN_ADMIN_TOKEN = 16
"""Characters an admin token needs at least: it guards the session audit pages."""

TOKEN_RECIPE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


@dataclass
class ConfigReport:
    """What :func:`check_config` found: every problem, and the settings and plugin host when
    the core config could be built."""

    problems: list[ConfigError] = field(default_factory=list)
    settings: Settings | None = None
    host: PluginHost | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``deskmate check-config --json``."""
        return {
            "ok": self.ok,
            "problems": [
                {"location": p.path, "message": p.message, "fix": p.hint or None}
                for p in self.problems
            ],
        }


def check_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    entry_points: Sequence[metadata.EntryPoint] | None = None,
    extra_plugins: Sequence[tuple[str, object]] = (),
) -> ConfigReport:
    """Check the config file (see :func:`~deskmate.core.config.config_path` for which one) and
    every enabled plugin; one problem never hides another."""
    env = os.environ if env is None else env
    source = config_path(path, env)
    try:
        raw = read_config_file(source)
    except ConfigInvalid as exc:
        return ConfigReport(exc.errors)
    report = ConfigReport()
    try:
        report.settings = settings_from_mapping(raw, base_dir=source.parent, env=env, source=source)
    except ConfigInvalid as exc:
        report.problems += exc.errors
    lenient = {k: v for k, v in env.items() if k != "DESKMATE_STRICT_PLUGINS"}
    report.host = make_plugin_manager(
        plugin_tables(raw),
        env=lenient,
        entry_points=entry_points,
        extra_plugins=extra_plugins,
        quiet=True,
    )
    report.problems += load_failures(report.host)
    report.problems += check_plugins(raw, report.host, env, source.parent)[1]
    if report.settings is not None:
        report.problems += check_channels(report.settings, report.host)
        report.problems += short_admin_token(report.settings)
    report.problems += starter_leftovers(raw)
    return report


def load_failures(host: PluginHost) -> list[ConfigError]:
    """One problem per plugin that failed to load (import error, unknown hook or argument)."""
    return [
        ConfigError(
            join_key("plugins", info.name),
            f"failed to load: {info.reason}",
            "fix or update the plugin, or turn it off with enabled = false "
            f"under [plugins.{info.name}]",
        )
        for info in host.report()
        if info.status == "failed"
    ]


def short_admin_token(settings: Settings) -> list[ConfigError]:
    """The admin token must be long enough not to be guessed (its value is never shown)."""
    token = settings.admin_token
    if token is None or len(token.reveal()) >= MIN_ADMIN_TOKEN:
        return []
    return [
        ConfigError(
            "admin_token",
            f"is {len(token.reveal())} characters long (from {token.source} {token.ref}); "
            f"it needs at least {MIN_ADMIN_TOKEN}",
            f"use a long random string, e.g. the output of {TOKEN_RECIPE}",
        )
    ]


def starter_leftovers(raw: Mapping[str, Any]) -> list[ConfigError]:
    """The placeholders of ``deskmate init``'s starter that are still in the config."""
    problems = []
    url = raw.get("public_url")
    if isinstance(url, str) and urlsplit(url.strip()).hostname == PLACEHOLDER_HOST:
        problems.append(
            ConfigError(
                "public_url",
                f"is still the starter's example address ({PLACEHOLDER_HOST})",
                "set the https address Intercom reaches this server at",
            )
        )
    workspaces = raw.get("workspaces")
    for app_id, ws in (workspaces if isinstance(workspaces, Mapping) else {}).items():
        where = join_key("workspaces", app_id)
        if app_id == PLACEHOLDER_APP_ID:
            problems.append(
                ConfigError(
                    where,
                    "is the starter's placeholder, not a workspace id",
                    f"rename [{where}] and its sub-tables to your workspace (app) id, from "
                    "your Intercom URL: https://app.intercom.com/a/apps/<app id>/",
                )
            )
        if isinstance(ws, Mapping) and ws.get("ai_admin_id") == PLACEHOLDER_ADMIN_ID:
            problems.append(
                ConfigError(
                    join_key(where, "ai_admin_id"),
                    "is still the starter's placeholder",
                    "set the id of the Intercom admin the AI answers as; "
                    "`deskmate verify` lists your admins and their ids",
                )
            )
    return problems
