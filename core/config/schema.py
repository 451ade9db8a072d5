"""The schema of ``deskmate.toml``: one :class:`Section` per table, each key with an example.

The examples feed the hints of :mod:`deskmate.core.config.errors` and the configuration
reference (a test keeps docs/configuration.md and :func:`config_keys` in step).
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from deskmate.core.brain.settings import BrainSchema
from deskmate.core.config.errors import Problem
from deskmate.core.config.settings import DEFAULT_INTERCOM_VERSION, REGION_BASE_URLS
from deskmate.core.config.toml_fields import (
    Bool,
    Int,
    SecretField,
    ServiceUrlField,
    Str,
    table,
    tables,
    url_field,
)


class Section(Schema):
    """Base of every config table: unknown keys are errors, and messages say what to write."""

    class Meta:
        unknown = RAISE

    error_messages = {
        "unknown": "unknown key",
        "type": Problem("must be a table", "write a [section] header with its keys below it"),
    }


def _run_mode() -> Str:
    return Str(
        validate=validate.OneOf(["live", "shadow"], error="must be one of live, shadow"),
        metadata={"example": 'mode = "shadow"'},
    )


class ChannelSchema(Section):
    """``[workspaces.<app_id>.channels.<channel>]``: autopilot, assist and mode for one channel."""

    autopilot = Bool(metadata={"example": "autopilot = true"})
    assist = Bool(metadata={"example": "assist = false"})
    mode = _run_mode()


class RoutingSchema(Section):
    """``[workspaces.<app_id>.routing]``: who takes escalated conversations."""

    mode = Str(
        validate=validate.OneOf(
            ["unassigned", "admin", "team"], error="must be one of unassigned, admin, team"
        ),
        metadata={"example": 'mode = "unassigned"'},
    )
    admin_id = Str(validate=validate.Length(min=1), metadata={"example": 'admin_id = "123"'})
    team_id = Str(validate=validate.Length(min=1), metadata={"example": 'team_id = "456"'})

    @validates_schema
    def _target_given(self, data: dict[str, Any], **kwargs: Any) -> None:
        mode = data.get("mode", "unassigned")
        if mode != "unassigned" and not data.get(f"{mode}_id"):
            raise ValidationError(
                Problem(
                    f'is required when mode = "{mode}"',
                    f'add {mode}_id = "…" (the Intercom id of the {mode} who takes escalations)',
                ),
                field_name=f"{mode}_id",
            )


def _names(example: str) -> fields.List:
    return fields.List(
        Str(validate=validate.Length(min=1, max=255)),
        error_messages={"invalid": "must be a list of strings"},
        metadata={"example": example},
    )


class HandoffSchema(Section):
    """``[workspaces.<app_id>.handoff]``: the tags and attributes a handoff writes."""

    tag = Str(validate=validate.Length(min=1, max=255), metadata={"example": 'tag = "handed_off"'})
    assist_tag = Str(
        validate=validate.Length(min=1, max=255), metadata={"example": 'assist_tag = "ai_assisted"'}
    )
    write_attributes = Bool(metadata={"example": "write_attributes = true"})
    reason_attribute = Str(
        validate=validate.Length(min=1, max=255),
        metadata={"example": 'reason_attribute = "deskmate_handoff_reason"'},
    )
    sentiment_attribute = Str(
        validate=validate.Length(min=1, max=255),
        metadata={"example": 'sentiment_attribute = "deskmate_sentiment"'},
    )
    language_attribute = Str(
        validate=validate.Length(min=1, max=255),
        metadata={"example": 'language_attribute = "deskmate_language"'},
    )
    citation_note = Bool(metadata={"example": "citation_note = false"})
    on_failure = Bool(metadata={"example": "on_failure = true"})


class EnrichmentSchema(Section):
    """``[workspaces.<app_id>.enrichment]``: which custom attributes reach the AI."""

    allow = _names('allow = ["plan", "account_manager"]')
    deny = _names('deny = ["internal_notes"]')
    ttl_seconds = Int(
        validate=validate.Range(min=0, max=604_800, error="must be between 0 and 604800 (a week)"),
        metadata={"example": "ttl_seconds = 900"},
    )


class WorkspaceSchema(Section):
    """``[workspaces.<app_id>]``: one Intercom workspace."""

    name = Str(metadata={"example": 'name = "Acme"'})
    access_token = SecretField(required=True, env_example="INTERCOM_ACCESS_TOKEN")
    client_secret = SecretField(required=True, env_example="INTERCOM_CLIENT_SECRET")
    region = Str(
        validate=validate.OneOf(list(REGION_BASE_URLS), error="must be one of us, eu, au"),
        metadata={"example": 'region = "us"'},
    )
    intercom_version = Str(
        validate=validate.Regexp(r"^(\d+\.\d+|Unstable)$", error='must look like "2.11"'),
        metadata={"example": f'intercom_version = "{DEFAULT_INTERCOM_VERSION}"'},
    )
    base_url = url_field(metadata={"example": 'base_url = "http://127.0.0.1:8081"'})
    ai_admin_id = Str(
        required=True,
        validate=validate.Length(min=1),
        metadata={"example": 'ai_admin_id = "1234567"'},
    )
    rate_limit = Int(
        validate=validate.Range(min=1, max=100_000, error="must be between 1 and 100000"),
        metadata={"example": "rate_limit = 10000"},
    )
    process_unassigned = Bool(metadata={"example": "process_unassigned = false"})
    process_on_assignment = Bool(metadata={"example": "process_on_assignment = true"})
    mode = _run_mode()
    shadow_note = Bool(metadata={"example": "shadow_note = false"})
    routing = table(RoutingSchema)
    handoff = table(HandoffSchema)
    enrichment = table(EnrichmentSchema)
    channels = tables(ChannelSchema, "<channel>", r"^[a-z][a-z0-9_]{0,63}$")


class JobsSchema(Section):
    """``[jobs]``: the job queue (SQLite or Redis), leases and retries."""

    backend = Str(
        validate=validate.OneOf(["sqlite", "redis"], error="must be one of sqlite, redis"),
        metadata={"example": 'backend = "sqlite"'},
    )
    redis_url = ServiceUrlField(env_example="REDIS_URL", schemes=["redis", "rediss", "unix"])
    lease_seconds = Int(
        validate=validate.Range(min=1, max=3600, error="must be between 1 and 3600 seconds"),
        metadata={"example": "lease_seconds = 120"},
    )
    max_attempts = Int(
        validate=validate.Range(min=1, max=100, error="must be between 1 and 100"),
        metadata={"example": "max_attempts = 5"},
    )
    sweep_seconds = Int(
        validate=validate.Range(min=1, max=3600, error="must be between 1 and 3600 seconds"),
        metadata={"example": "sweep_seconds = 15"},
    )

    @validates_schema
    def _redis_has_url(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("backend") == "redis" and not data.get("redis_url"):
            raise ValidationError(
                Problem(
                    'is required when backend = "redis"',
                    'add redis_url = "redis://127.0.0.1:6379/0"',
                ),
                field_name="redis_url",
            )


class LoggingSchema(Section):
    """``[logging]``: what ``serve`` and ``worker`` log, and how (their options override it)."""

    level = Str(
        validate=validate.OneOf(
            ["debug", "info", "warning", "error"],
            error="must be one of debug, info, warning, error",
        ),
        metadata={"example": 'level = "info"'},
    )
    format = Str(
        validate=validate.OneOf(["text", "json"], error="must be one of text, json"),
        metadata={"example": 'format = "json"'},
    )


class PluginSectionSchema(Section):
    """The part of ``[plugins.<name>]`` deskmate owns; the plugin's schema checks the rest."""

    enabled = Bool(metadata={"example": "enabled = true"})


