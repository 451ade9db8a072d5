"""Contact and company enrichment: what reaches the AI and how many Intercom calls it costs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from deskmate.core import caches
from deskmate.core.config import EnrichmentPolicy
from deskmate.core.intercom import enrichment
from deskmate.core.intercom.client import IntercomClient
from deskmate.core.sandbox import SandboxServer
from deskmate.testing import (
    SANDBOX_AI_ADMIN_ID,
    make_conversation,
    make_turn,
    make_workspace,
)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    enrichment.clear_cache()
    yield
    enrichment.clear_cache()


class Sandbox:
    """Customers made through the control API, and the REST calls deskmate spent."""

    def __init__(self, server: SandboxServer) -> None:
        self.url = server.base_url
        self.client = IntercomClient(
            make_workspace(base_url=server.base_url, ai_admin_id=SANDBOX_AI_ADMIN_ID)
        )

    def customer(self, email: str, company: dict[str, Any] | None = None) -> str:
        body = {
            "channel": "messenger",
            "body": "Hello",
            "contact": {"name": email, "email": email, "custom_attributes": {"plan": "pro"}},
            "company": company,
        }
        answer = requests.post(f"{self.url}/_sandbox/conversations", json=body, timeout=10)
        answer.raise_for_status()
        requests.delete(f"{self.url}/_sandbox/requests", timeout=10)
        return answer.json()["contact_id"]

    def calls(self) -> list[str]:
        found = requests.get(f"{self.url}/_sandbox/requests", timeout=10).json()["requests"]
        return [f"{c['method']} {c['path']}" for c in found]

    def enrich(self, contact_id: str, **policy: Any) -> dict[str, Any] | None:
        workspace = self.client.workspace
        if policy:
            workspace = make_workspace(
                base_url=self.url,
                enrichment=EnrichmentPolicy(**policy),
            )
        conversation = make_conversation(contact_ids=[contact_id])
        turn = make_turn(workspace=workspace, conversation=conversation, intercom=self.client)
        return enrichment.enrich_context(turn=turn)


@pytest.fixture
def sandbox(intercom_sandbox: SandboxServer) -> Sandbox:
    return Sandbox(intercom_sandbox)


ACME = {"name": "Acme", "custom_attributes": {"tier": "gold", "manager": "Grace"}}


def test_first_message_fetches_contact_and_companies_then_nothing(sandbox: Sandbox) -> None:
    contact = sandbox.customer("ada@example.com", ACME)
    facts = sandbox.enrich(contact)
    assert facts is not None
    assert facts["contact.plan"] == "pro"
    assert facts["company[Acme].tier"] == "gold"
    assert sandbox.calls() == [f"GET /contacts/{contact}", f"GET /contacts/{contact}/companies"]
    assert sandbox.enrich(contact) == facts
    assert len(sandbox.calls()) == 2, "a later message of the same contact costs no call"


def test_a_contact_of_a_known_company_costs_one_call(sandbox: Sandbox) -> None:
    first = sandbox.customer("ada@example.com", ACME)
    sandbox.enrich(first)
    second = sandbox.customer("grace@example.com", {"name": "Acme", "custom_attributes": {}})
    facts = sandbox.enrich(second)
    assert facts is not None and facts["company[Acme].manager"] == "Grace"
    assert sandbox.calls() == [f"GET /contacts/{second}"]


def test_a_contact_without_company_never_asks_for_companies(sandbox: Sandbox) -> None:
    contact = sandbox.customer("solo@example.com")
    facts = sandbox.enrich(contact)
    assert facts is not None and "contact.plan" in facts
    assert sandbox.calls() == [f"GET /contacts/{contact}"]


def test_an_expired_entry_is_fetched_again(sandbox: Sandbox) -> None:
    contact = sandbox.customer("ada@example.com", ACME)
    sandbox.enrich(contact, ttl_seconds=0)
    sandbox.enrich(contact, ttl_seconds=0)
    assert len(sandbox.calls()) == 4


def test_denied_attributes_never_reach_the_ai_even_from_the_company_cache(
    sandbox: Sandbox,
) -> None:
    first = sandbox.customer("ada@example.com", ACME)
    sandbox.enrich(first, deny=("manager",))
    facts = sandbox.enrich(sandbox.customer("bob@example.com", ACME), deny=("manager",))
    assert facts is not None
    assert "company[Acme].tier" in facts and "company[Acme].manager" not in facts


def test_an_unknown_contact_gives_no_facts_and_is_not_asked_again(sandbox: Sandbox) -> None:
    assert sandbox.enrich("6960ffffffffffffffffffff") == {}
    assert sandbox.enrich("6960ffffffffffffffffffff") == {}
    assert len(sandbox.calls()) == 1


class FakeIntercom:
    """A client answering with a fixed contact and companies, counting the calls."""

    def __init__(self, contact: dict[str, Any], companies: list[dict[str, Any]]) -> None:
        self.contact, self.companies, self.calls = contact, companies, []

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        self.calls.append("contact")
        return self.contact

    def contact_companies(self, contact_id: str) -> list[dict[str, Any]]:
        self.calls.append("companies")
        return self.companies


def enrich_with(fake: FakeIntercom, contact_id: str = "c1") -> dict[str, Any] | None:
    turn = make_turn(conversation=make_conversation(contact_ids=[contact_id]), intercom=fake)
    return enrichment.enrich_context(turn=turn)


ONE_COMPANY = [{"id": "co1", "name": "Acme", "custom_attributes": {"tier": "gold"}}]


@pytest.mark.parametrize(
    "summary",
    [
        {"total_count": 1, "has_more": True, "data": [{"id": "co1"}]},
        {"total_count": 2, "data": [{"id": "co1"}]},
        {"total_count": 1, "data": "co1"},
        {"total_count": 1, "data": [{"id": None}]},
        {"total_count": 1, "data": [{"id": ["co1"]}]},
        {"total_count": 1, "data": ["co1"]},
        {"total_count": 1},
    ],
    ids=["has-more", "short-list", "not-a-list", "null-id", "list-id", "bare-id", "no-data"],
)
def test_a_summary_that_does_not_list_every_company_costs_the_companies_call(
    summary: dict[str, Any],
) -> None:
    enrich_with(
        FakeIntercom({"companies": {"total_count": 1, "data": [{"id": "co1"}]}}, ONE_COMPANY)
    )
    fake = FakeIntercom({"companies": summary}, ONE_COMPANY)
    facts = enrich_with(fake, "c2")
    assert fake.calls == ["contact", "companies"]
    assert facts == {"company[Acme].tier": "gold"}


def test_hostile_contact_shapes_give_no_company_facts_and_no_error() -> None:
    for contact in (
        {"companies": "many"},
        {"companies": {"total_count": 0, "data": [{"id": "co1"}]}},
        {"custom_attributes": ["not", "a", "mapping"], "companies": None},
    ):
        enrichment.clear_cache()
        fake = FakeIntercom(contact, ONE_COMPANY)
        assert enrich_with(fake) == {}
        assert fake.calls == ["contact"]


def test_huge_values_are_cut_and_the_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caches, "MAX_ENTRIES", 3)
    fake = FakeIntercom({"custom_attributes": {"bio": "x" * 1_000_000}}, [])
    for contact_id in ("c1", "c2", "c3", "c4"):
        facts = enrich_with(fake, contact_id)
        assert facts is not None and len(facts["contact.bio"]) == enrichment.MAX_VALUE_CHARS
    assert len(caches.cache()) == 3  # type: ignore[arg-type]
    enrich_with(fake, "c2")
    enrich_with(fake, "c1")
    assert fake.calls == ["contact"] * 5, "the oldest entry went first; c2 was still cached"
