"""Audit headlines and the session page with odd records: plugin-written kinds, missing fields,
hostile values. Nothing raises, everything shown is escaped."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from deskmate.core.app import create_app
from deskmate.core.config import Secret, Settings
from deskmate.core.reports import audit_headline
from deskmate.core.store.audit import append_audit
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.core.store.sessions import get_or_open_session
from deskmate.testing import make_workspace

ADMIN = "admin-token-for-reports"
SAW = {
    "message": "Where is my invoice?",
    "language": "en",
    "sentiment": "negative",
    "cues": ["still not"],
    "enrichment": {"plan": "pro"},
    "hits": [{"title": "Invoices", "score": 0.734, "url": "https://help.example.com/i"}],
    "draft": {"confidence": 0.61, "text": "Open Billing > Invoices."},
    "reasons": [{"code": "frustration", "detail": "the customer is upset"}],
}


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        ("decided", {"mode": "skip", "reason": "autopilot off for email"}, "skip: autopilot off"),
        ("skipped", {"reason": "no customer message"}, "left alone: no customer message"),
        ("acted", {"action": "reply", "ok": True, "status": 200, "detail": "posted"}, "reply ok"),
        ("acted", {"action": "tag", "ok": False, "detail": "403"}, "tag FAILED: 403"),
        ("saw", SAW, "1 knowledge hit(s) (best 0.73), draft confidence 0.61"),
        ("resolved", {"summary": "refund", "sentiment": "positive"}, "resolved, sentiment pos"),
        ("error", {"during": "enrich_context", "error": "timeout"}, "error during enrich_context"),
    ],
)
def test_each_audit_kind_has_a_readable_headline(kind: str, data: dict, expected: str) -> None:
    assert expected in audit_headline(kind, data)


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("decided", {}),
        ("saw", {"hits": [{"title": "no score"}]}),
        ("saw", {"draft": {"confidence": "high"}}),
        ("saw", {"hits": "not a list"}),
        ("crm_synced", {"anything": 1}),
    ],
)
def test_a_malformed_or_unknown_record_falls_back_to_its_kind(kind: str, data: dict) -> None:
    assert audit_headline(kind, data) == kind


@pytest.fixture
def page(tmp_path: Path) -> Any:
    settings = Settings(
        workspaces={"testapp": make_workspace()},
        instance_path=tmp_path,
        admin_token=Secret("env", "DESKMATE_ADMIN_TOKEN", ADMIN),
    )
    upgrade(settings.resolved_database_url())
    engine = make_engine(settings.resolved_database_url())
    sessions = make_session_factory(engine)
    with sessions.begin() as db:
        record = get_or_open_session(db, "testapp", "c1", channel="messenger")
        for kind, data in [
            ("saw", SAW | {"hits": [{"title": "<b>bold</b>", "url": "javascript:alert(1)"}]}),
            ("saw", {"message": "only a message"}),
            ("acted", {"action": "reply", "ok": False, "response": {"errors": ["<script>"]}}),
            ("crm_synced", {"note": "<script>alert(1)</script>", "token": "s3cret-value"}),
        ]:
            append_audit(db, workspace_id="testapp", session_id=record.id, kind=kind, data=data)
        session_id = record.id
    client = create_app(settings, testing=True).test_client()
    yield client.get(f"/sessions/{session_id}", headers={"Authorization": f"Bearer {ADMIN}"})
    engine.dispose()


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def test_odd_records_render_escaped_without_unsafe_links(page: Any) -> None:
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    elements = _Elements()
    elements.feed(html)
    assert "script" not in elements.tags
    same_site = [h for h in elements.hrefs if h.startswith("/") and not h.startswith("//")]
    assert same_site, "the page links to the dashboard"
    unsafe = [h for h in elements.hrefs if h not in same_site]
    assert not [h for h in unsafe if not h.startswith(("https://", "http://"))]
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "only a message" in html
    assert "crm_synced" in html


def test_secret_looking_keys_never_reach_the_page(page: Any) -> None:
    assert "s3cret-value" not in page.get_data(as_text=True)
