"""The ``store_sessions`` fixture plugin authors get from ``deskmate.testing``."""

from __future__ import annotations

from deskmate.core.store.db import check_schema
from deskmate.core.store.sessions import get_or_open_session, get_session


def test_store_sessions_are_on_a_migrated_database_in_the_instance_folder(store_sessions, settings):
    assert check_schema(settings.resolved_database_url()).up_to_date
    with store_sessions.begin() as session:
        opened = get_or_open_session(session, "testapp", "c1")
    with store_sessions() as session:
        assert get_session(session, "testapp", "c1").id == opened.id
    assert (settings.instance_path / "deskmate.db").exists()
