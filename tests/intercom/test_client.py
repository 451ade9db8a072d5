"""The Intercom REST client against requests-mock: every call's request, every error, retries."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import requests

from deskmate.core.config import Secret
from deskmate.core.intercom.client import IntercomClient, RetryPolicy, article_translations
from deskmate.core.intercom.errors import (
    BadRequest,
    ConnectionFailed,
    ContactMerged,
    Forbidden,
    IntercomError,
    InvalidResponse,
    NotFound,
    PlanRestricted,
    RateLimited,
    ServerError,
    Timeout,
    Unauthorized,
)
from deskmate.core.intercom.models import Conversation
from deskmate.core.intercom.ratelimit import RESET_SLACK, RateLimiter
from deskmate.testing import FakeTime, make_workspace

US = "https://api.intercom.io"
TOKEN = "dG9rOnNlY3JldC10b2tlbi12YWx1ZQ=="


@pytest.fixture
def calls() -> list[tuple[str, int | None, float]]:
    return []


@pytest.fixture
def client(fake_time: FakeTime, calls: list[Any]) -> IntercomClient:
    return make_client(fake_time, on_call=lambda *call: calls.append(call))


def make_client(fake_time: FakeTime, **overrides: Any) -> IntercomClient:
    workspace = overrides.pop(
        "workspace",
        make_workspace(
            access_token=Secret("env", "INTERCOM_TOKEN", TOKEN), intercom_version="2.14"
        ),
    )
    limiter = RateLimiter(10000, clock=fake_time.clock, sleep=fake_time.sleep)
    options: dict[str, Any] = {
        "limiter": limiter,
        "sleep": fake_time.sleep,
        "clock": fake_time.clock,
    }
    return IntercomClient(workspace, **(options | overrides))


def error_body(code: str, message: str, request_id: str = "req-1") -> dict[str, Any]:
    return {
        "type": "error.list",
        "request_id": request_id,
        "errors": [{"code": code, "message": message}],
    }


CONVERSATION = {
    "type": "conversation",
    "id": "215",
    "source": {
        "type": "conversation",
        "id": "3381",
        "delivered_as": "customer_initiated",
        "body": "hello",
        "author": {"type": "lead", "id": "c1"},
    },
    "admin_assignee_id": 0,
    "conversation_parts": {"conversation_parts": []},
}


# -- requests: method, path, headers, body -----------------------------------------------------


def test_every_request_sends_bearer_version_and_accept_headers(
    client: IntercomClient, requests_mock: Any
) -> None:
    requests_mock.get(f"{US}/me", json={"type": "admin", "id": "991", "app": {"region": "US"}})
    assert client.me()["id"] == "991"
    headers = requests_mock.last_request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Intercom-Version"] == "2.14"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("deskmate/")


@pytest.mark.parametrize(
    ("region", "host"),
    [("us", US), ("eu", "https://api.eu.intercom.io"), ("au", "https://api.au.intercom.io")],
)
def test_region_picks_the_api_host(
    fake_time: FakeTime, requests_mock: Any, region: str, host: str
) -> None:
    requests_mock.get(f"{host}/admins", json={"type": "admin.list", "admins": []})
    client = make_client(fake_time, workspace=make_workspace(region=region))
    assert client.list_admins() == []
    assert requests_mock.called_once


def test_base_url_overrides_region(fake_time: FakeTime, requests_mock: Any) -> None:
    requests_mock.get("http://127.0.0.1:9/teams", json={"type": "team.list", "teams": [{"id": 1}]})
    client = make_client(fake_time, workspace=make_workspace(base_url="http://127.0.0.1:9/"))
    assert client.list_teams() == [{"id": 1}]


def test_base_url_must_be_http(fake_time: FakeTime) -> None:
    with pytest.raises(ValueError, match="https://"):
        make_client(fake_time, workspace=make_workspace(base_url="file:///etc/passwd"))


def test_get_conversation_asks_for_plaintext_and_parses(
    client: IntercomClient, requests_mock: Any
) -> None:
    requests_mock.get(f"{US}/conversations/215", json=CONVERSATION)
    conversation = client.get_conversation("215")
    assert isinstance(conversation, Conversation)
    assert conversation.admin_assignee_id is None
    assert requests_mock.last_request.qs == {"display_as": ["plaintext"]}


def test_ids_are_escaped_into_the_path(client: IntercomClient, requests_mock: Any) -> None:
    requests_mock.get(f"{US}/conversations/..%2Fadmins%3Fx", json=CONVERSATION)
    client.get_conversation("../admins?x")
    assert requests_mock.last_request.path == "/conversations/..%2fadmins%3fx"


@pytest.mark.parametrize("message_type", ["comment", "note"])
def test_reply_posts_comment_or_note_as_admin(
    client: IntercomClient, requests_mock: Any, message_type: str
) -> None:
    requests_mock.post(f"{US}/conversations/215/reply", json=CONVERSATION)
    answer = client.reply(215, "<p>Hi</p>", admin_id=999, message_type=message_type)  # type: ignore[arg-type]
    assert answer["id"] == "215"
    assert requests_mock.last_request.json() == {
        "message_type": message_type,
        "type": "admin",
        "admin_id": "999",
        "body": "<p>Hi</p>",
    }


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda c: c.assign("215", admin_id="999", assignee_id="42"),
            {"message_type": "assignment", "type": "admin", "admin_id": "999", "assignee_id": "42"},
        ),
        (
            lambda c: c.assign(
                "215", admin_id="999", assignee_id=5017, type="team", body="Billing"
            ),
            {
                "message_type": "assignment",
                "type": "team",
                "admin_id": "999",
                "assignee_id": "5017",
                "body": "Billing",
            },
        ),
        (
            lambda c: c.unassign("215", admin_id="999"),
            {"message_type": "assignment", "type": "admin", "admin_id": "999", "assignee_id": "0"},
        ),
        (
            lambda c: c.close("215", admin_id="999", body="Bye"),
            {"message_type": "close", "type": "admin", "admin_id": "999", "body": "Bye"},
        ),
        (
            lambda c: c.open("215", admin_id="999"),
            {"message_type": "open", "admin_id": "999"},
        ),
    ],
)
def test_parts_actions_post_the_documented_bodies(
    client: IntercomClient, requests_mock: Any, call: Any, expected: dict[str, Any]
) -> None:
    requests_mock.post(f"{US}/conversations/215/parts", json=CONVERSATION)
    assert call(client)["type"] == "conversation"
    assert requests_mock.last_request.json() == expected


def test_attach_tag(client: IntercomClient, requests_mock: Any) -> None:
    tag = {"type": "tag", "id": "86", "name": "opencx_handed_off"}
    requests_mock.post(f"{US}/conversations/215/tags", json=tag)
    assert client.attach_tag("215", 86, "999") == tag
    assert requests_mock.last_request.json() == {"id": "86", "admin_id": "999"}


def test_update_conversation_attributes_puts_custom_attributes(
    client: IntercomClient, requests_mock: Any
) -> None:
    requests_mock.put(f"{US}/conversations/215", json=CONVERSATION)
    client.update_conversation_attributes("215", {"handoff_reason": "human", "sentiment": "neg"})
    assert requests_mock.last_request.json() == {
        "custom_attributes": {"handoff_reason": "human", "sentiment": "neg"}
    }


def test_search_iterates_pages_with_the_cursor(client: IntercomClient, requests_mock: Any) -> None:
    query = {"field": "state", "operator": "=", "value": "closed"}
    requests_mock.post(
        f"{US}/conversations/search",
        [
            {
                "json": {
                    "conversations": [{"id": "1"}],
                    "pages": {"next": {"starting_after": "Wz1"}},
                }
            },
            {"json": {"conversations": [{"id": "2"}], "pages": {"next": None}}},
        ],
    )
    ids = [c["id"] for c in client.search_conversations(query, per_page=1)]
    assert ids == ["1", "2"]
    first, second = (r.json() for r in requests_mock.request_history)
    assert first == {"query": query, "pagination": {"per_page": 1}}
    assert second == {"query": query, "pagination": {"per_page": 1, "starting_after": "Wz1"}}


def test_list_conversations_iterates_pages(client: IntercomClient, requests_mock: Any) -> None:
    requests_mock.get(
        f"{US}/conversations",
        [
            {"json": {"conversations": [{"id": "1"}], "pages": {"next": {"starting_after": "a"}}}},
            {"json": {"conversations": [{"id": "2"}], "pages": {}}},
        ],
    )
    assert [c["id"] for c in client.list_conversations(starting_after="z")] == ["1", "2"]
    assert [r.qs for r in requests_mock.request_history] == [
        {"per_page": ["150"], "starting_after": ["z"]},
        {"per_page": ["150"], "starting_after": ["a"]},
    ]


def test_a_repeated_cursor_stops_with_an_error(client: IntercomClient, requests_mock: Any) -> None:
    page = {"conversations": [], "pages": {"next": {"starting_after": "same"}}}
    requests_mock.get(f"{US}/conversations", json=page)
    with pytest.raises(InvalidResponse, match="repeated"):
        list(client.list_conversations())
    assert requests_mock.call_count == 2


def test_find_or_create_tag_caches_ids_case_insensitively(
    client: IntercomClient, requests_mock: Any
) -> None:
    requests_mock.post(f"{US}/tags", json={"type": "tag", "id": 105, "name": "VIP"})
    assert client.find_or_create_tag("VIP") == "105"
    assert client.find_or_create_tag("vip ") == "105"
    assert requests_mock.call_count == 1
    assert requests_mock.last_request.json() == {"name": "VIP"}


def test_list_tags(client: IntercomClient, requests_mock: Any) -> None:
    requests_mock.get(f"{US}/tags", json={"type": "list", "data": [{"id": "1", "name": "a"}]})
    assert client.list_tags() == [{"id": "1", "name": "a"}]


def test_get_contact(client: IntercomClient, requests_mock: Any) -> None:
    requests_mock.get(f"{US}/contacts/c1", json={"type": "contact", "id": "c1"})
    assert client.get_contact("c1")["id"] == "c1"


def test_merged_contact_follows_the_canonical_link(
    client: IntercomClient, requests_mock: Any
) -> None:
    requests_mock.get(
        f"{US}/contacts/old",
        status_code=410,
        headers={"Link": '</contacts/new1>; rel="canonical"'},
        json=error_body("contact_merged", "Contact has been merged"),
    )
    requests_mock.get(f"{US}/contacts/new1", json={"type": "contact", "id": "new1"})
    assert client.get_contact("old")["id"] == "new1"
    with pytest.raises(ContactMerged) as caught:
        client.get_contact("old", follow_merged=False)
    assert caught.value.canonical_id == "new1" and caught.value.status == 410


def test_merged_contact_without_link_raises(client: IntercomClient, requests_mock: Any) -> None:
    requests_mock.get(
        f"{US}/contacts/old", status_code=410, json=error_body("contact_merged", "merged")
    )
    with pytest.raises(ContactMerged) as caught:
        client.get_contact("old")
    assert caught.value.canonical_id is None


def test_merge_loops_are_bounded(client: IntercomClient, requests_mock: Any) -> None:
    for a, b in (("a", "b"), ("b", "a")):
        requests_mock.get(
            f"{US}/contacts/{a}",
            status_code=410,
            headers={"Link": f'</contacts/{b}>; rel="canonical"'},
            json=error_body("contact_merged", "merged"),
        )
    with pytest.raises(InvalidResponse, match="merged more than"):
        client.get_contact("a")


@pytest.mark.parametrize("key", ["companies", "data"])
def test_contact_companies_accepts_either_key_and_pages(
    client: IntercomClient, requests_mock: Any, key: str
) -> None:
    requests_mock.get(
        f"{US}/contacts/c1/companies",
        [
            {"json": {key: [{"id": "co1"}], "pages": {"page": 1, "total_pages": 2}}},
            {"json": {key: [{"id": "co2"}], "pages": {"page": 2, "total_pages": 2}}},
        ],
    )
    assert [c["id"] for c in client.contact_companies("c1")] == ["co1", "co2"]
    assert requests_mock.last_request.qs == {"page": ["2"], "per_page": ["50"]}


def test_list_articles_pages_by_number_and_exposes_translations(
    client: IntercomClient, requests_mock: Any
) -> None:
    article = {
        "id": "1",
        "title": "Refunds",
        "translated_content": {"type": "article_translated_content", "fr": {"title": "Rembourser"}},
    }
    requests_mock.get(
        f"{US}/articles",
        [
            {"json": {"data": [article], "pages": {"page": 1, "total_pages": 2}}},
            {"json": {"data": [{"id": "2"}], "pages": {"page": 2, "total_pages": 2}}},
        ],
    )
    articles = list(client.list_articles(per_page=1))
    assert [a["id"] for a in articles] == ["1", "2"]
    assert article_translations(articles[0]) == {"fr": {"title": "Rembourser"}}
    assert article_translations(articles[1]) == {}


# -- typed errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, "parameter_invalid", BadRequest),
        (401, "unauthorized", Unauthorized),
        (403, "forbidden", Forbidden),
        (403, "api_plan_restricted", PlanRestricted),
        (404, "not_found", NotFound),
        (409, "conflict", IntercomError),
    ],
)
def test_http_errors_are_typed(
    client: IntercomClient, requests_mock: Any, status: int, code: str, error: type
) -> None:
    requests_mock.get(f"{US}/me", status_code=status, json=error_body(code, "Nope", "req-77"))
    with pytest.raises(error) as caught:
        client.me()
    assert type(caught.value) is error
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (
        status,
        code,
        "req-77",
    )
    assert "Nope" in str(caught.value) and "req-77" in str(caught.value)
    assert requests_mock.call_count == 1


def test_plan_restricted_is_a_forbidden(client: IntercomClient, requests_mock: Any) -> None:
    requests_mock.get(
        f"{US}/conversations",
        status_code=403,
        json=error_body("api_plan_restricted", "Active subscription needed."),
    )
    with pytest.raises(Forbidden):
        list(client.list_conversations())


# -- retries ------------------------------------------------------------------------------------


def test_429_waits_for_retry_after(
    client: IntercomClient, requests_mock: Any, fake_time: FakeTime
) -> None:
    requests_mock.get(
        f"{US}/me",
        [
            {
                "status_code": 429,
                "headers": {"Retry-After": "3"},
                "json": error_body("rate_limit_exceeded", "slow"),
            },
            {"json": {"id": "1"}},
        ],
    )
    assert client.me() == {"id": "1"}
    assert fake_time.sleeps == [3.0]


def test_429_waits_until_rate_limit_reset(
    client: IntercomClient, requests_mock: Any, fake_time: FakeTime
) -> None:
    reset = str(int(fake_time.now) + 7)
    requests_mock.get(
        f"{US}/me",
        [
            {"status_code": 429, "headers": {"X-RateLimit-Reset": reset}, "json": {}},
            {"json": {"id": "1"}},
        ],
    )
    client.me()
    assert fake_time.sleeps == [7.0 + RESET_SLACK]  # the header is whole seconds, rounded down


def test_429_pauses_the_shared_limiter_for_other_threads(
    client: IntercomClient, requests_mock: Any, fake_time: FakeTime
) -> None:
    requests_mock.get(
        f"{US}/me",
        [{"status_code": 429, "headers": {"Retry-After": "5"}}, {"json": {"id": "1"}}],
    )
    client.me()
    fake_time.now -= 5  # as if another thread asked right after the 429
    assert client.limiter.headroom() == 0.0
    assert client.limiter.acquire() == pytest.approx(5.0)


def test_429_with_a_long_wait_raises_instead_of_blocking(
    client: IntercomClient, requests_mock: Any, fake_time: FakeTime
) -> None:
    requests_mock.get(f"{US}/me", status_code=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as caught:
        client.me()
    assert caught.value.retry_after == 3600.0
    assert fake_time.sleeps == []


def test_429_retries_are_bounded(
    client: IntercomClient, requests_mock: Any, fake_time: FakeTime
) -> None:
    requests_mock.get(f"{US}/me", status_code=429, headers={"Retry-After": "1"})
    with pytest.raises(RateLimited):
        client.me()
    assert requests_mock.call_count == 1 + RetryPolicy().max_rate_limit_retries


def test_5xx_backs_off_exponentially_with_jitter_and_gives_up(
    client: IntercomClient, requests_mock: Any, fake_time: FakeTime
) -> None:
    requests_mock.get(f"{US}/me", status_code=503, text="<html>busy</html>")
    with pytest.raises(ServerError) as caught:
        client.me()
    policy = RetryPolicy()
    assert requests_mock.call_count == 1 + policy.max_retries
    assert not caught.value.ambiguous
    for attempt, waited in enumerate(fake_time.sleeps, start=1):
        ceiling = min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1))
        assert ceiling / 2 <= waited <= ceiling


def test_5xx_then_success(client: IntercomClient, requests_mock: Any) -> None:
    requests_mock.get(f"{US}/me", [{"status_code": 502}, {"json": {"id": "1"}}])
    assert client.me() == {"id": "1"}


def test_5xx_on_a_reply_is_ambiguous_and_not_retried(
    client: IntercomClient, requests_mock: Any
) -> None:
    requests_mock.post(f"{US}/conversations/1/reply", status_code=500)
    with pytest.raises(ServerError) as caught:
        client.reply("1", "hi", admin_id="9")
    assert caught.value.ambiguous
    assert requests_mock.call_count == 1


def test_timeout_on_a_post_is_ambiguous_and_not_retried(
    client: IntercomClient, requests_mock: Any, calls: list[Any]
) -> None:
    requests_mock.post(f"{US}/conversations/1/parts", exc=requests.exceptions.ReadTimeout)
    with pytest.raises(Timeout) as caught:
        client.close("1", admin_id="9")
    assert caught.value.ambiguous and "re-read" in str(caught.value)
    assert requests_mock.call_count == 1
    assert calls[0][:2] == ("/conversations/{id}/parts", None)


def test_timeout_on_a_get_is_retried_then_raised_unambiguous(
    client: IntercomClient, requests_mock: Any
) -> None:
    requests_mock.get(f"{US}/me", exc=requests.exceptions.ReadTimeout)
    with pytest.raises(Timeout) as caught:
        client.me()
    assert not caught.value.ambiguous
    assert requests_mock.call_count == 1 + RetryPolicy().max_retries


def test_connect_timeout_on_a_post_is_retried(client: IntercomClient, requests_mock: Any) -> None:
    requests_mock.post(
        f"{US}/conversations/1/reply",
        [{"exc": requests.exceptions.ConnectTimeout}, {"json": CONVERSATION}],
    )
    assert client.reply("1", "hi", admin_id="9")["id"] == "215"


def test_dropped_connection_on_a_post_is_ambiguous(
    client: IntercomClient, requests_mock: Any
) -> None:
    requests_mock.post(f"{US}/conversations/1/reply", exc=requests.exceptions.ConnectionError)
    with pytest.raises(ConnectionFailed) as caught:
        client.reply("1", "hi", admin_id="9")
    assert caught.value.ambiguous


def test_server_reported_exhaustion_pauses_until_reset(
    client: IntercomClient, requests_mock: Any, fake_time: FakeTime
) -> None:
    reset = fake_time.now + 4
    requests_mock.get(
        f"{US}/me",
        json={"id": "1"},
        headers={
            "X-RateLimit-Limit": "167",
            "X-RateLimit-Remaining": "3",
            "X-RateLimit-Reset": str(reset),
        },
    )
    client.me()
    client.me()
    assert fake_time.sleeps == [pytest.approx(4.0 + RESET_SLACK)]


# -- bad answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "text/html"),
        (b'{"type": "admin", "id": "99', "application/json"),
        (b'["not", "an", "object"]', "application/json"),
        (b"[" * 100_000, "application/json"),
    ],
)
def test_unreadable_bodies_raise_invalid_response(
    client: IntercomClient, requests_mock: Any, body: bytes, content_type: str
) -> None:
    requests_mock.get(f"{US}/me", content=body, headers={"Content-Type": content_type})
    with pytest.raises(InvalidResponse, match="not a JSON object"):
        client.me()


def test_oversized_bodies_are_refused(fake_time: FakeTime, requests_mock: Any) -> None:
    client = make_client(fake_time, max_response_bytes=1000)
    requests_mock.get(f"{US}/admins", content=b'{"admins": [' + b" " * 5000 + b"]}")
    with pytest.raises(InvalidResponse, match="larger than 1000 bytes"):
        client.list_admins()


def test_declared_oversized_length_is_refused(fake_time: FakeTime, requests_mock: Any) -> None:
    client = make_client(fake_time, max_response_bytes=1000)
    requests_mock.get(f"{US}/admins", content=b"{}", headers={"Content-Length": "999999999"})
    with pytest.raises(InvalidResponse, match="larger than"):
        client.list_admins()


@pytest.mark.parametrize(
    ("path", "call", "body"),
    [
        ("/me", lambda c: c.me(), {"type": "admin"}),
        ("/admins", lambda c: c.list_admins(), {"type": "admin.list"}),
        ("/teams", lambda c: c.list_teams(), {"teams": [1, 2]}),
        ("/tags", lambda c: c.list_tags(), {"data": "x"}),
        ("/conversations/1", lambda c: c.get_conversation("1"), {"id": "1", "source": "x"}),
        ("/conversations", lambda c: list(c.list_conversations()), {"pages": {}}),
    ],
)
def test_missing_or_mistyped_keys_raise_invalid_response(
    client: IntercomClient, requests_mock: Any, path: str, call: Any, body: Any
) -> None:
    requests_mock.get(f"{US}{path}", json=body)
    with pytest.raises(InvalidResponse):
        call(client)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.reply("1", "  ", admin_id="9"),
        lambda c: c.reply("1", "hi", admin_id="9", message_type="quick_reply"),
        lambda c: c.reply("", "hi", admin_id="9"),
        lambda c: c.reply("1", "hi", admin_id="9", attachment_urls=["https://f/x"] * 11),
        lambda c: c.assign("1", admin_id="9", assignee_id="2", type="bot"),
        lambda c: c.assign("1", admin_id=True, assignee_id="2"),
        lambda c: c.update_conversation_attributes("1", {}),
        lambda c: c.update_conversation_attributes("1", {"": 1}),
        lambda c: list(c.list_conversations(per_page=151)),
        lambda c: list(c.search_conversations({})),
        lambda c: c.find_or_create_tag(""),
    ],
)
def test_bad_arguments_fail_before_any_request(
    client: IntercomClient, requests_mock: Any, call: Any
) -> None:
    with pytest.raises(ValueError):
        call(client)
    assert not requests_mock.called


# -- secrets and metrics ------------------------------------------------------------------------


def test_the_token_never_appears_in_repr_errors_or_logs(
    client: IntercomClient, requests_mock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echoed = error_body("unauthorized", f"Access Token Invalid: {TOKEN}", request_id=TOKEN)
    requests_mock.get(f"{US}/me", status_code=401, json=echoed)
    requests_mock.get(
        f"{US}/admins", [{"status_code": 500, "json": echoed}, {"json": {"admins": []}}]
    )
    with pytest.raises(Unauthorized) as caught:
        client.me()
    client.list_admins()
    error = caught.value
    shown = [repr(client), str(error), repr(error), json.dumps(error.as_dict()), caplog.text]
    assert all(TOKEN not in text for text in shown)
    assert "[redacted]" in str(error)


def test_a_malformed_token_is_refused_without_showing_it(fake_time: FakeTime) -> None:
    secret = "abc\ndef-secret"
    workspace = make_workspace(access_token=Secret("env", "INTERCOM_TOKEN", secret))
    with pytest.raises(ValueError, match="INTERCOM_TOKEN") as caught:
        make_client(fake_time, workspace=workspace)
    assert "def-secret" not in str(caught.value)


def test_on_call_reports_each_attempt_by_template(
    client: IntercomClient, requests_mock: Any, calls: list[Any]
) -> None:
    requests_mock.get(f"{US}/conversations/7", [{"status_code": 500}, {"json": CONVERSATION}])
    client.get_conversation("7")
    assert [call[:2] for call in calls] == [
        ("/conversations/{id}", 500),
        ("/conversations/{id}", 200),
    ]
    assert all(call[2] >= 0 for call in calls)


def test_a_failing_metrics_callback_does_not_fail_the_call(
    fake_time: FakeTime, requests_mock: Any
) -> None:
    def broken(*_: Any) -> None:
        raise RuntimeError("metrics down")

    requests_mock.get(f"{US}/me", json={"id": "1"})
    assert make_client(fake_time, on_call=broken).me() == {"id": "1"}


def test_a_redirect_is_an_error_not_followed(client: IntercomClient, requests_mock: Any) -> None:
    requests_mock.get(f"{US}/me", status_code=301, headers={"Location": "https://evil.example"})
    with pytest.raises(IntercomError) as caught:
        client.me()
    assert caught.value.status == 301
    assert requests_mock.call_count == 1


def test_a_cut_off_answer_to_a_post_is_ambiguous(
    client: IntercomClient, requests_mock: Any
) -> None:
    requests_mock.post(f"{US}/conversations/1/reply", exc=requests.exceptions.ChunkedEncodingError)
    with pytest.raises(ConnectionFailed) as caught:
        client.reply("1", "hi", admin_id="9")
    assert caught.value.ambiguous


def test_a_request_that_cannot_be_made_is_not_retried(
    client: IntercomClient, requests_mock: Any, fake_time: FakeTime
) -> None:
    requests_mock.get(f"{US}/me", exc=requests.exceptions.InvalidHeader(f"Bearer {TOKEN}"))
    with pytest.raises(IntercomError, match="could not be made") as caught:
        client.me()
    assert TOKEN not in str(caught.value) and caught.value.__cause__ is None
    assert fake_time.sleeps == [] and requests_mock.call_count == 1


def test_a_reset_already_past_backs_off_instead_of_hammering(
    client: IntercomClient, requests_mock: Any, fake_time: FakeTime
) -> None:
    past = str(int(fake_time.now) - 30)
    requests_mock.get(
        f"{US}/me",
        [{"status_code": 429, "headers": {"X-RateLimit-Reset": past}}, {"json": {"id": "1"}}],
    )
    client.me()
    assert len(fake_time.sleeps) == 1 and fake_time.sleeps[0] > 0


def test_a_wrong_page_total_stops_at_the_first_empty_page(
    client: IntercomClient, requests_mock: Any
) -> None:
    requests_mock.get(
        f"{US}/articles",
        [
            {"json": {"data": [{"id": "1"}], "pages": {"page": 1, "total_pages": 10**9}}},
            {"json": {"data": [], "pages": {"page": 2, "total_pages": 10**9}}},
        ],
    )
    assert [a["id"] for a in client.list_articles()] == ["1"]
    assert requests_mock.call_count == 2


def test_reply_sends_attachment_urls(client: IntercomClient, requests_mock: Any) -> None:
    requests_mock.post(f"{US}/conversations/215/reply", json=CONVERSATION)
    client.reply("215", "See attached", admin_id="9", attachment_urls=["https://f/a.png"])
    assert requests_mock.last_request.json()["attachment_urls"] == ["https://f/a.png"]
