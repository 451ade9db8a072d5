"""``deskmate sessions list|show`` and the signed session page, on a store filled by a real run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from html.parser import HTMLParser

import pytest
import requests

from deskmate.core.app import create_app
from deskmate.core.pages import session_link
from deskmate.core.stack import APP_ID
from deskmate.core.store.sessions import get_session

from .conftest import Deskmate, start_deskmate

HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)> I want to speak to a human'
SUMMARY_KEYS = {
    "id", "workspace", "conversation", "channel", "state", "mode", "language", "sentiment",
    "summary", "ai_turns",
}  # fmt: skip


@dataclass
class Handled:
    """A stack after three conversations: one answered, one hostile handed off, one outbound."""

    deskmate: Deskmate
    answered: int
    hostile: int
    hostile_conversation: str

    @property
    def secrets(self) -> list[str]:
        return list(self.deskmate.env.values())[:3]


def _session_id(running: Deskmate, conversation_id: str) -> int:
    with running.stack.engine.sessions() as db:
        record = get_session(db, APP_ID, conversation_id)
        assert record is not None, f"no session for conversation {conversation_id}"
        return record.id


@pytest.fixture(scope="module")
def handled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Handled]:
    running = start_deskmate(tmp_path_factory.mktemp("sessions"))
    try:
        stack = running.stack
        answered = stack.start_conversation("How do I reset my password?")
        hostile = stack.start_conversation(HOSTILE)
        running.stack.start_conversation("Our new plan is here!", delivered_as="automated")
        running.settle()
        yield Handled(
            running, _session_id(running, answered), _session_id(running, hostile), hostile
        )
    finally:
        running.stack.close()


# -- the command line ---------------------------------------------------------------------------


def test_sessions_list_json_gives_every_session_newest_first(handled: Handled) -> None:
    result = handled.deskmate.cli("sessions", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    assert {handled.answered, handled.hostile} <= {r["id"] for r in rows}
    assert all(set(r) == SUMMARY_KEYS for r in rows)
    by_id = {r["id"]: r for r in rows}
    assert by_id[handled.answered]["ai_turns"] == 1
    assert by_id[handled.hostile]["state"] == "handed_off"


def test_sessions_list_prints_one_line_per_session(handled: Handled) -> None:
    result = handled.deskmate.cli("sessions", "list", "--limit", "1")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "messenger" in lines[0]


def test_sessions_show_json_has_what_the_ai_saw_decided_and_did(handled: Handled) -> None:
    result = handled.deskmate.cli("sessions", "show", str(handled.answered), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"session", "messages", "audit"}
    assert data["messages"][0]["text"] == "How do I reset my password?"
    audit = {a["kind"]: a for a in data["audit"]}
    assert audit["decided"]["data"]["mode"] == "autopilot"
    saw = audit["saw"]["data"]
    assert saw["language"] == "en"
    assert saw["hits"][0]["title"] == "Reset your password" and saw["hits"][0]["score"] > 0
    assert audit["acted"]["data"]["action"] == "reply" and audit["acted"]["data"]["ok"]
    assert audit["acted"]["headline"].startswith("reply ok")


def test_sessions_show_prints_readable_headlines(handled: Handled) -> None:
    result = handled.deskmate.cli("sessions", "show", str(handled.hostile))
    assert result.exit_code == 0, result.output
    assert "handed_off" in result.output
    assert "decided  autopilot:" in result.output
    assert "escalation reasons: human_requested" in result.output
    assert "acted    note ok" in result.output


def test_sessions_show_of_an_unknown_id_says_where_to_look(handled: Handled) -> None:
    result = handled.deskmate.cli("sessions", "show", "987654")
    assert result.exit_code == 1
    assert "no session 987654; see `deskmate sessions list`" in result.output


@pytest.mark.parametrize("bad", ["abc", "-1x", "1" * 40, "1; DROP TABLE sessions"])
def test_sessions_show_of_a_malformed_id_fails_clearly(handled: Handled, bad: str) -> None:
    result = handled.deskmate.cli("sessions", "show", bad)
    assert result.exit_code in (1, 2)
    assert "Traceback" not in result.output
    assert "Error" in result.output
    assert handled.deskmate.cli("sessions", "list", "--json").exit_code == 0


def test_no_secret_reaches_the_command_output(handled: Handled) -> None:
    outputs = [
        handled.deskmate.cli("sessions", "list", "--json").output,
        handled.deskmate.cli("sessions", "show", str(handled.answered), "--json").output,
        handled.deskmate.cli("sessions", "show", str(handled.hostile)).output,
    ]
    assert not [s for s in handled.secrets for out in outputs if s in out]


# -- the session page ---------------------------------------------------------------------------


class _Page(HTMLParser):
    """The elements and the visible text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]
        self.links += [value or "" for name, value in attrs if name == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def page_url(handled: Handled, session_id: int | str) -> str:
    return f"{handled.deskmate.stack.url}/sessions/{session_id}"


def test_the_page_needs_the_signature_or_the_admin_token(handled: Handled) -> None:
    url = page_url(handled, handled.answered)
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, params={"sig": "0" * 32}, timeout=5).status_code == 401
    other = session_link(handled.deskmate.stack.settings, handled.hostile).split("?")[1]
    assert requests.get(f"{url}?{other}", timeout=5).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert requests.get(url, headers=wrong, timeout=5).status_code == 401


