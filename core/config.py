"""TOML config → marshmallow schemas → typed settings; secrets come from the environment or files.

Loading reports every problem at once, as :class:`ConfigError` records (key path, what is wrong,
how to fix it) raised together in :class:`ConfigInvalid`. Secrets are only ever referenced —
``{ env = "NAME" }`` or ``{ file = "path" }`` — and resolved at load time into :class:`Secret`
objects whose value never appears in a repr, an error or a log line.

Entry points: :func:`load` (settings plus the plugin host, with every ``[plugins.*]`` section
validated by its plugin's schema) for the CLI and the web host; :func:`load_settings` for the core
settings alone; :func:`settings_from_mapping` for an already parsed mapping (tests, the sandbox).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy.engine import make_url

from deskmate.core.brain.settings import BrainSchema, BrainSettings
from deskmate.core.plugins import PluginHost, closest, env_flag, make_plugin_manager
from deskmate.core.store.db import masked

if TYPE_CHECKING:
    from importlib import metadata

log = logging.getLogger(__name__)

Region = Literal["us", "eu", "au"]
RoutingMode = Literal["unassigned", "admin", "team"]

DEFAULT_INTERCOM_VERSION = "2.11"
DEFAULT_CONFIG_NAME = "deskmate.toml"
CONFIG_ENV = "DESKMATE_CONFIG"
REGION_BASE_URLS: dict[str, str] = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}
MAX_CONFIG_BYTES = 1024 * 1024
"""A config file is a few kilobytes; anything past this is refused unread."""
MAX_SECRET_BYTES = 64 * 1024
"""A secret file holds one token; anything past this is refused."""


@dataclass(frozen=True)
class Secret:
    """A secret known by reference (``env:NAME`` or ``file:path``); its value is never printed."""

    source: str
    ref: str
    _value: str = field(repr=False, compare=False, default="")

    def reveal(self) -> str:
        """Return the secret's value; call it only where the value is sent, never to log."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.source}:{self.ref})"

    __str__ = __repr__


@dataclass(frozen=True)
class ChannelSwitches:
    """Whether the AI answers (autopilot) or drafts notes for reps (assist) on one channel."""

    autopilot: bool = True
    assist: bool = False


@dataclass(frozen=True)
class Routing:
    """Where escalated conversations go."""

    mode: RoutingMode = "unassigned"
    admin_id: str | None = None
    team_id: str | None = None


@dataclass(frozen=True)
class HandoffPolicy:
    """How a handoff is marked in Intercom: the tags, and the attributes written for workflows."""

    tag: str = "opencx_handed_off"
    assist_tag: str = "opencx_ai_assisted"
    write_attributes: bool = True
    reason_attribute: str = "deskmate_handoff_reason"
    sentiment_attribute: str = "deskmate_sentiment"
    language_attribute: str = "deskmate_language"
    citation_note: bool = False


@dataclass(frozen=True)
class EnrichmentPolicy:
    """Which contact and company custom attributes reach the AI, and how long they are cached."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    ttl_seconds: int = 900


@dataclass(frozen=True)
class WorkspaceSettings:
    """One Intercom workspace, keyed by its app id."""

    app_id: str
    access_token: Secret
    client_secret: Secret
    ai_admin_id: str
    region: Region = "us"
    name: str | None = None
    intercom_version: str = DEFAULT_INTERCOM_VERSION
    base_url: str | None = None
    rate_limit: int = 10000
    routing: Routing = field(default_factory=Routing)
    channels: dict[str, ChannelSwitches] = field(default_factory=dict)
    process_unassigned: bool = False
    process_on_assignment: bool = True
    handoff: HandoffPolicy = field(default_factory=HandoffPolicy)
    enrichment: EnrichmentPolicy = field(default_factory=EnrichmentPolicy)

    def channel(self, name: str) -> ChannelSwitches:
        return self.channels.get(name, ChannelSwitches())

    def api_base_url(self) -> str:
        """The Intercom REST base URL: ``base_url`` when set, else the region's."""
        return self.base_url or REGION_BASE_URLS[self.region]


