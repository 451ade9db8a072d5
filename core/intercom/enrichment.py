"""Default ``enrich_context``: the contact's and its companies' custom attributes.

Fetched once per contact and kept for the workspace's TTL, so later messages of a conversation
cost no extra Intercom call; the cache is the deployment's (:mod:`deskmate.core.caches`: Redis
when configured, so every process finds what one fetched, else this process's memory).
Companies are kept by id too: the contact's own answer lists its company ids, so a contact whose
companies are all known costs one call, not two. Allow and deny lists decide which attributes
reach the AI. Attributes are never written to the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deskmate.core.caches import cache
from deskmate.core.config import EnrichmentPolicy
from deskmate.core.domain import Turn
from deskmate.core.intercom.errors import NotFound
from deskmate.hookspecs import hookimpl

MAX_VALUE_CHARS = 500


def clear_cache() -> None:
    """Forget every cached contact and company (tests, benchmarks, a new workspace)."""
    cache().clear()


def _key(app_id: str, kind: str, item_id: str) -> str:
    return f"enrich:{app_id}:{kind}:{item_id}"


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


def _listed_ids(summary: Mapping[str, Any]) -> list[str] | None:
    """The company ids in a contact's ``companies`` summary; ``None`` unless it lists them all."""
    data = summary.get("data")
    if not isinstance(data, list) or summary.get("has_more") or len(data) != summary["total_count"]:
        return None
    ids = [c.get("id") for c in data if isinstance(c, Mapping)]
    if len(ids) != len(data) or not all(isinstance(i, str | int) and i != "" for i in ids):
        return None
    return [str(i) for i in ids]


def company_context(turn: Turn, contact_id: str, summary: Any) -> list[dict[str, Any]]:
    """The allowed attributes of each of the contact's companies, from the cache when the
    contact's summary names every company and each is cached, else with one call for all."""
    if not isinstance(summary, Mapping) or not summary.get("total_count"):
        return []
    app, policy = turn.workspace.app_id, turn.workspace.enrichment
    ids = _listed_ids(summary)
    if ids is not None:
        cached = [cache().get(_key(app, "company", cid)) for cid in ids]
        if all(facts is not None for facts in cached):
            return cached  # type: ignore[return-value]
    found = []
    for company in turn.intercom.contact_companies(contact_id):
        label = company.get("name") or company.get("id") or "company"
        facts = _attributes(f"company[{label}].", company.get("custom_attributes"), policy)
        if isinstance(company.get("id"), str | int):
            cache().put(_key(app, "company", str(company["id"])), facts, policy.ttl_seconds)
        found.append(facts)
    return found


def contact_context(turn: Turn, contact_id: str) -> dict[str, Any]:
    """Fetch the contact (and its companies unless cached); keep the allowed custom attributes."""
    policy = turn.workspace.enrichment
    contact = turn.intercom.get_contact(contact_id)
    facts = _attributes("contact.", contact.get("custom_attributes"), policy)
    for key in ("name", "browser_language", "language_override"):
        if contact.get(key):
            facts[key] = contact[key]
    for company in company_context(turn, contact_id, contact.get("companies")):
        facts.update(company)
    return facts


@hookimpl(trylast=True)
def enrich_context(turn: Turn) -> dict[str, Any] | None:
    if turn.intercom is None or not turn.conversation.contact_ids:
        return None
    contact_id = turn.conversation.contact_ids[0]
    key = _key(turn.workspace.app_id, "contact", contact_id)
    cached = cache().get(key)
    if cached is not None:
        return cached
    try:
        facts = contact_context(turn, contact_id)
    except NotFound:
        facts = {}
    cache().put(key, facts, turn.workspace.enrichment.ttl_seconds)
    return facts
