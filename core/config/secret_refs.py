"""Secret references (``{ env = "NAME" }`` or ``{ file = "path" }``) checked and resolved.

A secret is never written in the config file and its value never appears in a message: the
checks here name the reference and the fix, not what it holds.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from deskmate.core.config.errors import Problem, key_label, name_hint
from deskmate.core.config.settings import Secret

MAX_SECRET_BYTES = 64 * 1024
"""A secret file holds one token; anything past this is refused."""


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


def secret_reference(value: Any, name: str, env_example: str) -> tuple[str, str]:
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
        raise ValidationError(Problem(f"has an unknown key {key_label(unknown[0])}", hint))
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


def resolve_secret(source: str, ref: str) -> Secret:
    """The :class:`Secret` a checked reference points to, read from the environment or the file."""
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