@dataclass(frozen=True)
class Settings:
    """The whole validated configuration."""

    workspaces: dict[str, WorkspaceSettings] = field(default_factory=dict)
    database_url: str | None = field(default=None, repr=False)
    instance_path: Path = field(default_factory=lambda: Path(os.getcwd()) / "instance")
    public_url: str = "http://127.0.0.1:8080"
    jobs_backend: str = "sqlite"
    jobs_lease_seconds: int = 120
    jobs_max_attempts: int = 5
    redis_url: str | None = field(default=None, repr=False)
    admin_token: Secret | None = None
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    brain: BrainSettings = field(default_factory=BrainSettings)
    source_path: Path | None = None

    def plugin_config(self, name: str) -> dict[str, Any]:
        """The validated ``[plugins.<name>]`` section (empty when absent)."""
        return self.plugins.get(name, {})

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_path / 'deskmate.db'}"


# -- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigError:
    """One configuration problem: the key path, what is wrong, and how to fix it."""

    path: str
    message: str
    hint: str = ""
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" + (f" ({self.hint})" if self.hint else "")


class ConfigInvalid(Exception):
    """Every problem found in a configuration, raised together."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        lines = "\n".join(f"  {e}" for e in self.errors)
        super().__init__(f"{count} configuration problem{'s' * (count != 1)}:\n{lines}")


class Problem(str):
    """A validation message that carries a fix; raise ``ValidationError(Problem(msg, hint))``."""

    hint: str

    def __new__(cls, message: str, hint: str = "") -> Problem:
        problem = super().__new__(cls, message)
        problem.hint = hint
        return problem


def name_hint(word: str, known: Sequence[str], noun: str = "known keys") -> str:
    """A hint for a misspelt name: the closest known one, else the list of known ones."""
    match = closest(word, known)
    if match:
        return f"did you mean {match!r}?"
    return f"{noun}: {', '.join(sorted(known))}" if known else f"there are no {noun}"


_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _label(key: object) -> str:
    """A key as it may appear in a path: short and printable, quoted when it is neither."""
    text = str(key)
    if _SAFE_KEY.match(text):
        return text
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{_label(key)}" if prefix else _label(key)


# -- strict TOML-typed fields ---------------------------------------------------------------


class Bool(fields.Boolean):
    """A TOML boolean; ``1`` or ``"true"`` is refused, so a typo never flips a switch."""

    default_error_messages = {"invalid": "must be true or false", "required": "is required"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Int(fields.Integer):
    """A TOML integer (not a float, string or boolean)."""

    default_error_messages = {"invalid": "must be a whole number", "required": "is required"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class Str(fields.String):
    """A TOML string."""

    default_error_messages = {"invalid": "must be a string", "required": "is required"}


def _table(schema: type[Schema], **kwargs: Any) -> fields.Nested:
    return fields.Nested(schema, error_messages={"required": "is required"}, **kwargs)


def _tables(schema: type[Schema], placeholder: str, key_pattern: str, **kwargs: Any) -> fields.Dict:
    """A table of same-shaped tables keyed by a name (``[workspaces.<app_id>]``)."""
    key = Str(validate=validate.Regexp(key_pattern, error=f"is not a valid {placeholder[1:-1]}"))
    return fields.Dict(
        keys=key,
        values=_table(schema, unknown=kwargs.pop("unknown", None)),
        error_messages={"invalid": "must be a table", "required": "is required"},
        metadata={"placeholder": placeholder, **kwargs.pop("metadata", {})},
        **kwargs,
    )


def _url(**kwargs: Any) -> Str:
    return Str(
        validate=validate.URL(
            schemes={"http", "https"}, require_tld=False, error="must be an http(s) URL"
        ),
        **kwargs,
    )


# -- secrets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sources:
    env: Mapping[str, str]
    base_dir: Path


_SOURCES: ContextVar[_Sources | None] = ContextVar("deskmate_secret_sources", default=None)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


@contextlib.contextmanager
def secret_sources(env: Mapping[str, str], base_dir: Path) -> Iterator[None]:
    """Resolve secrets read inside this block from ``env`` and files relative to ``base_dir``."""
    token = _SOURCES.set(_Sources(env, base_dir))
    try:
        yield
    finally:
        _SOURCES.reset(token)


def _reference_form(name: str, env_example: str) -> str:
    file_example = f"/run/secrets/{env_example.lower()}"
    return f'{name} = {{ env = "{env_example}" }} or {name} = {{ file = "{file_example}" }}'


def _secret_reference(value: Any, name: str, env_example: str) -> tuple[str, str]:
    """Check the shape of a secret reference; never put the value in a message."""
    form = _reference_form(name, env_example)
    if isinstance(value, str):
        raise ValidationError(
            Problem(
                "secrets are never written in the config file",
                f"use {form}, and remove the value from the file",
            )
        )
    if not isinstance(value, dict):
        raise ValidationError(Problem("must be a secret reference", f"write {form}"))
    unknown = sorted(set(value) - {"env", "file"})
    if unknown:
        hint = name_hint(str(unknown[0]), ["env", "file"])
        raise ValidationError(Problem(f"has an unknown key {_label(unknown[0])}", hint))
    if len(value) != 1:
        raise ValidationError(Problem("must give exactly one of env or file", f"write {form}"))
    ((source, ref),) = value.items()
    if not isinstance(ref, str) or not ref.strip():
        raise ValidationError(Problem(f"{source} must be a non-empty string", f"write {form}"))
    if source == "env" and not _ENV_NAME.match(ref):
        raise ValidationError(
            Problem(
                "env must be the name of an environment variable, not its value",
                f'letters, digits and _ only, e.g. {{ env = "{env_example}" }}',
            )
        )
    return source, ref


def _resolve_secret(source: str, ref: str) -> Secret:
    sources = _SOURCES.get() or _Sources(os.environ, Path.cwd())
    if source == "env":
        value = sources.env.get(ref)
        fix = f'export {ref}=… in deskmate\'s environment, or use {{ file = "…" }}'
        if value is None:
            raise ValidationError(Problem(f"environment variable {ref} is not set", fix))
        if not value:
            raise ValidationError(Problem(f"environment variable {ref} is empty", fix))
        return Secret("env", ref, value)
    path = Path(ref).expanduser()
    path = path if path.is_absolute() else sources.base_dir / path
    return Secret("file", str(path), _read_secret_file(path))


def _read_secret_file(path: Path) -> str:
    fix = "check the path and that the user running deskmate may read the file"
    try:
        if not path.is_file():
            raise ValidationError(
                Problem(f"secret file {path} does not exist or is not a file", fix)
            )
        with path.open("rb") as fh:
            blob = fh.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValidationError(Problem(f"cannot read secret file {path}: {reason}", fix)) from None
    if len(blob) > MAX_SECRET_BYTES:
        raise ValidationError(
            Problem(
                f"secret file {path} is larger than 64 KiB", "the file must hold the secret only"
            )
        )
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(Problem(f"secret file {path} is not UTF-8 text", fix)) from None
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise ValidationError(Problem(f"secret file {path} is empty", fix))
    return value


class SecretField(fields.Field):
    """A secret given as ``{ env = "NAME" }`` or ``{ file = "path" }``; loads as :class:`Secret`.

    Plugins use it in their own section schemas for API keys and the like.
    """

    default_error_messages = {"required": "is required"}

    def __init__(self, *, env_example: str = "SECRET_NAME", **kwargs: Any) -> None:
        self.env_example = env_example
        super().__init__(**kwargs)

    def _bind_to_schema(self, field_name: str, parent: Any) -> None:
        super()._bind_to_schema(field_name, parent)
        example = f'{self.data_key or field_name} = {{ env = "{self.env_example}" }}'
        self.metadata = {"example": example, **self.metadata}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Secret:
        source, ref = _secret_reference(value, self.name or "secret", self.env_example)
        return _resolve_secret(source, ref)


class ServiceUrlField(fields.Field):
    """A connection URL: a plain string without a password, or a secret reference to one.

    Loads as the URL string; a password written inline is refused without being echoed.
    """

    default_error_messages = {"required": "is required"}

    def __init__(self, *, env_example: str, schemes: Sequence[str], **kwargs: Any) -> None:
        self.env_example = env_example
        self.schemes = tuple(schemes)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = self.name or "url"
        if isinstance(value, str):
            if _has_password(value):
                raise ValidationError(
                    Problem(
                        "holds a password; passwords are never written in the config file",
                        f'use {name} = {{ env = "{self.env_example}" }} with the full URL there',
                    )
                )
            url = value
        elif isinstance(value, dict):
            source, ref = _secret_reference(value, name, self.env_example)
            url = _resolve_secret(source, ref).reveal()
        else:
            raise ValidationError(Problem("must be a URL string", f'write {name} = "…"'))
        if urlsplit(url).scheme.split("+")[0] not in self.schemes:
            raise ValidationError(
                Problem(f"must be a URL starting with {' or '.join(self.schemes)}://", "")
            )
        return url


def _has_password(url: str) -> bool:
    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


# -- schemas ----------------------------------------------------------------------------------


class Section(Schema):
    """Base of every config table: unknown keys are errors, and messages say what to write."""

    class Meta:
        unknown = RAISE

    error_messages = {
        "unknown": "unknown key",
        "type": Problem("must be a table", "write a [section] header with its keys below it"),
    }


class ChannelSchema(Section):
    autopilot = Bool(metadata={"example": "autopilot = true"})
    assist = Bool(metadata={"example": "assist = false"})


class RoutingSchema(Section):
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


class EnrichmentSchema(Section):
    allow = _names('allow = ["plan", "account_manager"]')
    deny = _names('deny = ["internal_notes"]')
    ttl_seconds = Int(
        validate=validate.Range(min=0, max=604_800, error="must be between 0 and 604800 (a week)"),
        metadata={"example": "ttl_seconds = 900"},
    )


class WorkspaceSchema(Section):
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
    base_url = _url(metadata={"example": 'base_url = "http://127.0.0.1:8081"'})
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
    routing = _table(RoutingSchema)
    handoff = _table(HandoffSchema)
    enrichment = _table(EnrichmentSchema)
    channels = _tables(ChannelSchema, "<channel>", r"^[a-z][a-z0-9_]{0,63}$")


class JobsSchema(Section):
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


class PluginSectionSchema(Section):
    """The part of ``[plugins.<name>]`` deskmate owns; the plugin's schema checks the rest."""

    enabled = Bool(metadata={"example": "enabled = true"})


