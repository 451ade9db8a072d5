"""Default ``enrich_context``: the contact's and its companies' custom attributes.

Fetched once per contact and kept for the workspace's TTL, so later messages of a conversation
cost no extra Intercom call. Allow and deny lists decide which attributes reach the AI.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from deskmate.core.config import EnrichmentPolicy
from deskmate.core.domain import Turn
from deskmate.core.intercom.errors import NotFound
from deskmate.hookspecs import hookimpl

MAX_VALUE_CHARS = 500

_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached contact (a new workspace behind the same app id, tests, benchmarks)."""
    with _lock:
        _cache.clear()


def allowed(name: str, policy: EnrichmentPolicy) -> bool:
    """An attribute passes when it is not denied and the allow list is empty or names it."""
    if name in policy.deny:
        return False
    return not policy.allow or name in policy.allow


def _attributes(prefix: str, attrs: Any, policy: EnrichmentPolicy) -> dict[str, Any]:
    if not isinstance(attrs, Mapping):
        return {}
    return {
        f"{prefix}{name}": value if not isinstance(value, str) else value[:MAX_VALUE_CHARS]
        for name, value in attrs.items()
        if isinstance(name, str) and allowed(name, policy) and value not in (None, "")
    }


def contact_context(turn: Turn, contact_id: str) -> dict[str, Any]:
    """Fetch the contact and its companies and keep only the allowed custom attributes."""
    policy = turn.workspace.enrichment
    contact = turn.intercom.get_contact(contact_id)
    facts = _attributes("contact.", contact.get("custom_attributes"), policy)
    for key in ("name", "browser_language", "language_override"):
        if contact.get(key):
            facts[key] = contact[key]
    companies = contact.get("companies") or {}
    if isinstance(companies, Mapping) and companies.get("total_count"):
        for company in turn.intercom.contact_companies(contact_id):
            label = company.get("name") or company.get("id") or "company"
            facts.update(
                _attributes(f"company[{label}].", company.get("custom_attributes"), policy)
            )
    return facts


@hookimpl(trylast=True)
def enrich_context(turn: Turn) -> dict[str, Any] | None:
    if turn.intercom is None or not turn.conversation.contact_ids:
        return None
    contact_id = turn.conversation.contact_ids[0]
    key = (turn.workspace.app_id, contact_id)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
    if cached and now - cached[0] < turn.workspace.enrichment.ttl_seconds:
        return cached[1]
    try:
        facts = contact_context(turn, contact_id)
    except NotFound:
        facts = {}
    with _lock:
        _cache[key] = (now, facts)
    return facts
