"""The dashboard's pages on a known store: each figure, its link to the conversations behind it,
the list's filters, unanswered questions, content performance, health and the session page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from deskmate.core.dashboard import figures
from deskmate.core.dashboard.figures import Filters, overview
from deskmate.core.store import db
from deskmate.core.store.models import EventOutcome, EventRecord, SessionRecord
from tests.dashboard.conftest import APP, TOKEN, Seeded, csrf_of


class Page(HTMLParser):
    """Links (with the id of the element they sit in) and the text of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: dict[str, str] = {}
        self.hrefs: list[str] = []
        self.chunks: list[str] = []
        self.feed(html)
        self.text = " ".join(" ".join(self.chunks).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")
            if values.get("id"):
                self.links[values["id"] or ""] = values["href"] or ""

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def get(client: FlaskClient, url: str) -> Page:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return Page(response.get_data(as_text=True))


def listed(client: FlaskClient, url: str) -> set[str]:
    """The conversation ids a conversations page lists."""
    html = client.get(url).get_data(as_text=True)
    return set(re.findall(r'href="/sessions/\d+">([^<]+)</a>', html))


def test_the_overview_shows_involvement_and_rates_of_the_week(client, seeded: Seeded) -> None:
    page = get(client, "/")
    assert "the AI took part in 7 of 8 conversations" in page.text
    assert "29 % Answer rate: 2 answered" in page.text
    assert "57 % Handoff rate: 4 handed to the team" in page.text
    assert "14 % Resolution rate: 1 answered and closed without a human" in page.text
    assert "60 s Median time to first answer" in page.text
    assert "No answer in the knowledge no_knowledge 2 29 %" in page.text
    assert "(Europe/Paris)" in page.text


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        ("involvement", {"c-resolved", "c-answered", "c-gap1", "c-gap2", "c-gap3", "c-human",
                         "c-assist"}),
        ("answer-rate", {"c-resolved", "c-answered"}),
        ("handoff-rate", {"c-gap1", "c-gap2", "c-gap3", "c-human"}),
        ("resolution-rate", {"c-resolved"}),
    ],
)  # fmt: skip
def test_each_figure_links_to_the_conversations_behind_it(client, card, expected) -> None:
    link = get(client, "/").links[card]
    assert urlsplit(link).path == "/conversations"
    assert listed(client, link) == expected


def test_reason_and_language_figures_link_to_their_conversations(client, seeded) -> None:
    page = get(client, "/")
    by_reason = [h for h in page.hrefs if "reason=no_knowledge" in h]
    assert listed(client, by_reason[0]) == {"c-gap1", "c-gap2"}
    french = [h for h in page.hrefs if "language=fr" in h]
    assert listed(client, french[0]) == {"c-answered"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("reason=human_requested", {"c-human"}),
        ("channel=email", {"c-gap1"}),
        ("language=fr", {"c-answered"}),
        ("outcome=assisted", {"c-assist"}),
        ("outcome=left_alone", {"c-left"}),
        ("q=invoices", {"c-gap1", "c-gap2"}),
        ("q=DOUBLE+CHARGE", {"c-resolved"}),
        ("q=c-human", {"c-human"}),
        ("q=100%25", set()),
    ],
)
def test_the_conversation_list_filters(client, seeded, query: str, expected: set[str]) -> None:
    assert listed(client, f"/conversations?{query}") == expected


def test_a_longer_date_range_reaches_older_conversations(client, seeded) -> None:
    since = (datetime.now(UTC) - timedelta(days=30)).date()
    expected = {"c-resolved", "c-answered", "c-old"}
    assert listed(client, f"/conversations?since={since}&outcome=answered") == expected


def test_shadow_sessions_are_counted_apart_from_the_ai_taking_part(client, store_url) -> None:
    at = datetime.now(UTC) - timedelta(hours=1)
    with db.make_session_factory(db.make_engine(store_url)).begin() as s:
        s.add(
            SessionRecord(
                workspace_id=APP, conversation_id="c-shadow", mode="shadow", created_at=at, tags=[]
            )
        )
    assert "the AI took part in 7 of 9 conversations" in get(client, "/").text
    assert listed(client, "/conversations?outcome=shadow") == {"c-shadow"}
    assert "Shadow: nothing sent" in get(client, "/conversations?outcome=shadow").text


def test_the_list_pages_through_older_conversations(client, seeded, monkeypatch) -> None:
    monkeypatch.setattr(figures, "PAGE_SIZE", 3)
    seen: list[str] = []
    url: str | None = "/conversations"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += re.findall(r'href="/sessions/\d+">([^<]+)</a>', html)
        older = re.search(r'rel="next" href="([^"]+)"', html)
        url = older[1].replace("&amp;", "&") if older else None
    assert len(seen) == 8 == len(set(seen))


def test_rows_link_to_the_session_page_and_the_regions_intercom_inbox(client, seeded) -> None:
    page = get(client, "/conversations?q=c-human")
    session_id = seeded.ids["c-human"]
    assert f"/sessions/{session_id}" in page.hrefs
    assert (
        f"https://app.eu.intercom.com/a/apps/{APP}/inbox/inbox/all/conversations/c-human"
        in page.hrefs
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=yesterday", "'since' must be a date"),
        ("since=2026-02-01&until=2026-01-01", "'since' is after 'until'"),
        ("since=2020-01-01&until=2026-01-01", "longer than 366 days"),
        ("outcome=teleported", "unknown outcome"),
        ("page=0", "'page' must be a positive"),
        ("workspace=nope", "unknown workspace"),
    ],
)
def test_bad_filters_are_a_clear_400(client, query: str, message: str) -> None:
    response = client.get(f"/conversations?{query}")
    assert response.status_code == 400
    assert message in unescape(response.get_data(as_text=True))