class SettingsSchema(Section):
    database_url = ServiceUrlField(
        env_example="DATABASE_URL", schemes=["sqlite", "postgresql", "postgres", "mysql"]
    )
    instance_path = Str(
        validate=validate.Length(min=1, max=4096, error="must be a path of 1 to 4096 characters"),
        metadata={"example": 'instance_path = "instance"'},
    )
    public_url = _url(metadata={"example": 'public_url = "https://deskmate.example.com"'})
    admin_token = SecretField(env_example="DESKMATE_ADMIN_TOKEN")
    jobs = _table(JobsSchema)
    brain = _table(BrainSchema)
    workspaces = _tables(
        WorkspaceSchema,
        "<app_id>",
        r"^[A-Za-z0-9_-]{1,64}$",
        required=True,
        validate=validate.Length(min=1, error="needs at least one workspace"),
        metadata={"example": "a [workspaces.<app_id>] section named by your workspace id"},
    )
    plugins = _tables(PluginSectionSchema, "<name>", r"^[A-Za-z0-9_.-]{1,128}$", unknown="include")


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


# -- turning marshmallow's error tree into ConfigErrors ----------------------------------------


def _flatten(messages: Any, schema: Schema | None, prefix: str) -> list[ConfigError]:
    if not isinstance(messages, dict):
        return _leaves(prefix, messages, None, schema, None)
    errors: list[ConfigError] = []
    by_key = {(f.data_key or n): f for n, f in schema.fields.items()} if schema else {}
    for key, sub in messages.items():
        if key == "_schema":
            errors += _flatten(sub, None, prefix)
            continue
        fld, path = by_key.get(key), _join(prefix, key)
        if not isinstance(sub, dict):
            errors += _leaves(path, sub, fld, schema, key)
        elif isinstance(fld, fields.Nested):
            errors += _flatten(sub, fld.schema, path)
        elif isinstance(fld, fields.Dict):
            errors += _flatten_tables(sub, fld, path)
        else:
            errors += _flatten(sub, None, path)
    return errors


