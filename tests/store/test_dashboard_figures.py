"""The dashboard's queries on SQLite and PostgreSQL: the same figures from the same store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from deskmate.core.dashboard.content import content_gaps, content_performance
from deskmate.core.dashboard.figures import Filters, conversations, overview
from deskmate.core.dashboard.health import health
from deskmate.core.store import db
from deskmate.core.store.models import SessionRecord
from tests.dashboard.conftest import APP, seed

PARIS = ZoneInfo("Europe/Paris")


def test_the_figures_agree_on_every_backend(empty_url: str) -> None:
    db.upgrade(empty_url)
    now = datetime.now(UTC)
    seeded = seed(empty_url, now)
    engine = db.make_engine(empty_url)
    with db.make_session_factory(engine).begin() as s:
        late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
        s.add(SessionRecord(workspace_id=APP, conversation_id="late", created_at=late, tags=[]))
    today = now.astimezone(PARIS).date()
    week = Filters(APP, today - timedelta(days=6), today, PARIS)
    with db.make_session_factory(engine, read_only=True)() as s:
        figures = overview(s, week)
        rows, more = conversations(s, Filters(APP, week.since, today, PARIS, q="invoices"))
        gaps, looked_at = content_gaps(s, week)
        documents = content_performance(s, week)
        report = health(s, APP, now)
        march = overview(s, Filters(APP, date(2026, 3, 1), date(2026, 3, 2), PARIS))
    engine.dispose()
    assert figures.total == 8
    assert figures.counts["involved"] == 7 and figures.counts["resolved"] == 1
    assert dict(figures.reasons) == {"no_knowledge": 2, "low_confidence": 1, "human_requested": 1}
    assert figures.median_first_answer == 60.0
    assert {r.conversation_id for r in rows} == {"c-gap1", "c-gap2"} and not more
    assert [g.count for g in gaps] == [2, 1] and looked_at == 3
    assert [(d["document"], d["conversations"], d["resolved"]) for d in documents] == [
        ("refunds", 2, 1)
    ]
    assert report.queued == 1 and [e.id for e in report.dead] == [seeded.dead_event]
    assert [(d["day"], d["total"]) for d in march.days] == [
        (date(2026, 3, 1), 0),
        (date(2026, 3, 2), 1),
    ]
