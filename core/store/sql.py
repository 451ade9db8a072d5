"""Helpers the repository modules share: portable upserts, argument checks, redaction.

Repository functions take an open :class:`~sqlalchemy.orm.Session`, never commit, and leave the
transaction to the caller (``with session_factory.begin() as session: ...``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, overload

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from deskmate.core.store.models import Base, utcnow

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"token|secret|password|authorization|api[_-]?key|cookie", re.IGNORECASE)


def insert(session: Session, model: type[Base]) -> Any:
    """An INSERT for ``model`` with this backend's ``on_conflict_do_nothing/do_update``."""
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite.insert(model)
    if name == "postgresql":
        return postgresql.insert(model)
    raise NotImplementedError(f"deskmate's store supports SQLite and PostgreSQL, not {name}")


def now_or(now: datetime | None) -> datetime:
    """``now`` if given (tests pass a clock), else the current UTC time."""
    return now if now is not None else utcnow()


def check_id(name: str, value: object, max_length: int) -> str:
    """Reject an empty, non-string or oversized identifier before it reaches the database."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {type(value).__name__}")
    if len(value) > max_length:
        raise ValueError(f"{name} is {len(value)} characters long; the limit is {max_length}")
    return value


@overload
def clean_text(value: str) -> str: ...
@overload
def clean_text(value: None) -> None: ...
def clean_text(value: str | None) -> str | None:
    """``value`` as text any database stores: without NUL characters, which PostgreSQL can't
    keep, and with each lone surrogate written as its ``\\udXXX`` escape, since UTF-8 can't
    encode one (JSON can hold both, so a hostile message or a reason quoting it may carry them)."""
    if not value:
        return value
    value = value.replace("\x00", "")
    if value.isascii():
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def redact(value: Any) -> Any:
    """A copy of ``value`` with the values of secret-looking keys replaced, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value
