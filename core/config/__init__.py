"""TOML config → marshmallow schemas → typed settings; secrets come from the environment or files.

Loading reports every problem at once, as :class:`ConfigError` records (key path, what is wrong,
how to fix it) raised together in :class:`ConfigInvalid`. Secrets are only ever referenced —
``{ env = "NAME" }`` or ``{ file = "path" }`` — and resolved at load time into :class:`Secret`
objects whose value never appears in a repr, an error or a log line.

Entry points: :func:`load` (settings plus the plugin host, with every ``[plugins.*]`` section
validated by its plugin's schema) for the CLI and the web host; :func:`load_settings` for the core
settings alone; :func:`settings_from_mapping` for an already parsed mapping (tests, the sandbox).

The package, one job a module: ``settings`` (the dataclasses), ``schema`` and ``toml_fields``
(what the file may say), ``secret_refs`` (secret references), ``errors`` (problems and their
fixes), ``loading`` (file to settings and plugin host), ``starter`` (``deskmate init``'s file),
``check`` (``deskmate check-config``: every problem at once).
"""

from deskmate.core.config.check import ConfigReport, check_config
from deskmate.core.config.errors import (
    ConfigError,
    ConfigInvalid,
    Problem,
    name_hint,
)
from deskmate.core.config.loading import (
    CONFIG_ENV,
    DEFAULT_CONFIG_NAME,
    MAX_CONFIG_BYTES,
    check_plugin_sections,
    config_path,
    describe,
    load,
    load_settings,
    parse_toml,
    read_config_file,
    settings_from_mapping,
    validate_plugin_sections,
)
from deskmate.core.config.schema import (
    ChannelSchema,
    EnrichmentSchema,
    HandoffSchema,
    JobsSchema,
    LoggingSchema,
    PluginSectionSchema,
    RoutingSchema,
    Section,
    SettingsSchema,
    WorkspaceSchema,
    config_keys,
)
from deskmate.core.config.secret_refs import (
    MAX_SECRET_BYTES,
    secret_sources,
)
from deskmate.core.config.settings import (
    DEFAULT_INTERCOM_VERSION,
    REGION_BASE_URLS,
    ChannelSwitches,
    EnrichmentPolicy,
    HandoffPolicy,
    Region,
    Routing,
    RoutingMode,
    RunMode,
    Secret,
    Settings,
    WorkspaceSettings,
)
from deskmate.core.config.starter import (
    env_references,
    starter_text,
    write_starter,
)
from deskmate.core.config.toml_fields import (
    Bool,
    Int,
    SecretField,
    ServiceUrlField,
    Str,
)

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_NAME",
    "DEFAULT_INTERCOM_VERSION",
    "MAX_CONFIG_BYTES",
    "MAX_SECRET_BYTES",
    "REGION_BASE_URLS",
    "Bool",
    "ChannelSchema",
    "ChannelSwitches",
    "ConfigError",
    "ConfigInvalid",
    "ConfigReport",
    "EnrichmentPolicy",
    "EnrichmentSchema",
    "HandoffPolicy",
    "HandoffSchema",
    "Int",
    "JobsSchema",
    "LoggingSchema",
    "PluginSectionSchema",
    "Problem",
    "Region",
    "Routing",
    "RoutingMode",
    "RoutingSchema",
    "RunMode",
    "Secret",
    "SecretField",
    "Section",
    "ServiceUrlField",
    "Settings",
    "SettingsSchema",
    "Str",
    "WorkspaceSchema",
    "WorkspaceSettings",
    "check_config",
    "check_plugin_sections",
    "config_keys",
    "config_path",
    "describe",
    "env_references",
    "load",
    "load_settings",
    "name_hint",
    "parse_toml",
    "read_config_file",
    "secret_sources",
    "settings_from_mapping",
    "starter_text",
    "validate_plugin_sections",
    "write_starter",
]
