"""The contact cache answers within its TTL and refreshes on store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskmate.core.store.contacts import cache_contact, cached_contact

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=1)


def test_cached_contact_is_returned_until_its_ttl_runs_out(session):
    cache_contact(session, "app1", "u1", {"name": "Ada", "plan": "pro"}, now=T0)
    assert cached_contact(session, "app1", "u1", ttl=TTL, now=T0 + TTL / 2) == {
        "name": "Ada",
        "plan": "pro",
    }
    assert cached_contact(session, "app1", "u1", ttl=TTL, now=T0 + TTL) is None
    assert cached_contact(session, "app2", "u1", ttl=TTL, now=T0) is None


def test_storing_again_refreshes_data_and_time(session):
    cache_contact(session, "app1", "u1", {"plan": "free"}, now=T0)
    cache_contact(session, "app1", "u1", {"plan": "pro"}, now=T0 + TTL)
    assert cached_contact(session, "app1", "u1", ttl=TTL, now=T0 + TTL * 1.5) == {"plan": "pro"}


def test_malformed_contact_id_is_refused(session):
    with pytest.raises(ValueError, match="contact_id is 65 characters long"):
        cache_contact(session, "app1", "u" * 65, {})
