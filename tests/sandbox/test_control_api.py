"""The control API plays customers and teammates; bad input is refused and changes nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from deskmate.core.sandbox.runtime import EXTENSION


def _get(client: FlaskClient, conversation_id: str) -> dict[str, Any]:
    response = client.get(f"/conversations/{conversation_id}")
    assert response.status_code == 200
    return response.json


def _snapshot(app: Flask) -> dict[str, Any]:
    state = app.extensions[EXTENSION].state
    with state.lock:
        return copy.deepcopy(
            {
                "conversations": state.conversations,
                "contacts": state.contacts,
                "companies": state.companies,
                "articles": state.articles,
                "tags": state.tags,
            }
        )


def test_new_messenger_conversation_has_customer_source_contact_and_company(client):
    response = client.post(
        "/_sandbox/conversations",
        json={
            "channel": "messenger",
            "body": "Where is my order?\n\nIt's been a week & more",
            "contact": {
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "custom_attributes": {"plan": "pro"},
            },
            "company": {"name": "Analytical Engines", "custom_attributes": {"tier": "gold"}},
        },
    )
    assert response.status_code == 201
    ids = response.json
    conv = _get(client, ids["id"])
    assert conv["source"]["type"] == "conversation"
    assert conv["source"]["delivered_as"] == "customer_initiated"
    assert (
        conv["source"]["body"] == "<p>Where is my order?</p><p>It&#x27;s been a week &amp; more</p>"
    )
    assert conv["contacts"]["contacts"][0]["id"] == ids["contact_id"]
    assert conv["admin_assignee_id"] is None and conv["state"] == "open"
    contact = client.get(f"/contacts/{ids['contact_id']}").json
    assert contact["custom_attributes"] == {"plan": "pro"}
    assert contact["companies"]["data"][0]["id"] == ids["company_id"]
    companies = client.get(f"/contacts/{ids['contact_id']}/companies").json
    assert companies["companies"][0]["custom_attributes"] == {"tier": "gold"}


def test_email_conversation_keeps_subject_and_delivered_as(client, open_conversation):
    conversation_id = open_conversation(
        channel="email", subject="Invoice", delivered_as="automated"
    )
    source = _get(client, conversation_id)["source"]
    assert (source["type"], source["subject"], source["delivered_as"]) == (
        "email",
        "Invoice",
        "automated",
    )


def test_same_email_reuses_the_contact(client):
    first = client.post(
        "/_sandbox/conversations",
        json={"channel": "messenger", "body": "a", "contact": {"name": "A", "email": "a@x.io"}},
    ).json
    second = client.post(
        "/_sandbox/conversations",
        json={"channel": "messenger", "body": "b", "contact": {"name": "A", "email": "a@x.io"}},
    ).json
    assert first["contact_id"] == second["contact_id"] and first["id"] != second["id"]


def test_customer_reply_adds_a_comment_and_reopens_a_closed_conversation(client, open_conversation):
    conversation_id = open_conversation()
    client.post(f"/_sandbox/conversations/{conversation_id}/close", json={})
    response = client.post(
        f"/_sandbox/conversations/{conversation_id}/reply", json={"body": "Still broken"}
    )
    assert response.status_code == 200
    conv = _get(client, conversation_id)
    last = conv["conversation_parts"]["conversation_parts"][-1]
    assert last["id"] == response.json["part_id"]
    assert (last["part_type"], last["body"], last["author"]["type"]) == (
        "comment",
        "<p>Still broken</p>",
        "user",
    )
    assert conv["state"] == "open"


def test_admin_reply_is_a_human_comment_not_made_through_the_api(client, open_conversation):
    conversation_id = open_conversation()
    response = client.post(
        f"/_sandbox/conversations/{conversation_id}/admin_reply",
        json={"admin_id": "1000002", "body": "On it"},
    )
    assert response.status_code == 200
    part = _get(client, conversation_id)["conversation_parts"]["conversation_parts"][-1]
    assert part["author"] == {
        "type": "admin",
        "id": "1000002",
        "name": "Riley Moreno",
        "email": "riley@example.com",
        "from_ai_agent": False,
        "is_ai_answer": False,
    }
    assert part["app_package_code"] is None


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        ({"admin_id": "1000001"}, "admin_assignee_id", 1000001),
        ({"team_id": 2000002}, "team_assignee_id", 2000002),
    ],
)
def test_assign_to_admin_or_team(client, body, field, expected, open_conversation):
    conversation_id = open_conversation()
    response = client.post(f"/_sandbox/conversations/{conversation_id}/assign", json=body)
    assert response.status_code == 200
    conv = _get(client, conversation_id)
    assert conv[field] == expected
    part = conv["conversation_parts"]["conversation_parts"][-1]
    assert part["part_type"] == "assignment"
    assert part["assigned_to"]["id"] == str(expected)


def test_close_sets_state_and_adds_a_close_part(client, open_conversation):
    conversation_id = open_conversation()
    response = client.post(f"/_sandbox/conversations/{conversation_id}/close", data="")
    assert response.status_code == 200
    conv = _get(client, conversation_id)
    assert conv["state"] == "closed" and conv["open"] is False
    assert conv["conversation_parts"]["conversation_parts"][-1]["part_type"] == "close"


def test_new_article_is_listed_with_its_translations(client):
    response = client.post(
        "/_sandbox/articles",
        json={
            "title": "Opening hours",
            "body": "<p>9 to 5</p>",
            "state": "published",
            "translations": {"fr": {"title": "Horaires", "body": "<p>9 h à 17 h</p>"}},
        },
    )
    assert response.status_code == 201
    article = client.get(f"/articles/{response.json['id']}").json
    assert article["title"] == "Opening hours" and article["default_locale"] == "en"
    assert article["translated_content"]["fr"]["title"] == "Horaires"
    listed = client.get("/articles?per_page=1").json["data"]
    assert listed[0]["id"] == response.json["id"]


def test_requests_lists_rest_calls_and_delete_clears_them(client):
    client.get("/me")
    client.get("/admins", headers={"Authorization": "Bearer wrong"})
    entries = client.get("/_sandbox/requests").json["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/me", 200),
        ("GET", "/admins", 401),
    ]
    assert all(isinstance(e["time"], float) for e in entries)
    assert client.delete("/_sandbox/requests").status_code == 204
    assert client.get("/_sandbox/requests").json["requests"] == []


def test_info_names_the_ai_admin_as_the_token_owner(client):
    info = client.get("/_sandbox").json
    me = client.get("/me").json
    assert info["me"] == me["id"] == "1000001" and me["name"] == "Deskmate AI"
    assert info["app_id"] == me["app"]["id_code"] == "testapp"


HUGE = "x" * 60_000


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/_sandbox/conversations", {"body": "hi", "contact": {"name": "A", "email": "a@x.io"}},
         "channel: Missing data for required field."),
        ("/_sandbox/conversations", {"channel": "sms", "body": "hi",
                                     "contact": {"name": "A", "email": "a@x.io"}}, "channel: "),
        ("/_sandbox/conversations", {"channel": "email", "body": HUGE,
                                     "contact": {"name": "A", "email": "a@x.io"}}, "body: "),
        ("/_sandbox/conversations", {"channel": "email", "body": "hi",
                                     "contact": {"name": "A", "email": "not-an-email"}},
         "contact.email: "),
        ("/_sandbox/conversations", {"channel": "email", "body": "hi",
                                     "contact": {"name": "A", "email": "a@x.io",
                                                 "custom_attributes": {"k": {"nested": 1}}}},
         "contact.custom_attributes: "),
        ("/_sandbox/conversations", {"channel": "email", "body": "hi", "admin": True,
                                     "contact": {"name": "A", "email": "a@x.io"}},
         "admin: Unknown"),
        ("/_sandbox/conversations", ["not", "an", "object"], "JSON object"),
        ("/_sandbox/articles", {"title": "t", "body": "b", "state": "live"}, "state: "),
        ("/_sandbox/articles", {"title": "t", "body": "b", "state": "draft", "locale": "../x"},
         "locale: "),
        ("/_sandbox/faults", {"status": 200, "rate": 1}, "status: "),
        ("/_sandbox/faults", {"status": 500, "rate": 2}, "rate: "),
        ("/_sandbox/faults", {"status": 500, "rate": 1, "effect_first": "maybe"}, "effect_first: "),
        ("/_sandbox/faults", {"status": 0, "rate": 1, "retry_after": 1}, "retry_after: "),
        ("/_sandbox/faults", {"status": 429, "rate": 1, "retry_after": -1}, "retry_after: "),
        ("/_sandbox/webhooks", {"also_as": {"ping": "conversation.user.created"}}, "also_as.ping"),
        ("/_sandbox/webhooks", {"duplicate": 0}, "duplicate: "),
        ("/_sandbox/webhooks", {"url": "file:///etc/passwd"}, "url: "),
    ],
)  # fmt: skip
def test_bad_control_input_is_refused_with_a_clear_message_and_changes_nothing(
    app, client, path, body, message
):
    before = _snapshot(app)
    response = client.post(path, json=body)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert message in response.json["message"]
    assert _snapshot(app) == before
    assert client.get("/_sandbox/faults").json["faults"] == []
    assert client.get("/_sandbox/webhooks").json["duplicate"] == 1


@pytest.mark.parametrize(
    ("suffix", "body"),
    [
        ("reply", {}),
        ("reply", {"body": 42}),
        ("admin_reply", {"admin_id": "1000002"}),
        ("admin_reply", {"admin_id": ["1"], "body": "x"}),
        ("assign", {}),
        ("assign", {"admin_id": "1000001", "team_id": "2000001"}),
        ("close", {"admin_id": True}),
    ],
)
def test_bad_action_input_on_a_conversation_changes_nothing(
    app, client, suffix, body, open_conversation
):
    conversation_id = open_conversation()
    before = _snapshot(app)
    response = client.post(f"/_sandbox/conversations/{conversation_id}/{suffix}", json=body)
    assert response.status_code == 400, response.json
    assert response.json["message"]
    assert _snapshot(app) == before


def test_unknown_conversation_or_admin_is_reported_and_changes_nothing(
    app, client, open_conversation
):
    conversation_id = open_conversation()
    before = _snapshot(app)
    missing = client.post("/_sandbox/conversations/404/reply", json={"body": "x"})
    assert (missing.status_code, missing.json["error"]) == (404, "not_found")
    stranger = client.post(
        f"/_sandbox/conversations/{conversation_id}/admin_reply",
        json={"admin_id": "42", "body": "x"},
    )
    assert (stranger.status_code, stranger.json["error"]) == (400, "admin_not_found")
    nobody = client.post(f"/_sandbox/conversations/{conversation_id}/assign", json={"team_id": 1})
    assert (nobody.status_code, nobody.json["error"]) == (400, "assignee_not_found")
    assert _snapshot(app) == before


@pytest.mark.parametrize(
    "raw", ["{not json", "[" * 100_000, b"\xff\xfe\x00\x01", '"a string"', "null"]
)
def test_unreadable_or_hostile_json_is_refused(app, client, raw):
    before = _snapshot(app)
    refused = client.post("/_sandbox/conversations", data=raw, content_type="application/json")
    assert refused.status_code == 400 and "JSON object" in refused.json["message"]
    assert _snapshot(app) == before


def test_oversized_requests_are_refused(app, client):
    before = _snapshot(app)
    oversized = client.post(
        "/_sandbox/articles",
        json={"title": "t", "body": "b" * 2_000_000, "state": "draft"},
    )
    assert oversized.status_code == 413 and "larger than" in oversized.json["message"]
    assert _snapshot(app) == before
