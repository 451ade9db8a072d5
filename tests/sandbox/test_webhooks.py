"""Webhooks reach a real receiver on loopback, signed and in Intercom's envelope."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from deskmate.core.sandbox.runtime import EXTENSION

SECRET = b"sandbox-test-secret"
AI = "1000001"


def _verify(received) -> dict:
    """The envelope, after checking the signature over the exact bytes received."""
    expected = "sha1=" + hmac.new(SECRET, received.body, hashlib.sha1).hexdigest()
    assert received.headers["X-Hub-Signature"] == expected
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["User-Agent"] == "intercom-parrot-service-client/1.0"
    return json.loads(received.body)


@pytest.fixture
def hooked(make_app, receiver):
    app = make_app(webhook_url=receiver.url)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer sandbox-test-token"
    return app, client


def _open(client, **extra):
    body = {
        "channel": "messenger",
        "body": "My card was charged twice",
        "contact": {"name": "Ada", "email": "ada@example.com"},
    } | extra
    return client.post("/_sandbox/conversations", json=body).json["id"]


def test_user_created_is_signed_and_shaped_like_intercoms_envelope(hooked, receiver):
    _, client = hooked
    conversation_id = _open(client)
    envelope = _verify(receiver.wait_for(1)[0])
    assert envelope["type"] == "notification_event"
    assert envelope["topic"] == "conversation.user.created"
    assert envelope["app_id"] == "testapp"
    assert envelope["id"].startswith("notif_")
    assert envelope["delivery_attempts"] == 1 and envelope["delivery_status"] == "pending"
    assert isinstance(envelope["first_sent_at"], int)
    item = envelope["data"]["item"]
    assert envelope["data"]["type"] == "notification_event_data"
    assert item["id"] == conversation_id and item["type"] == "conversation"
    assert item["source"]["type"] == "conversation"
    assert item["source"]["delivered_as"] == "customer_initiated"
    assert item["source"]["body"] == "<p>My card was charged twice</p>"
    assert item["admin_assignee_id"] is None and item["team_assignee_id"] is None
    assert item["contacts"]["contacts"][0]["id"] == item["source"]["author"]["id"]
    assert item["conversation_parts"] == {
        "type": "conversation_part.list",
        "conversation_parts": [],
        "total_count": 0,
    }
    assert item["statistics"]["first_contact_reply_at"].endswith(".000Z")
    assert item["teammates"] == {"type": "admin.list", "admins": []}


def test_each_event_carries_only_its_new_part(hooked, receiver):
    _, client = hooked
    conversation_id = _open(client, channel="email", subject="Refund")
    base = f"/_sandbox/conversations/{conversation_id}"
    client.post(f"{base}/reply", json={"body": "Hello?"})
    client.post(f"{base}/admin_reply", json={"admin_id": "1000002", "body": "Here"})
    client.post(f"{base}/assign", json={"admin_id": AI})
    client.post(f"{base}/close", json={})
    envelopes = [_verify(r) for r in receiver.wait_for(5)]
    assert [e["topic"] for e in envelopes] == [
        "conversation.user.created",
        "conversation.user.replied",
        "conversation.admin.replied",
        "conversation.admin.assigned",
        "conversation.admin.closed",
    ]
    assert envelopes[0]["data"]["item"]["source"]["subject"] == "Refund"
    new_parts = [e["data"]["item"]["conversation_parts"]["conversation_parts"] for e in envelopes]
    assert [len(p) for p in new_parts] == [0, 1, 1, 1, 1]
    assert [p[0]["part_type"] for p in new_parts[1:]] == [
        "comment",
        "comment",
        "assignment",
        "close",
    ]
    assert new_parts[3][0]["assigned_to"] == {"type": "admin", "id": AI}
    assert envelopes[3]["data"]["item"]["admin_assignee_id"] == int(AI)
    assert len({e["id"] for e in envelopes}) == 5


def test_api_actions_emit_admin_webhooks_authored_by_the_ai_unless_switched_off(hooked, receiver):
    _, client = hooked
    conversation_id = _open(client)
    reply = {"message_type": "comment", "type": "admin", "admin_id": AI, "body": "<p>Hi</p>"}
    client.post(f"/conversations/{conversation_id}/reply", json=reply)
    client.post(f"/conversations/{conversation_id}/reply", json=reply | {"message_type": "note"})
    envelopes = [_verify(r) for r in receiver.wait_for(3)]
    assert [e["topic"] for e in envelopes[1:]] == [
        "conversation.admin.replied",
        "conversation.admin.noted",
    ]
    part = envelopes[1]["data"]["item"]["conversation_parts"]["conversation_parts"][0]
    assert part["author"]["id"] == AI and part["app_package_code"] == "deskmate-sandbox"
    switched = client.post("/_sandbox/webhooks", json={"admin_webhooks": False}).json
    assert switched["admin_webhooks"] is False
    client.post(f"/conversations/{conversation_id}/reply", json=reply)
    client.post(f"/_sandbox/conversations/{conversation_id}/reply", json={"body": "ok"})
    topics = [_verify(r)["topic"] for r in receiver.wait_for(4)]
    assert topics[3:] == ["conversation.user.replied"]


def test_duplicate_n_sends_every_later_notification_n_times(hooked, receiver):
    app, client = hooked
    assert client.post("/_sandbox/webhooks", json={"duplicate": 3}).json["duplicate"] == 3
    _open(client)
    envelopes = [_verify(r) for r in receiver.wait_for(3)]
    assert app.extensions[EXTENSION].webhooks.wait_idle(5)
    assert len(receiver.received) == 3
    assert len({e["id"] for e in envelopes}) == 1


def test_several_receivers_take_the_deliveries_in_turn_so_duplicates_land_apart(hooked, receiver):
    app, client = hooked
    urls = [f"{receiver.url}?server=a", f"{receiver.url}?server=b"]
    answer = client.post("/_sandbox/webhooks", json={"urls": urls, "duplicate": 2}).json
    assert answer["urls"] == urls and answer["url"] == urls[0]
    _open(client)
    _open(client, contact={"name": "Bo", "email": "bo@example.com"})
    received = receiver.wait_for(4)
    assert app.extensions[EXTENSION].webhooks.wait_idle(5)
    by_id: dict[str, list[str]] = {}
    for r in received:
        by_id.setdefault(_verify(r)["id"], []).append(r.path.rpartition("=")[2])
    assert sorted(by_id.values()) == [["a", "b"], ["a", "b"]]
    deliveries = app.extensions[EXTENSION].webhooks.deliveries()
    assert [d["url"] for d in deliveries] == urls * 2


def test_a_bad_receiver_list_is_refused_and_changes_nothing(hooked, receiver):
    _, client = hooked
    for urls in ([], ["not a url"], [receiver.url] * 11):
        answer = client.post("/_sandbox/webhooks", json={"urls": urls})
        assert answer.status_code == 400 and "urls" in answer.json["fields"], answer.json
    assert client.get("/_sandbox/webhooks").json["urls"] == [receiver.url]


def test_also_as_announces_a_topic_again_under_another_with_its_own_id(hooked, receiver):
    app, client = hooked
    echo = {"conversation.user.replied": "conversation.user.created"}
    answer = client.post("/_sandbox/webhooks", json={"also_as": echo, "duplicate": 2}).json
    assert answer["also_as"] == echo
    conversation_id = _open(client)
    client.post(f"/_sandbox/conversations/{conversation_id}/reply", json={"body": "Still there?"})
    assert app.extensions[EXTENSION].webhooks.wait_idle(5)
    envelopes = [_verify(r) for r in receiver.received]
    topics = [e["topic"] for e in envelopes]
    assert (
        topics
        == ["conversation.user.created"] * 2
        + ["conversation.user.replied"] * 2
        + ["conversation.user.created"] * 2
    )
    replied, echoed = envelopes[2], envelopes[4]
    assert replied["id"] != echoed["id"]
    assert replied["data"]["item"] == echoed["data"]["item"]
    assert client.post("/_sandbox/webhooks", json={"also_as": {}}).json["also_as"] == {}


def test_failed_delivery_is_retried_with_the_attempt_counted(hooked, receiver):
    app, client = hooked
    receiver.statuses = [500]
    _open(client)
    first, second = (_verify(r) for r in receiver.wait_for(2))
    assert first["id"] == second["id"]
    assert (first["delivery_attempts"], second["delivery_attempts"]) == (1, 2)
    assert second["delivery_status"] == "retry"
    assert second["first_sent_at"] == first["first_sent_at"]
    assert app.extensions[EXTENSION].webhooks.wait_idle(5)
    deliveries = client.get("/_sandbox/webhooks").json["deliveries"]
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 500), (2, 200)]


def test_retries_are_bounded_and_unreachable_receivers_are_logged(make_app):
    app = make_app(webhook_url="http://127.0.0.1:9/closed", webhook_retries=2)
    app.test_client().post(
        "/_sandbox/conversations",
        json={"channel": "email", "body": "x", "contact": {"name": "A", "email": "a@x.io"}},
    )
    dispatcher = app.extensions[EXTENSION].webhooks
    assert dispatcher.wait_idle(5)
    deliveries = dispatcher.deliveries()
    assert [d["attempt"] for d in deliveries] == [1, 2, 3]
    assert all(d["status"] is None and d["error"] for d in deliveries)


def test_delivery_never_happens_inside_the_request(make_app, receiver):
    receiver.statuses = [200]
    app = make_app(webhook_url=receiver.url)
    dispatcher = app.extensions[EXTENSION].webhooks
    dispatcher.stop()
    started = time.monotonic()
    response = app.test_client().post(
        "/_sandbox/conversations",
        json={"channel": "email", "body": "x", "contact": {"name": "A", "email": "a@x.io"}},
    )
    assert response.status_code == 201 and time.monotonic() - started < 3
    assert dispatcher.pending() == 1 and receiver.received == []


def test_secrets_are_not_in_reprs_or_the_control_api(hooked):
    app, client = hooked
    sandbox = app.extensions[EXTENSION]
    shown = (
        repr(sandbox) + repr(sandbox.webhooks) + json.dumps(client.get("/_sandbox/webhooks").json)
    )
    shown += json.dumps(client.get("/_sandbox").json)
    assert "sandbox-test-secret" not in shown and "sandbox-test-token" not in shown