def _flatten_tables(messages: dict[Any, Any], fld: fields.Dict, prefix: str) -> list[ConfigError]:
    errors: list[ConfigError] = []
    values = fld.value_field
    for key, sub in messages.items():
        path = _join(prefix, key)
        if not isinstance(sub, dict):
            errors += _leaves(path, sub, fld, None, None)
            continue
        errors += _leaves(path, sub.get("key", []), fld.key_field, None, None)
        if "value" in sub:
            nested = values.schema if isinstance(values, fields.Nested) else None
            errors += _flatten(sub["value"], nested, path)
    return errors


def _leaves(
    path: str, messages: Any, fld: fields.Field | None, schema: Schema | None, key: str | None
) -> list[ConfigError]:
    items = messages if isinstance(messages, list) else [messages]
    return [_leaf(path or "(top level)", m, fld, schema, key) for m in items]


def _leaf(
    path: str, message: Any, fld: fields.Field | None, schema: Schema | None, key: str | None
) -> ConfigError:
    text = str(message)
    if schema is not None and key is not None and text == schema.error_messages.get("unknown"):
        known = sorted((f.data_key or n) for n, f in schema.fields.items())
        return ConfigError(path, "unknown key", name_hint(key, known))
    hint = getattr(message, "hint", "")
    example = fld.metadata.get("example") if fld is not None else None
    if not hint and example:
        hint = f"add {example}" if text == fld.error_messages.get("required") else f"e.g. {example}"
    return ConfigError(path, text, hint)