class SettingsSchema(Section):
    """The whole ``deskmate.toml``."""

    database_url = ServiceUrlField(
        env_example="DATABASE_URL", schemes=["sqlite", "postgresql", "postgres", "mysql"]
    )
    instance_path = Str(
        validate=validate.Length(min=1, max=4096, error="must be a path of 1 to 4096 characters"),
        metadata={"example": 'instance_path = "instance"'},
    )
    public_url = url_field(metadata={"example": 'public_url = "https://deskmate.example.com"'})
    admin_token = SecretField(env_example="DESKMATE_ADMIN_TOKEN")
    jobs = table(JobsSchema)
    logging = table(LoggingSchema)
    brain = table(BrainSchema)
    workspaces = tables(
        WorkspaceSchema,
        "<app_id>",
        r"^[A-Za-z0-9_-]{1,64}$",
        required=True,
        validate=validate.Length(min=1, error="needs at least one workspace"),
        metadata={"example": "a [workspaces.<app_id>] section named by your workspace id"},
    )
    plugins = tables(PluginSectionSchema, "<name>", r"^[A-Za-z0-9_.-]{1,128}$", unknown="include")


def config_keys(schema: Schema | type[Schema], prefix: str = "") -> list[str]:
    """Every leaf key path a schema accepts, with ``<placeholders>`` for named tables."""
    instance = schema() if isinstance(schema, type) else schema
    keys: list[str] = []
    for name, fld in instance.fields.items():
        path = f"{prefix}.{fld.data_key or name}" if prefix else fld.data_key or name
        if isinstance(fld, fields.Nested):
            keys += config_keys(fld.schema, path)
        elif isinstance(fld, fields.Dict) and isinstance(fld.value_field, fields.Nested):
            keys += config_keys(fld.value_field.schema, f"{path}.{fld.metadata['placeholder']}")
        else:
            keys.append(path)
    return keys
