"""Configuration problems: one :class:`ConfigError` per key path, raised together in
:class:`ConfigInvalid`, and the translation of marshmallow's error tree into them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields

from deskmate.core.plugins import closest


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


def key_label(key: object) -> str:
    """A key as it may appear in a path: short and printable, quoted when it is neither."""
    text = str(key)
    if _SAFE_KEY.match(text):
        return text
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def join_key(prefix: str, key: object) -> str:
    """The key path ``prefix.key``, with ``key`` labelled as :func:`key_label` does."""
    return f"{prefix}.{key_label(key)}" if prefix else key_label(key)


def flatten_errors(messages: Any, schema: Schema | None, prefix: str) -> list[ConfigError]:
    """marshmallow's nested messages as one :class:`ConfigError` per key path, each with a fix."""
    if not isinstance(messages, dict):
        return _leaves(prefix, messages, None, schema, None)
    errors: list[ConfigError] = []
    by_key = {(f.data_key or n): f for n, f in schema.fields.items()} if schema else {}
    for key, sub in messages.items():
        if key == "_schema":
            errors += flatten_errors(sub, None, prefix)
            continue
        fld, path = by_key.get(key), join_key(prefix, key)
        if not isinstance(sub, dict):
            errors += _leaves(path, sub, fld, schema, key)
        elif isinstance(fld, fields.Nested):
            errors += flatten_errors(sub, fld.schema, path)
        elif isinstance(fld, fields.Dict):
            errors += _flatten_tables(sub, fld, path)
        else:
            errors += flatten_errors(sub, None, path)
    return errors


def _flatten_tables(messages: dict[Any, Any], fld: fields.Dict, prefix: str) -> list[ConfigError]:
    errors: list[ConfigError] = []
    values = fld.value_field
    for key, sub in messages.items():
        path = join_key(prefix, key)
        if not isinstance(sub, dict):
            errors += _leaves(path, sub, fld, None, None)
            continue
        errors += _leaves(path, sub.get("key", []), fld.key_field, None, None)
        if "value" in sub:
            nested = values.schema if isinstance(values, fields.Nested) else None
            errors += flatten_errors(sub["value"], nested, path)
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
