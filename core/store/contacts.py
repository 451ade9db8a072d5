"""A cache of Intercom contacts for enrichment, so a conversation's later turns cost no lookup."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from deskmate.core.store.models import MAX_ID, CachedContact
from deskmate.core.store.sql import check_id, insert, now_or


def cached_contact(
    session: Session,
    workspace_id: str,
    contact_id: str,
    *,
    ttl: timedelta,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """The contact's cached data if it was fetched less than ``ttl`` ago, else None."""
    row = session.get(CachedContact, (workspace_id, contact_id), populate_existing=True)
    if row is None or row.fetched_at <= now_or(now) - ttl:
        return None
    return row.data


def cache_contact(
    session: Session,
    workspace_id: str,
    contact_id: str,
    data: dict[str, Any],
    *,
    now: datetime | None = None,
) -> None:
    """Store (or refresh) the contact's data as fetched at ``now``."""
    check_id("workspace_id", workspace_id, MAX_ID)
    check_id("contact_id", contact_id, MAX_ID)
    values = {"data": data, "fetched_at": now_or(now)}
    stmt = insert(session, CachedContact).values(
        workspace_id=workspace_id, contact_id=contact_id, **values
    )
    session.execute(
        stmt.on_conflict_do_update(index_elements=["workspace_id", "contact_id"], set_=values)
    )