@pytest.mark.parametrize(
    "params",
    [{"sig": "x" * 8000}, {"sig": "é" * 32}, {"sig": "%00" * 16}, {"sig": ["a", "b"]}],
)
def test_hostile_or_oversized_signatures_are_refused(handled: Handled, params: dict) -> None:
    response = requests.get(page_url(handled, handled.answered), params=params, timeout=5)
    assert response.status_code == 401
    assert "How do I reset" not in response.text


def test_the_signed_link_of_the_handoff_note_opens_the_page(handled: Handled) -> None:
    link = session_link(handled.deskmate.stack.settings, handled.answered)
    response = requests.get(link, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")


def test_the_admin_token_opens_any_page(handled: Handled) -> None:
    headers = {"Authorization": f"Bearer {handled.deskmate.env['DESKMATE_ADMIN_TOKEN']}"}
    response = requests.get(page_url(handled, handled.hostile), headers=headers, timeout=5)
    assert response.status_code == 200


@pytest.mark.parametrize("session_id", ["987654", "9" * 30])
def test_an_unknown_session_is_404(handled: Handled, session_id: str) -> None:
    headers = {"Authorization": f"Bearer {handled.deskmate.env['DESKMATE_ADMIN_TOKEN']}"}
    response = requests.get(page_url(handled, session_id), headers=headers, timeout=5)
    assert response.status_code == 404


def test_pages_stay_closed_without_an_admin_token(handled: Handled) -> None:
    settings = replace(handled.deskmate.stack.settings, admin_token=None)
    client = create_app(settings, testing=True).test_client()
    response = client.get(f"/sessions/{handled.answered}?sig=anything")
    assert response.status_code == 403
    assert "admin_token" in response.get_data(as_text=True)


def test_pages_are_not_cached_leak_no_referrer_and_run_no_script(handled: Handled) -> None:
    link = session_link(handled.deskmate.stack.settings, handled.answered)
    for response in (requests.get(link, timeout=5), requests.get(link.split("?")[0], timeout=5)):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_hostile_customer_text_shows_as_text(handled: Handled) -> None:
    link = session_link(handled.deskmate.stack.settings, handled.hostile)
    page = parse(requests.get(link, timeout=5).text)
    assert "script" not in page.tags and "img" not in page.tags
    assert not [a for a in page.attributes if a.startswith("on")]
    assert any('<script>alert("pwned")</script>' in text for text in page.text)


def test_the_page_shows_what_the_ai_saw_decided_and_did(handled: Handled) -> None:
    link = session_link(handled.deskmate.stack.settings, handled.answered)
    html = requests.get(link, timeout=5).text
    page = parse(html)
    text = " ".join(" ".join(page.text).split())
    assert "How do I reset my password?" in text
    assert "autopilot:" in text
    assert "Reset your password" in text and "https://help.example.com/password" in page.links
    assert "en · " in text
    assert "reply ok" in text
    assert not [s for s in handled.secrets if s in html]


def test_the_handoff_note_links_to_a_page_that_opens(handled: Handled) -> None:
    notes = handled.deskmate.stack.parts_by_ai(handled.hostile_conversation, "note")
    links = [link for note in notes for link in parse(note["body"]).links]
    assert len(links) == 1, "the handoff note links to the session page"
    assert links[0].startswith(page_url(handled, handled.hostile) + "?sig=")
    assert requests.get(links[0], timeout=5).status_code == 200