def test_unanswered_questions_are_grouped_by_similar_wording(client, seeded) -> None:
    page = get(client, "/unanswered")
    gaps = page.text[page.text.index("Asked Question") : page.text.index("Content performance")]
    assert re.search(r"2 How (do I export my|can I export) invoices (to|as) CSV\?.*#\d+ #\d+", gaps)
    assert "1 Do you support SSO with Okta?" in gaps
    assert "human" not in gaps


def test_content_performance_counts_resolved_and_handed_off(client, seeded) -> None:
    page = get(client, "/unanswered")
    assert "Refunds 2 1 (50 %) 0 (0 %)" in page.text
    assert "https://help.example.com/refunds" in page.hrefs


def test_health_shows_intake_queue_dead_events_failures_and_syncs(client, seeded) -> None:
    page = get(client, "/health")
    assert "1 Events waiting in the queue" in page.text
    assert "1 Dead events" in page.text
    assert "HTTP 500 from Intercom" in page.text
    for status in ("dead 1", "done 1", "queued 1"):
        assert status in page.text
    assert "crm enrich_context 1" in page.text
    assert "articles" in page.text
    assert "no API call from this process yet" in page.text


def test_the_replay_button_queues_the_dead_event_and_keeps_its_history(
    client, seeded, store_url
) -> None:
    html = client.get("/health").get_data(as_text=True)
    url = f"/health/events/{seeded.dead_event}/replay"
    assert f'action="{url}"' in html
    assert client.post(url, data={"workspace": APP}).status_code == 400, "CSRF is checked"
    response = client.post(url, data={"csrf_token": csrf_of(html), "workspace": APP})
    assert response.status_code == 302
    after = get(client, response.headers["Location"])
    assert f"Event {seeded.dead_event} queued again" in after.text
    assert "No dead events." in after.text
    with db.make_session_factory(db.make_engine(store_url))() as s:
        assert s.get(EventRecord, seeded.dead_event).status == "queued"
        kept = s.scalars(select(EventOutcome.status)).all()
    assert kept == ["dead"]


def test_replaying_a_done_event_needs_force(client, seeded, store_url) -> None:
    with db.make_session_factory(db.make_engine(store_url))() as s:
        done = s.scalar(select(EventRecord.id).where(EventRecord.status == "done"))
    html = client.get("/health").get_data(as_text=True)
    response = client.post(f"/health/events/{done}/replay", data={"csrf_token": csrf_of(html)})
    assert "Not replayed" in get(client, response.headers["Location"]).text
    with db.make_session_factory(db.make_engine(store_url))() as s:
        assert s.get(EventRecord, done).status == "done"


def test_the_session_page_reads_like_a_person_wrote_it(client, seeded) -> None:
    page = get(client, f"/sessions/{seeded.ids['c-resolved']}")
    assert "State Closed" in page.text
    assert "Outcome Resolved by the AI" in page.text
    assert "Customer contact-7" in page.text
    assert "First answer after 30 s" in page.text
    assert re.search(r"Started \d{4}-\d\d-\d\d \d\d:\d\d CES?T", page.text)
    assert any(h.endswith("/conversations/c-resolved") for h in page.hrefs)
    assert "/conversations?workspace=ws1" in page.hrefs, "navigation back to the list"


def test_a_handed_off_session_says_why(client, seeded) -> None:
    page = get(client, f"/sessions/{seeded.ids['c-gap3']}")
    assert "State Handed to the team" in page.text
    assert "Outcome Handed off · Answer not confident enough" in page.text


def test_the_session_page_still_opens_with_the_bearer_token(app, seeded) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = app.test_client().get(f"/sessions/{seeded.ids['c-human']}", headers=headers)
    assert response.status_code == 200


def test_days_are_counted_in_the_workspace_time_zone(store_url) -> None:
    """23:30 UTC on 1 March is already 2 March in Paris."""
    with db.make_session_factory(db.make_engine(store_url)).begin() as s:
        at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
        s.add(SessionRecord(workspace_id=APP, conversation_id="late", created_at=at, tags=[]))
    paris = Filters(APP, date(2026, 3, 1), date(2026, 3, 2), ZoneInfo("Europe/Paris"))
    utc = Filters(APP, date(2026, 3, 1), date(2026, 3, 2), ZoneInfo("UTC"))
    with db.make_session_factory(db.make_engine(store_url))() as s:
        in_paris = {d["day"]: d["total"] for d in overview(s, paris).days}
        in_utc = {d["day"]: d["total"] for d in overview(s, utc).days}
    assert in_paris == {date(2026, 3, 1): 0, date(2026, 3, 2): 1}
    assert in_utc == {date(2026, 3, 1): 1, date(2026, 3, 2): 0}


def test_trend_days_link_to_that_days_conversations(client, seeded) -> None:
    page = get(client, "/")
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    day_links = [h for h in page.hrefs if f"since={today}&amp;until={today}" in h or
                 f"since={today}&until={today}" in h]  # fmt: skip
    assert day_links
    query = parse_qs(urlsplit(day_links[0]).query)
    assert query["since"] == query["until"] == [today.isoformat()]
