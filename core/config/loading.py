"""Reading ``deskmate.toml``: find it, parse it, validate it, build :class:`Settings` and the
plugin host, and check every ``[plugins.*]`` section with its plugin's schema."""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marshmallow import RAISE, Schema, ValidationError

from deskmate.core.config.errors import (
    ConfigError,
    ConfigInvalid,
    flatten_errors,
    join_key,
    name_hint,
)
from deskmate.core.config.schema import Section, SettingsSchema
from deskmate.core.config.secret_refs import secret_sources
from deskmate.core.config.settings import (
    ChannelSwitches,
    EnrichmentPolicy,
    HandoffPolicy,
    Routing,
    Settings,
    WorkspaceSettings,
)
from deskmate.core.config.toml_fields import Bool
from deskmate.core.configfile import CONFIG_ENV, DEFAULT_CONFIG_NAME
from deskmate.core.plugins import PluginHost, env_flag, make_plugin_manager

if TYPE_CHECKING:
    from importlib import metadata

log = logging.getLogger(__name__)

MAX_CONFIG_BYTES = 1024 * 1024
"""A config file is a few kilobytes; anything past this is refused unread."""


def config_path(path: Path | str | None = None, env: Mapping[str, str] = os.environ) -> Path:
    """The config file to read: ``path``, else ``$DESKMATE_CONFIG``, else ``./deskmate.toml``."""
    chosen = path or env.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME
    return Path(chosen).expanduser().absolute()


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse a TOML config file; any problem is one :class:`ConfigError` naming the file."""
    label = str(path)
    if not path.exists():
        raise ConfigInvalid(
            [
                ConfigError(
                    label,
                    "config file not found",
                    "run `deskmate init` to create one, or name another with --config PATH "
                    f"or {CONFIG_ENV}",
                )
            ]
        )
    try:
        if not path.is_file():
            raise ConfigInvalid([ConfigError(label, "is not a regular file")])
        with path.open("rb") as fh:
            blob = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigInvalid([ConfigError(label, f"cannot be read: {reason}")]) from None
    if len(blob) > MAX_CONFIG_BYTES:
        raise ConfigInvalid(
            [ConfigError(label, "is larger than 1 MiB", "a deskmate config is a few kilobytes")]
        )
    return parse_toml(blob, label)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def parse_toml(blob: bytes, label: str = DEFAULT_CONFIG_NAME) -> dict[str, Any]:
    """Parse TOML bytes; a syntax error becomes one :class:`ConfigError` with line and column."""
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"is not UTF-8 text (bad byte at offset {exc.start})"
        raise ConfigInvalid([ConfigError(label, message, "save the file as UTF-8")]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigInvalid([_toml_error(label, str(exc))]) from None
    except RecursionError:
        message = "nests arrays or tables too deeply"
        raise ConfigInvalid([ConfigError(label, message, "flatten the nesting")]) from None


def _toml_error(label: str, reason: str) -> ConfigError:
    position = _TOML_POSITION.search(reason)
    if position is None:
        return ConfigError(label, f"is not valid TOML: {reason}", "see https://toml.io")
    line, column = int(position[1]), int(position[2])
    reason = reason[: position.start()]
    return ConfigError(
        label,
        f"is not valid TOML: {reason} at line {line}, column {column}",
        "fix the syntax there; strings need double quotes (see https://toml.io)",
        line=line,
        column=column,
    )


def settings_from_mapping(
    raw: Mapping[str, Any],
    *,
    base_dir: Path | None = None,
    env: Mapping[str, str] = os.environ,
    source: Path | None = None,
) -> Settings:
    """Validate a parsed config (TOML tables as dicts) and build :class:`Settings`.

    Relative paths (``instance_path``, secret files, SQLite files) are taken from ``base_dir``.
    :raises ConfigInvalid: with every problem found.
    """
    base = (base_dir or Path.cwd()).absolute()
    schema = SettingsSchema()
    with secret_sources(env, base):
        try:
            data = schema.load(raw)
        except ValidationError as exc:
            raise ConfigInvalid(flatten_errors(exc.messages, schema, "")) from None
    return _settings(data, base, source)


def load_settings(path: Path | None = None, env: Mapping[str, str] = os.environ) -> Settings:
    """Read and validate the config file (see :func:`config_path` for which one).

    :raises ConfigInvalid: with every problem found, each naming its key path.
    """
    source = config_path(path, env)
    raw = read_config_file(source)
    return settings_from_mapping(raw, base_dir=source.parent, env=env, source=source)


def _settings(data: dict[str, Any], base: Path, source: Path | None) -> Settings:
    jobs = data.get("jobs", {})
    logs = data.get("logging", {})
    optional: dict[str, Any] = {
        "public_url": data.get("public_url", "").rstrip("/") or None,
        "admin_token": data.get("admin_token"),
        "brain": data.get("brain"),
        "jobs_backend": jobs.get("backend"),
        "redis_url": jobs.get("redis_url"),
        "jobs_lease_seconds": jobs.get("lease_seconds"),
        "jobs_max_attempts": jobs.get("max_attempts"),
        "log_level": logs.get("level"),
        "log_format": logs.get("format"),
        "jobs_sweep_seconds": jobs.get("sweep_seconds"),
        "database_url": _rebase_sqlite(data["database_url"], base)
        if "database_url" in data
        else None,
    }
    return Settings(
        workspaces={app_id: _workspace(app_id, ws) for app_id, ws in data["workspaces"].items()},
        instance_path=base / Path(data.get("instance_path", "instance")).expanduser(),
        plugins=data.get("plugins", {}),
        source_path=source,
        **{key: value for key, value in optional.items() if value is not None},
    )


def _workspace(app_id: str, data: dict[str, Any]) -> WorkspaceSettings:
    data = dict(data)
    data["routing"] = Routing(**data.get("routing", {}))
    data["handoff"] = HandoffPolicy(**data.get("handoff", {}))
    enrichment = data.get("enrichment", {})
    data["enrichment"] = EnrichmentPolicy(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in enrichment.items()}
    )
    data["channels"] = {name: ChannelSwitches(**c) for name, c in data.get("channels", {}).items()}
    if "base_url" in data:
        data["base_url"] = data["base_url"].rstrip("/")
    return WorkspaceSettings(app_id=app_id, **data)


def _rebase_sqlite(url: str, base: Path) -> str:
    """Make a relative SQLite file path relative to the config file, like ``instance_path``."""
    from sqlalchemy.engine import make_url  # only a config with database_url needs SQLAlchemy

    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return url
    if database.startswith("file:") or Path(database).is_absolute():
        return url
    return parsed.set(database=str(base / database)).render_as_string(hide_password=False)


# -- plugin sections ----------------------------------------------------------------------------


def validate_plugin_sections(
    settings_raw_plugins: Mapping[str, Mapping[str, Any]], host: PluginHost
) -> list[ConfigError]:
    """Check every ``[plugins.*]`` section against its plugin; a plugin whose section is invalid
    is failed on ``host`` (the host goes on without it). Returns the problems found."""
    return check_plugin_sections(settings_raw_plugins, host)[1]


def check_plugin_sections(
    raw: Mapping[str, Mapping[str, Any]], host: PluginHost
) -> tuple[dict[str, dict[str, Any]], list[ConfigError]]:
    """Like :func:`validate_plugin_sections`, and also return the validated section of every
    plugin still loaded (defaults filled in, secrets resolved), by plugin name."""
    sections: dict[str, dict[str, Any]] = {}
    errors = [
        ConfigError(
            join_key("plugins", name),
            "no plugin with this name is installed",
            name_hint(name, list(host.infos), "installed plugins"),
        )
        for name in sorted(raw)
        if name not in host.infos
    ]
    for name in host.loaded():
        section, problems = _check_section(name, raw.get(name, {}), host)
        if problems:
            version = host.infos[name].version
            host.fail(name, "invalid config: " + "; ".join(map(str, problems)), version)
            errors += problems
        else:
            sections[name] = section
    return sections, errors


def _check_section(
    name: str, section: Mapping[str, Any], host: PluginHost
) -> tuple[dict[str, Any], list[ConfigError]]:
    prefix = join_key("plugins", name)
    try:
        schema = _section_schema(host.section_schema(name))
    except Exception as exc:
        fix = "this is a bug in the plugin; report it to its author"
        return {}, [ConfigError(prefix, f"the plugin's config schema failed: {exc}", fix)]
    try:
        return schema.load(section, unknown=RAISE), []
    except ValidationError as exc:
        return {}, flatten_errors(exc.messages, schema, prefix)
    except Exception as exc:
        fix = "this is a bug in the plugin; report it to its author"
        return {}, [ConfigError(prefix, f"the plugin's config schema failed: {exc!r}", fix)]


def _section_schema(declared: Any) -> Schema:
    """The plugin's schema (class or instance) plus deskmate's common ``enabled`` key."""
    if declared is None:
        base: type[Schema] = Section
    elif isinstance(declared, Schema):
        base = type(declared)
    elif isinstance(declared, type) and issubclass(declared, Schema):
        base = declared
    else:
        raise TypeError(f"config_schema returned a {type(declared).__name__}, not a Schema")
    return type(f"{base.__name__}Section", (base,), {"enabled": Bool(load_default=True)})()


def check_channels(settings: Settings, host: PluginHost) -> list[ConfigError]:
    """A channel override must name an installed plugin, or it would silently do nothing."""
    return [
        ConfigError(
            join_key(join_key(join_key("workspaces", app_id), "channels"), channel),
            "no plugin with this name is installed",
            name_hint(channel, list(host.infos), "installed plugins"),
        )
        for app_id, ws in settings.workspaces.items()
        for channel in ws.channels
        if channel not in host.infos
    ]


def check_plugins(
    raw: Mapping[str, Any], host: PluginHost, env: Mapping[str, str], base: Path
) -> tuple[dict[str, dict[str, Any]], list[ConfigError]]:
    """Validate every ``[plugins.*]`` section of the raw config on ``host`` (secrets from
    ``env``, files from ``base``); return the validated sections and the problems.

    A problem fails its plugin quietly here: the caller reports it once, with its fix.
    """
    tables = plugin_tables(raw)
    quiet, host.quiet = host.quiet, True
    try:
        with secret_sources(env, base):
            sections, errors = check_plugin_sections(tables, host)
    finally:
        host.quiet = quiet
    return sections, [_with_section_fix(error, tables) for error in errors]


def plugin_tables(raw: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The ``[plugins.*]`` tables of a parsed config, whatever else is wrong with it."""
    plugins = raw.get("plugins")
    return dict(plugins) if isinstance(plugins, Mapping) else {}


