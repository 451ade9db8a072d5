"""The ``[plugins.llm]`` section: its schema, per-workspace overrides and the typed options.

The plugin is off until ``base_url`` and ``model`` are set (in the section, or for one workspace
in ``[plugins.llm.workspaces.<app_id>]``, whose keys override the section's for that workspace).
The API key is a secret reference and never a value in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from deskmate.core.config import Secret, SecretField
from deskmate.core.config.toml_fields import Int, tables, url_field

NAME = "llm"
ON_FAILURE = ("handoff", "default_brain")
DEFAULT_REPLY_CHARS = {"messenger": 1200, "email": 4000}
"""The longest answer each channel takes, in characters (others: ``max_reply_chars_default``)."""
NO_KEY = "not-needed"
"""Sent as the key to servers that take none (Ollama, vLLM without ``--api-key``)."""


class KeyField(SecretField):
    """A secret reference, or a :class:`Secret` already resolved (a validated section)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Secret:
        if isinstance(value, Secret):
            return value
        return super()._deserialize(value, attr, data, **kwargs)


class ModelSettingsSchema(Schema):
    """The keys a workspace may override: everything about the endpoint and the answer."""

    class Meta:
        unknown = RAISE

    base_url = url_field()
    api_key = KeyField(env_example="LLM_API_KEY")
    model = fields.String(validate=validate.Length(1, 200))
    embedding_model = fields.String(validate=validate.Length(1, 200))
    timeout = fields.Float(validate=validate.Range(0.1, 600))
    max_retries = Int(validate=validate.Range(0, 5))
    max_retry_wait = fields.Float(validate=validate.Range(0, 120))
    max_output_tokens = Int(validate=validate.Range(16, 32_000))
    temperature = fields.Float(validate=validate.Range(0.0, 2.0))
    max_context_tokens = Int(validate=validate.Range(500, 2_000_000))
    on_failure = fields.String(validate=validate.OneOf(ON_FAILURE))
    max_reply_chars = fields.Dict(
        keys=fields.String(), values=Int(validate=validate.Range(50, 100_000))
    )
    max_reply_chars_default = Int(validate=validate.Range(50, 100_000))
    allowed_attributes = fields.List(fields.String(validate=validate.Length(1, 200)))
    price_per_input_token = fields.Float(validate=validate.Range(0, 1))
    price_per_output_token = fields.Float(validate=validate.Range(0, 1))
    breaker_failures = Int(validate=validate.Range(1, 100))
    breaker_seconds = fields.Float(validate=validate.Range(1, 3600))


class LlmConfig(ModelSettingsSchema):
    """``[plugins.llm]``: the model settings plus ``[plugins.llm.workspaces.<app_id>]``."""

    workspaces = tables(ModelSettingsSchema, "<app_id>", r"^[A-Za-z0-9_.-]{1,128}$")


@dataclass(frozen=True)
class LlmOptions:
    """One workspace's model settings with every default filled in.

    ``allowed_attributes``: the enrichment facts (contact and company attributes) the prompt may
    hold; empty: none. ``price_per_*_token``: the estimate of each call's cost, in your currency.
    ``breaker_failures`` failed calls in a row open the endpoint's circuit for
    ``breaker_seconds``.
    """

    base_url: str = ""
    api_key: Secret | None = None
    model: str = ""
    embedding_model: str | None = None
    timeout: float = 30.0
    max_retries: int = 2
    max_retry_wait: float = 20.0
    max_output_tokens: int = 800
    temperature: float = 0.2
    max_context_tokens: int = 8000
    on_failure: str = "handoff"
    max_reply_chars: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_REPLY_CHARS))
    max_reply_chars_default: int = 2000
    allowed_attributes: tuple[str, ...] = ()
    price_per_input_token: float = 0.0
    price_per_output_token: float = 0.0
    breaker_failures: int = 5
    breaker_seconds: float = 60.0

    @property
    def configured(self) -> bool:
        """The plugin answers only once an endpoint and a model are set."""
        return bool(self.base_url and self.model)

    @property
    def endpoint(self) -> str:
        """The endpoint's label in metrics and the breaker: scheme, host and path, no query."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"

    def key(self) -> str:
        return self.api_key.reveal() if self.api_key is not None else NO_KEY

    def reply_limit(self, channel: str | None) -> int:
        """The longest answer ``channel`` takes."""
        return int(self.max_reply_chars.get(channel or "", self.max_reply_chars_default))

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        """The estimated price of a call that used these tokens."""
        return tokens_in * self.price_per_input_token + tokens_out * self.price_per_output_token


def _options(values: Mapping[str, Any], base: LlmOptions) -> LlmOptions:
    values = dict(values)
    if "max_reply_chars" in values:
        values["max_reply_chars"] = {**base.max_reply_chars, **values["max_reply_chars"]}
    if "allowed_attributes" in values:
        values["allowed_attributes"] = tuple(values["allowed_attributes"])
    return replace(base, **values)


def options_for(section: Mapping[str, Any], workspace_id: str | None = None) -> LlmOptions:
    """The options of ``workspace_id`` from a raw or validated ``[plugins.llm]`` section."""
    loaded = LlmConfig().load(dict(section), unknown=EXCLUDE)
    overrides = loaded.pop("workspaces", {})
    options = _options(loaded, LlmOptions())
    if workspace_id in overrides:
        options = _options(overrides[workspace_id], options)
    return options
