"""Per-conversation leases: one run per conversation at a time, freed by expiry if a run dies.

Each function is guarded by the expiry or the owner in one transaction (an upsert, a guarded
update, a guarded delete), so it is safe under concurrent runners on SQLite and PostgreSQL alike.
Commit right after calling them: a lease only counts once other runners can see it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from deskmate.core.store.events import extend_claims
from deskmate.core.store.models import MAX_ID, MAX_KEY, ConversationLease
from deskmate.core.store.sql import check_id, insert, now_or


def acquire_lease(
    session: Session,
    workspace_id: str,
    conversation_id: str,
    owner: str,
    ttl: timedelta,
    *,
    now: datetime | None = None,
) -> bool:
    """Take (or, for the same ``owner``, extend) the lease until ``now + ttl``.

    Returns False when another owner holds a lease that has not expired.
    """
    check_id("workspace_id", workspace_id, MAX_ID)
    check_id("conversation_id", conversation_id, MAX_ID)
    check_id("owner", owner, MAX_KEY)
    if ttl <= timedelta(0):
        raise ValueError("a lease needs a positive ttl")
    now = now_or(now)
    until = now + ttl
    stmt = insert(session, ConversationLease).values(
        workspace_id=workspace_id, conversation_id=conversation_id, owner=owner, lease_until=until
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["workspace_id", "conversation_id"],
        set_={"owner": owner, "lease_until": until},
        where=or_(ConversationLease.lease_until <= now, ConversationLease.owner == owner),
    )
    return session.execute(stmt.returning(ConversationLease.owner)).first() is not None


def renew_lease(
    session: Session,
    workspace_id: str,
    conversation_id: str,
    owner: str,
    ttl: timedelta,
    *,
    now: datetime | None = None,
) -> bool:
    """Hold the lease ``owner`` still holds, and the events its run claimed, until ``now + ttl``.

    Returns False, changing nothing, when ``owner`` no longer holds the lease (it ran out and
    another run took it): that run has the conversation's events now.
    """
    until = now_or(now) + ttl
    held = session.execute(
        update(ConversationLease)
        .where(
            ConversationLease.workspace_id == workspace_id,
            ConversationLease.conversation_id == conversation_id,
            ConversationLease.owner == owner,
        )
        .values(lease_until=until)
    )
    if held.rowcount != 1:
        return False
    extend_claims(session, workspace_id, conversation_id, until)
    return True


def release_lease(session: Session, workspace_id: str, conversation_id: str, owner: str) -> bool:
    """Give the lease back; False if ``owner`` no longer held it (it expired and was taken)."""
    stmt = delete(ConversationLease).where(
        ConversationLease.workspace_id == workspace_id,
        ConversationLease.conversation_id == conversation_id,
        ConversationLease.owner == owner,
    )
    return session.execute(stmt).rowcount == 1