def _with_section_fix(error: ConfigError, tables: Mapping[str, Any]) -> ConfigError:
    """A problem in a plugin section the config doesn't have says to add it (or to turn the
    plugin off), instead of a bare "Missing data for required field"."""
    parts = error.path.split(".")
    if error.hint or len(parts) < 3 or parts[0] != "plugins" or parts[1] in tables:
        return error
    fix = (
        f"the plugin needs it: add a [plugins.{parts[1]}] section with {parts[2]} = …, "
        "or turn the plugin off there with enabled = false"
    )
    return replace(error, hint=fix)


def load(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    strict: bool | None = None,
    quiet: bool = False,
    entry_points: Sequence[metadata.EntryPoint] | None = None,
    extra_plugins: Sequence[tuple[str, object]] = (),
) -> tuple[Settings, PluginHost]:
    """Load the config, build the plugin host from it, and validate every plugin section.

    ``settings.plugins`` holds the validated section of each loaded plugin. A plugin whose
    section is invalid is failed and the host goes on without it — unless ``strict`` (default:
    ``DESKMATE_STRICT_PLUGINS``), when every problem is raised. Each plugin problem is logged
    once as a warning, or at debug level when ``quiet`` (a command whose output is not about
    plugins: ``deskmate plugins`` and ``check-config`` report them). ``entry_points`` and
    ``extra_plugins`` are passed to :func:`~deskmate.core.plugins.make_plugin_manager`.

    :raises ConfigInvalid: the core config is invalid, or ``strict`` and a plugin section is.
    """
    env = os.environ if env is None else env
    settings = load_settings(path, env)
    host = make_plugin_manager(
        settings.plugins,
        env=env,
        entry_points=entry_points,
        extra_plugins=extra_plugins,
        quiet=quiet,
    )
    base = settings.source_path.parent if settings.source_path else Path.cwd()
    sections, errors = check_plugins({"plugins": settings.plugins}, host, env, base)
    errors += check_channels(settings, host)
    if strict is None:
        strict = env_flag(env, "DESKMATE_STRICT_PLUGINS")
    if errors and strict:
        raise ConfigInvalid(errors)
    for error in errors:
        log.log(logging.DEBUG if quiet else logging.WARNING, "config: %s", error)
    return replace(settings, plugins=sections), host


def describe(settings: Settings, host: PluginHost) -> list[str]:
    """A short, secret-free summary of a loaded configuration (``deskmate check-config``)."""
    lines = [f"config: {settings.source_path or '(built in memory)'}"]
    for app_id, ws in settings.workspaces.items():
        routing = ws.routing
        target = {"admin": routing.admin_id, "team": routing.team_id}.get(routing.mode)
        route = f"to {routing.mode} {target}" if target else "unassigned"
        lines.append(
            f"workspace {app_id} ({ws.name or 'unnamed'}): region {ws.region}, "
            f"API {ws.api_base_url()} v{ws.intercom_version}, AI admin {ws.ai_admin_id}, "
            f"handoffs go {route}"
        )
    for info in host.report():
        reason = f": {info.reason}" if info.reason else ""
        lines.append(f"plugin {info.name}: {info.status}{reason}")
    from deskmate.core.store.db import masked  # the store (SQLAlchemy, alembic) only when asked

    lines.append(f"database: {masked(settings.resolved_database_url())}")
    lines.append(f"jobs: {settings.jobs_backend}")
    lines.append(f"public URL: {settings.public_url}")
    return lines
