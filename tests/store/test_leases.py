"""Per-conversation leases: exclusive while live, free once expired, released only by the owner."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from deskmate.core.store.events import claim_events, record_event
from deskmate.core.store.leases import acquire_lease, release_lease, renew_lease

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


def test_a_live_lease_excludes_other_owners(session):
    assert acquire_lease(session, "app1", "c1", "worker-a", TTL, now=T0)
    assert not acquire_lease(session, "app1", "c1", "worker-b", TTL, now=T0 + TTL / 2)


def test_leases_are_per_conversation_and_workspace(session):
    assert acquire_lease(session, "app1", "c1", "worker-a", TTL, now=T0)
    assert acquire_lease(session, "app1", "c2", "worker-b", TTL, now=T0)
    assert acquire_lease(session, "app2", "c1", "worker-b", TTL, now=T0)


def test_an_expired_lease_can_be_taken_by_another_owner(session):
    assert acquire_lease(session, "app1", "c1", "worker-a", TTL, now=T0)
    assert acquire_lease(session, "app1", "c1", "worker-b", TTL, now=T0 + TTL)
    assert not acquire_lease(session, "app1", "c1", "worker-a", TTL, now=T0 + TTL)


def test_the_owner_extends_its_own_lease(session):
    assert acquire_lease(session, "app1", "c1", "worker-a", TTL, now=T0)
    assert acquire_lease(session, "app1", "c1", "worker-a", TTL, now=T0 + TTL / 2)
    assert not acquire_lease(session, "app1", "c1", "worker-b", TTL, now=T0 + TTL)


def test_release_frees_the_lease_only_for_its_owner(session):
    acquire_lease(session, "app1", "c1", "worker-a", TTL, now=T0)
    assert not release_lease(session, "app1", "c1", "worker-b")
    assert not acquire_lease(session, "app1", "c1", "worker-b", TTL, now=T0)
    assert release_lease(session, "app1", "c1", "worker-a")
    assert acquire_lease(session, "app1", "c1", "worker-b", TTL, now=T0)


def test_a_lease_lost_to_expiry_is_not_released_by_its_former_owner(session):
    acquire_lease(session, "app1", "c1", "worker-a", TTL, now=T0)
    acquire_lease(session, "app1", "c1", "worker-b", TTL, now=T0 + TTL)
    assert not release_lease(session, "app1", "c1", "worker-a")
    assert not acquire_lease(session, "app1", "c1", "worker-c", TTL, now=T0 + TTL)


def claimed_event(session, conversation_id: str = "c1") -> int:
    """An event of the conversation, claimed by a run until ``T0 + TTL``."""
    record_event(
        session,
        workspace_id="app1",
        notification_id=f"n-{conversation_id}",
        topic="conversation.user.replied",
        payload="{}",
        conversation_id=conversation_id,
        now=T0,
    )
    (claimed,) = claim_events(session, "app1", conversation_id, lease=TTL, now=T0)
    return claimed.id


def test_a_renewal_holds_the_lease_and_the_runs_claimed_events_longer(session):
    acquire_lease(session, "app1", "c1", "worker-a", TTL, now=T0)
    claimed_event(session)
    claimed_event(session, "c2")
    later = T0 + TTL / 2

    assert renew_lease(session, "app1", "c1", "worker-a", TTL, now=later)

    assert not acquire_lease(session, "app1", "c1", "worker-b", TTL, now=T0 + TTL)
    assert claim_events(session, "app1", "c1", lease=TTL, now=T0 + TTL) == []
    assert len(claim_events(session, "app1", "c2", lease=TTL, now=T0 + TTL)) == 1, "not c1's"


def test_a_lease_another_run_took_is_not_renewed_and_its_claims_stay_that_runs(session):
    acquire_lease(session, "app1", "c1", "worker-a", TTL, now=T0)
    claimed_event(session)
    acquire_lease(session, "app1", "c1", "worker-b", TTL, now=T0 + TTL)
    (taken,) = claim_events(session, "app1", "c1", lease=TTL, now=T0 + TTL)

    assert not renew_lease(session, "app1", "c1", "worker-a", 10 * TTL, now=T0 + TTL)

    assert claim_events(session, "app1", "c1", lease=TTL, now=T0 + 2 * TTL) == [taken]
    assert not renew_lease(session, "app1", "c2", "worker-a", TTL, now=T0), "never leased"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "c1", "w", TTL), "workspace_id must be a non-empty string"),
        (("app1", "c" * 65, "w", TTL), "conversation_id is 65 characters long"),
        (("app1", "c1", "w" * 256, TTL), "owner is 256 characters long"),
        (("app1", "c1", "w", timedelta(0)), "positive ttl"),
    ],
)
def test_malformed_lease_request_is_refused(session, args, message):
    with pytest.raises(ValueError, match=message):
        acquire_lease(session, *args, now=T0)
    assert acquire_lease(session, "app1", "c1", "w2", TTL, now=T0)


def test_concurrent_runners_get_exactly_one_lease(factory):
    """Eight threads, each with its own connection and transaction, race for one conversation."""
    barrier = threading.Barrier(8)
    results: dict[str, bool] = {}

    def contend(owner: str) -> None:
        barrier.wait()
        with factory.begin() as session:
            results[owner] = acquire_lease(session, "app1", "c1", owner, TTL)

    threads = [threading.Thread(target=contend, args=(f"worker-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [False] * 7 + [True]
