"""marshmallow fields that accept exactly what TOML writes, for deskmate's and plugins' schemas.

``1`` is not ``true`` and ``"5"`` is not ``5``: a typo never silently changes a setting. Secrets
and connection URLs load through references, so their values stay out of the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate

from deskmate.core.config.errors import Problem
from deskmate.core.config.secret_refs import resolve_secret, secret_reference
from deskmate.core.config.settings import Secret


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


def table(schema: type[Schema], **kwargs: Any) -> fields.Nested:
    """A nested table (``[section]``) checked by ``schema``."""
    return fields.Nested(schema, error_messages={"required": "is required"}, **kwargs)


def tables(schema: type[Schema], placeholder: str, key_pattern: str, **kwargs: Any) -> fields.Dict:
    """A table of same-shaped tables keyed by a name (``[workspaces.<app_id>]``)."""
    key = Str(validate=validate.Regexp(key_pattern, error=f"is not a valid {placeholder[1:-1]}"))
    return fields.Dict(
        keys=key,
        values=table(schema, unknown=kwargs.pop("unknown", None)),
        error_messages={"invalid": "must be a table", "required": "is required"},
        metadata={"placeholder": placeholder, **kwargs.pop("metadata", {})},
        **kwargs,
    )


def url_field(**kwargs: Any) -> Str:
    """An http(s) URL string."""
    return Str(
        validate=validate.URL(
            schemes={"http", "https"}, require_tld=False, error="must be an http(s) URL"
        ),
        **kwargs,
    )


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
        source, ref = secret_reference(value, self.name or "secret", self.env_example)
        return resolve_secret(source, ref)


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
            source, ref = secret_reference(value, name, self.env_example)
            url = resolve_secret(source, ref).reveal()
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