# -- reading and loading ----------------------------------------------------------------------


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
            raise ConfigInvalid(_flatten(exc.messages, schema, "")) from None
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
    optional: dict[str, Any] = {
        "public_url": data.get("public_url", "").rstrip("/") or None,
        "admin_token": data.get("admin_token"),
        "brain": data.get("brain"),
        "jobs_backend": jobs.get("backend"),
        "redis_url": jobs.get("redis_url"),
        "jobs_lease_seconds": jobs.get("lease_seconds"),
        "jobs_max_attempts": jobs.get("max_attempts"),
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
            _join("plugins", name),
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
    prefix = _join("plugins", name)
    try:
        schema = _section_schema(host.section_schema(name))
    except Exception as exc:
        fix = "this is a bug in the plugin; report it to its author"
        return {}, [ConfigError(prefix, f"the plugin's config schema failed: {exc}", fix)]
    try:
        return schema.load(section, unknown=RAISE), []
    except ValidationError as exc:
        return {}, _flatten(exc.messages, schema, prefix)
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


def _check_channels(settings: Settings, host: PluginHost) -> list[ConfigError]:
    """A channel override must name an installed plugin, or it would silently do nothing."""
    return [
        ConfigError(
            _join(_join(_join("workspaces", app_id), "channels"), channel),
            "no plugin with this name is installed",
            name_hint(channel, list(host.infos), "installed plugins"),
        )
        for app_id, ws in settings.workspaces.items()
        for channel in ws.channels
        if channel not in host.infos
    ]


def load(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    strict: bool | None = None,
    entry_points: Sequence[metadata.EntryPoint] | None = None,
    extra_plugins: Sequence[tuple[str, object]] = (),
) -> tuple[Settings, PluginHost]:
    """Load the config, build the plugin host from it, and validate every plugin section.

    ``settings.plugins`` holds the validated section of each loaded plugin. A plugin whose
    section is invalid is failed and the host goes on without it — unless ``strict`` (default:
    ``DESKMATE_STRICT_PLUGINS``), when every problem is raised. ``entry_points`` and
    ``extra_plugins`` are passed to :func:`~deskmate.core.plugins.make_plugin_manager`.

    :raises ConfigInvalid: the core config is invalid, or ``strict`` and a plugin section is.
    """
    env = os.environ if env is None else env
    settings = load_settings(path, env)
    host = make_plugin_manager(
        settings.plugins, env=env, entry_points=entry_points, extra_plugins=extra_plugins
    )
    base = settings.source_path.parent if settings.source_path else Path.cwd()
    with secret_sources(env, base):
        sections, errors = check_plugin_sections(settings.plugins, host)
    errors += _check_channels(settings, host)
    if strict is None:
        strict = env_flag(env, "DESKMATE_STRICT_PLUGINS")
    if errors and strict:
        raise ConfigInvalid(errors)
    for error in errors:
        log.warning("config: %s", error)
    return replace(settings, plugins=sections), host


# -- the starter file and the summary -----------------------------------------------------------


def starter_text() -> str:
    """The commented starter config that ``deskmate init`` writes."""
    return resources.files("deskmate.core").joinpath("starter.toml").read_text("utf-8")


def write_starter(path: Path, *, force: bool = False) -> None:
    """Write the starter config to ``path``.

    :raises FileExistsError: ``path`` exists and ``force`` is false (nothing is written).
    """
    with path.open("w" if force else "x", encoding="utf-8") as fh:
        fh.write(starter_text())


def env_references(raw: Any) -> list[str]:
    """The environment variables a parsed config refers to, in order of appearance."""
    if not isinstance(raw, dict):
        return []
    if set(raw) == {"env"} and isinstance(raw["env"], str):
        return [raw["env"]]
    names: list[str] = []
    for value in raw.values():
        names += [n for n in env_references(value) if n not in names]
    return names


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
    lines.append(f"database: {masked(settings.resolved_database_url())}")
    lines.append(f"jobs: {settings.jobs_backend}")
    lines.append(f"public URL: {settings.public_url}")
    return lines
