"""``POST /conversations/search`` and ``GET /conversations``: filters and cursor pagination.

Supported: single filters and ``AND``/``OR`` groups (at most 2 levels, 15 filters per group) over
the fields below, with Intercom's operators. As Intercom documents, ``>`` and ``<`` are
inclusive ("greater (or equal) than"). Results are ordered by ``updated_at`` then id, ascending
for search and descending for the list; the cursor names the last item of the page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from deskmate.core.sandbox.records import Conversation
from deskmate.core.sandbox.state import SandboxError

MAX_PER_PAGE = 150
DEFAULT_PER_PAGE = 20
MAX_DEPTH = 2
MAX_GROUP = 15

Predicate = Callable[[Conversation], bool]

_FIELDS: dict[str, Callable[[Conversation], Any]] = {
    "id": lambda c: c.id,
    "created_at": lambda c: c.created_at,
    "updated_at": lambda c: c.updated_at,
    "waiting_since": lambda c: c.waiting_since,
    "snoozed_until": lambda c: c.snoozed_until,
    "state": lambda c: c.state,
    "open": lambda c: c.state == "open",
    "read": lambda c: c.read,
    "priority": lambda c: "priority" if c.priority else "not_priority",
    "title": lambda c: c.title,
    "source.type": lambda c: c.source.type,
    "source.delivered_as": lambda c: c.source.delivered_as,
    "source.subject": lambda c: c.source.subject,
    "source.body": lambda c: c.source.body,
    "source.author.id": lambda c: c.source.author.id,
    "source.author.type": lambda c: c.source.author.type,
    "source.author.email": lambda c: c.source.author.email,
    "admin_assignee_id": lambda c: c.admin_assignee_id or "0",
    "team_assignee_id": lambda c: c.team_assignee_id or "0",
    "contact_ids": lambda c: c.contact_ids,
    "tag_ids": lambda c: [t.tag_id for t in c.tags],
    "statistics.last_close_at": lambda c: c.last_close_at,
    "statistics.last_admin_reply_at": lambda c: c.last_admin_reply_at,
    "statistics.last_contact_reply_at": lambda c: c.last_contact_reply_at,
}
_NUMERIC = {
    "created_at", "updated_at", "waiting_since", "snoozed_until", "statistics.last_close_at",
    "statistics.last_admin_reply_at", "statistics.last_contact_reply_at",
}  # fmt: skip
_BOOLEAN = {"open", "read"}


def _invalid(message: str, field: str = "query") -> SandboxError:
    return SandboxError(400, "parameter_invalid", message, field)


def _coerce(field: str, value: Any) -> Any:
    if field in _NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _invalid(f"{field} needs a unix timestamp")
        try:
            return int(value)
        except ValueError:
            raise _invalid(f"{field} needs a unix timestamp, not {value!r:.40}") from None
    if field in _BOOLEAN:
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise _invalid(f"{field} needs true or false")
    if isinstance(value, bool | int):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if not isinstance(value, str):
        raise _invalid(f"{field} needs a string value")
    return value


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if actual is None:
        return op in ("!=", "NIN")
    if op == "=":
        return actual == expected
    if op == "!=":
        return actual != expected
    if op in (">", ">="):
        return actual >= expected
    if op in ("<", "<="):
        return actual <= expected
    text, needle = str(actual).casefold(), str(expected).casefold()
    return {
        "~": needle in text,
        "!~": needle not in text,
        "^": text.startswith(needle),
        "$": text.endswith(needle),
    }[op]


_OPERATORS = {"=", "!=", ">", "<", ">=", "<=", "~", "!~", "^", "$", "IN", "NIN"}


def _filter(node: dict[str, Any]) -> Predicate:
    field, op, value = node.get("field"), node.get("operator"), node.get("value")
    if field not in _FIELDS:
        raise _invalid(f"unsupported search field {field!r:.60}", "field")
    if op not in _OPERATORS:
        raise _invalid(f"unsupported operator {op!r:.20}", "operator")
    getter = _FIELDS[field]
    if op in ("IN", "NIN"):
        if not isinstance(value, list) or len(value) > MAX_PER_PAGE:
            raise _invalid(f"{op} needs a list of at most {MAX_PER_PAGE} values", "value")
        wanted = {_coerce(field, v) for v in value}
        inside = (
            (lambda a: bool(wanted & set(a))) if field.endswith("_ids") else wanted.__contains__
        )
        return (lambda c: inside(getter(c))) if op == "IN" else (lambda c: not inside(getter(c)))
    expected = _coerce(field, value)
    if field.endswith("_ids"):
        if op not in ("=", "!="):
            raise _invalid(f"{field} supports =, !=, IN and NIN", "operator")
        return lambda c: (expected in getter(c)) == (op == "=")
    return lambda c: _compare(op, getter(c), expected)


def compile_query(node: Any, depth: int = 0) -> Predicate:
    """A predicate for Intercom's search query; ``SandboxError`` (400) when it is malformed."""
    if not isinstance(node, dict):
        raise _invalid("query must be an object with field/operator/value or operator/value")
    if node.get("operator") in ("AND", "OR"):
        children = node.get("value")
        if depth >= MAX_DEPTH:
            raise _invalid(f"queries nest at most {MAX_DEPTH} levels")
        if not isinstance(children, list) or not 1 <= len(children) <= MAX_GROUP:
            raise _invalid(f"an AND/OR group holds 1 to {MAX_GROUP} filters")
        preds = [compile_query(child, depth + 1) for child in children]
        if node["operator"] == "AND":
            return lambda c: all(p(c) for p in preds)
        return lambda c: any(p(c) for p in preds)
    return _filter(node)


@dataclass(frozen=True)
class Page:
    items: list[Conversation]
    total: int
    page: int
    per_page: int
    next_cursor: str | None


def per_page_of(value: Any) -> int:
    """A validated ``per_page`` (1-150; default 20)."""
    if value is None:
        return DEFAULT_PER_PAGE
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _invalid("per_page must be a number from 1 to 150", "per_page") from None
    if isinstance(value, bool) or not 1 <= number <= MAX_PER_PAGE:
        raise _invalid("per_page must be a number from 1 to 150", "per_page")
    return number


def _encode(key: tuple[int, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _decode(cursor: Any) -> tuple[int, int]:
    try:
        if not isinstance(cursor, str) or len(cursor) > 100:
            raise ValueError
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not (isinstance(key, list) and len(key) == 2 and all(type(k) is int for k in key)):
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid(
            "starting_after is not a cursor this API returned", "starting_after"
        ) from None
    return key[0], key[1]


def _key(conv: Conversation) -> tuple[int, int]:
    return conv.updated_at, int(conv.id)


def paginate(
    conversations: Iterable[Conversation],
    predicate: Predicate,
    per_page: int,
    starting_after: str | None,
    *,
    descending: bool = False,
) -> Page:
    """One page of matches after the cursor, in ``(updated_at, id)`` order."""
    matches = sorted((c for c in conversations if predicate(c)), key=_key, reverse=descending)
    start = 0
    if starting_after is not None:
        after = _decode(starting_after)
        start = next(
            (
                i
                for i, c in enumerate(matches)
                if (_key(c) < after if descending else _key(c) > after)
            ),
            len(matches),
        )
    items = matches[start : start + per_page]
    more = start + per_page < len(matches)
    return Page(
        items=items,
        total=len(matches),
        page=start // per_page + 1,
        per_page=per_page,
        next_cursor=_encode(_key(items[-1])) if more and items else None,
    )
