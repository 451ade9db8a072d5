"""Page-level calls for a resumable sync: one page at a time, the cursor left to the caller."""

from __future__ import annotations

import json

import pytest
import requests_mock

from deskmate.core.intercom.client import IntercomClient, next_page_cursor, page_items
from deskmate.core.intercom.errors import InvalidResponse
from deskmate.core.intercom.ratelimit import RateLimiter
from deskmate.testing import make_workspace

BASE = "https://api.intercom.io"


@pytest.fixture
def client() -> IntercomClient:
    return IntercomClient(make_workspace(), limiter=RateLimiter(10_000), sleep=lambda _: None)


def test_a_search_page_sends_the_cursor_and_gives_the_next_one(client: IntercomClient) -> None:
    page = {"conversations": [{"id": "1"}], "pages": {"next": {"starting_after": "WzE="}}}
    with requests_mock.Mocker() as mock:
        mock.post(f"{BASE}/conversations/search", json=page)
        closed = {"field": "state", "operator": "=", "value": "closed"}
        data = client.search_conversations_page(closed, per_page=50, starting_after="WzA=")
        sent = json.loads(mock.last_request.body)
    assert sent["pagination"] == {"per_page": 50, "starting_after": "WzA="}
    where = "POST /conversations/search"
    assert page_items(data, "conversations", where) == [{"id": "1"}]
    assert next_page_cursor(data, where) == "WzE="
    assert next_page_cursor({"pages": {}}, where) is None


def test_an_article_page_and_one_article(client: IntercomClient) -> None:
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/articles", json={"data": [], "pages": {"total_pages": 3}})
        mock.get(f"{BASE}/articles/7", json={"id": "7", "body": "<p>x</p>"})
        assert client.list_articles_page(3, per_page=150)["pages"]["total_pages"] == 3
        assert mock.request_history[0].qs == {"page": ["3"], "per_page": ["150"]}
        assert client.get_article(7)["id"] == "7"


def test_a_conversation_as_json_keeps_what_the_model_drops(client: IntercomClient) -> None:
    item = {"id": "9", "statistics": {"count_reopens": 2}, "conversation_rating": {"rating": 5}}
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/conversations/9", json=item)
        assert client.get_conversation_item("9") == item
        assert mock.last_request.qs == {"display_as": ["plaintext"]}


@pytest.mark.parametrize("page", [0, -1, True, "2"])
def test_bad_page_numbers_are_refused_before_any_call(client: IntercomClient, page) -> None:
    with requests_mock.Mocker() as mock, pytest.raises(ValueError):
        client.list_articles_page(page)
    assert not mock.called


def test_unexpected_shapes_raise_invalid_response(client: IntercomClient) -> None:
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/articles/7", json={"title": "no id"})
        with pytest.raises(InvalidResponse):
            client.get_article(7)
    with pytest.raises(InvalidResponse):
        page_items({"conversations": "nope"}, "conversations", "POST /conversations/search")
    with pytest.raises(InvalidResponse):
        next_page_cursor({"pages": {"next": {"starting_after": 5}}}, "search")
