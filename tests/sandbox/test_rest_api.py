"""The REST subset behaves like Intercom: auth, rate limit, actions, search, faults."""

from __future__ import annotations

import threading
import time

import pytest

from deskmate.core.sandbox import SeedOptions

AI, HUMAN = "1000001", "1000002"


def _parts(client, conversation_id):
    conv = client.get(f"/conversations/{conversation_id}").json
    return conv, conv["conversation_parts"]["conversation_parts"]


def test_missing_or_wrong_token_gets_intercoms_401_body_without_rate_headers(app):
    bare = app.test_client()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        response = bare.get("/me", headers=headers)
        assert response.status_code == 401
        body = response.json
        assert body["type"] == "error.list" and body["request_id"]
        assert body["errors"] == [{"code": "unauthorized", "message": "Access Token Invalid"}]
        assert "X-RateLimit-Limit" not in response.headers


def test_rate_limit_headers_count_down_and_the_window_limit_then_429(make_app):
    now = [1_000.0]
    client = make_app(rate_limit=30, clock=lambda: now[0]).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer sandbox-test-token"
    seen = [client.get("/admins") for _ in range(5)]
    assert [r.headers["X-RateLimit-Remaining"] for r in seen] == ["4", "3", "2", "1", "0"]
    assert {r.headers["X-RateLimit-Limit"] for r in seen} == {"5"}
    assert {r.headers["X-RateLimit-Reset"] for r in seen} == {"1010"}
    refused = client.get("/admins")
    assert refused.status_code == 429
    assert refused.json["errors"][0] == {
        "code": "rate_limit_exceeded",
        "message": "Exceeded rate limit of 5 in 10_seconds",
    }
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    now[0] = 1_010.0
    again = client.get("/admins")
    assert again.status_code == 200 and again.headers["X-RateLimit-Reset"] == "1020"


def test_api_reply_and_note_are_recorded_as_the_admin_through_the_api(client, open_conversation):
    conversation_id = open_conversation()
    reply = client.post(
        f"/conversations/{conversation_id}/reply",
        json={"message_type": "comment", "type": "admin", "admin_id": int(AI),
              "body": "<div><p>Refund sent</p></div><script>x()</script>"},
    )  # fmt: skip
    assert reply.status_code == 200 and reply.json["waiting_since"] is None
    client.post(
        f"/conversations/{conversation_id}/reply",
        json={"message_type": "note", "type": "admin", "admin_id": AI, "body": "<p>Summary</p>"},
    )
    _, parts = _parts(client, conversation_id)
    assert [(p["part_type"], p["body"]) for p in parts] == [
        ("comment", "<p>Refund sent</p>"),
        ("note", "<p>Summary</p>"),
    ]
    assert {p["app_package_code"] for p in parts} == {"deskmate-sandbox"}
    assert {p["author"]["id"] for p in parts} == {AI}


def test_contact_reply_through_the_api_needs_a_contact_of_the_conversation(
    client, open_conversation
):
    conversation_id = open_conversation()
    contact_id = client.get(f"/conversations/{conversation_id}").json["contacts"]["contacts"][0]
    body = {"message_type": "comment", "type": "user", "body": "thanks"}
    refused = client.post(
        f"/conversations/{conversation_id}/reply", json=body | {"intercom_user_id": "x"}
    )
    assert refused.status_code == 400
    ok = client.post(
        f"/conversations/{conversation_id}/reply",
        json=body | {"intercom_user_id": contact_id["id"]},
    )
    assert ok.status_code == 200
    assert _parts(client, conversation_id)[1][-1]["author"]["type"] == "user"


def test_assign_unassign_close_open_and_snooze_via_parts(client, open_conversation):
    conversation_id = open_conversation()
    url = f"/conversations/{conversation_id}/parts"
    assigned = client.post(url, json={"message_type": "assignment", "type": "admin",
                                      "admin_id": AI, "assignee_id": AI})  # fmt: skip
    assert assigned.json["admin_assignee_id"] == int(AI)
    to_team = client.post(url, json={"message_type": "assignment", "type": "team",
                                     "admin_id": AI, "assignee_id": "2000001",
                                     "body": "Passing you to support"})  # fmt: skip
    assert to_team.json["team_assignee_id"] == 2000001
    unassigned = client.post(url, json={"message_type": "assignment", "type": "admin",
                                        "admin_id": AI, "assignee_id": "0"})  # fmt: skip
    assert unassigned.json["admin_assignee_id"] is None
    closed = client.post(url, json={"message_type": "close", "type": "admin", "admin_id": AI})
    assert closed.json["state"] == "closed"
    opened = client.post(url, json={"message_type": "open", "admin_id": AI})
    assert opened.json["state"] == "open"
    snoozed = client.post(url, json={"message_type": "snoozed", "admin_id": AI,
                                     "snoozed_until": 2_000_000_000})  # fmt: skip
    assert (snoozed.json["state"], snoozed.json["snoozed_until"]) == ("snoozed", 2_000_000_000)
    _, parts = _parts(client, conversation_id)
    assert [p["part_type"] for p in parts] == [
        "assignment", "assignment", "assignment", "close", "open", "snoozed",
    ]  # fmt: skip
    assert parts[1]["body"] == "Passing you to support"
    assert parts[2]["assigned_to"] == {"type": "nobody_admin", "id": None}


def test_unassigned_is_zero_and_priority_none_from_version_2_16(client, open_conversation):
    conversation_id = open_conversation()
    old = client.get(f"/conversations/{conversation_id}", headers={"Intercom-Version": "2.11"})
    new = client.get(f"/conversations/{conversation_id}", headers={"Intercom-Version": "2.16"})
    assert (old.json["admin_assignee_id"], old.json["priority"]) == (None, "not_priority")
    assert (new.json["admin_assignee_id"], new.json["priority"]) == (0, "none")
    bad = client.get(f"/conversations/{conversation_id}", headers={"Intercom-Version": "9; x"})
    assert (bad.status_code, bad.json["errors"][0]["code"]) == (400, "intercom_version_invalid")


def test_display_as_plaintext_renders_links_as_label_and_url(client, open_conversation):
    conversation_id = open_conversation()
    client.post(
        f"/conversations/{conversation_id}/reply",
        json={"message_type": "comment", "type": "admin", "admin_id": AI,
              "body": '<p>See <a href="https://help.example.com/1">the guide</a>.</p><p>Bye</p>'},
    )  # fmt: skip
    html = client.get(f"/conversations/{conversation_id}").json
    plain = client.get(f"/conversations/{conversation_id}?display_as=plaintext").json
    assert html["source"]["body"] == "<p>Hi, I was charged twice</p>"
    assert plain["source"]["body"] == "Hi, I was charged twice"
    assert plain["conversation_parts"]["conversation_parts"][0]["body"] == (
        "See the guide (https://help.example.com/1).\nBye"
    )


def test_tags_create_or_find_case_insensitively_attach_and_detach(client, open_conversation):
    conversation_id = open_conversation()
    first = client.post("/tags", json={"name": "opencx_handed_off"}).json
    again = client.post("/tags", json={"name": "OPENCX_handed_off"}).json
    assert first["id"] == again["id"] and first["name"] == "opencx_handed_off"
    assert client.get("/tags").json == {"type": "list", "data": [first]}
    applied = client.post(
        f"/conversations/{conversation_id}/tags", json={"id": first["id"], "admin_id": AI}
    )
    assert applied.status_code == 200 and applied.json["applied_by"] == {"type": "admin", "id": AI}
    tags = client.get(f"/conversations/{conversation_id}").json["tags"]["tags"]
    assert [t["name"] for t in tags] == ["opencx_handed_off"]
    detached = client.delete(
        f"/conversations/{conversation_id}/tags/{first['id']}", json={"admin_id": AI}
    )
    assert detached.status_code == 200
    assert client.get(f"/conversations/{conversation_id}").json["tags"]["tags"] == []
    unknown = client.post(
        f"/conversations/{conversation_id}/tags", json={"id": "1", "admin_id": AI}
    )
    assert (unknown.status_code, unknown.json["errors"][0]["code"]) == (400, "tag_not_found")


def test_put_conversation_merges_custom_attributes(client, open_conversation):
    conversation_id = open_conversation()
    url = f"/conversations/{conversation_id}"
    client.put(url, json={"custom_attributes": {"handoff_reason": "asked_for_human"}})
    updated = client.put(url, json={"custom_attributes": {"sentiment": "negative"}})
    assert updated.json["custom_attributes"] == {
        "handoff_reason": "asked_for_human",
        "sentiment": "negative",
    }
    refused = client.put(url, json={"custom_attributes": {"x": ["a"]}})
    assert refused.status_code == 400
    assert client.get(url).json["custom_attributes"]["sentiment"] == "negative"


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        ("reply", {"type": "admin", "admin_id": AI, "body": "x"}, "parameter_not_found",
         "message_type"),
        ("reply", {"message_type": "comment", "type": "admin", "body": "x"}, "parameter_invalid",
         "admin_id"),
        ("reply", {"message_type": "comment", "type": "admin", "admin_id": "5", "body": "x"},
         "admin_not_found", "admin_id"),
        ("reply", {"message_type": "comment", "type": "admin", "admin_id": AI,
                   "body": "x" * 60_000}, "parameter_invalid", "body"),
        ("parts", {"message_type": "assignment", "admin_id": AI}, "parameter_invalid",
         "assignee_id"),
        ("parts", {"message_type": "assignment", "admin_id": AI, "assignee_id": "77"},
         "assignee_not_found", "assignee_id"),
        ("parts", {"message_type": "explode", "admin_id": AI}, "parameter_invalid",
         "message_type"),
    ],
)  # fmt: skip
def test_bad_rest_bodies_get_intercom_errors_and_change_nothing(
    client, open_conversation, path, body, code, field
):
    conversation_id = open_conversation()
    before = client.get(f"/conversations/{conversation_id}").json
    response = client.post(f"/conversations/{conversation_id}/{path}", json=body)
    assert response.status_code == 400
    error = response.json["errors"][0]
    assert (error["code"], error["field"]) == (code, field)
    assert client.get(f"/conversations/{conversation_id}").json == before


@pytest.mark.parametrize("raw", ["{" * 100_000, "[" * 100_000, b"\xff\xfe\x00", "[]", ""])
def test_hostile_rest_bodies_get_400_and_change_nothing(client, open_conversation, raw):
    conversation_id = open_conversation()
    before = client.get(f"/conversations/{conversation_id}").json
    for path in ("/tags", "/conversations/search", f"/conversations/{conversation_id}/reply"):
        response = client.post(path, data=raw, content_type="application/json")
        assert response.status_code == 400, path
        assert response.json["errors"][0]["code"] == "parameter_invalid"
    assert client.get(f"/conversations/{conversation_id}").json == before
    assert client.get("/tags").json["data"] == []


def test_unknown_ids_and_paths_get_404_not_found(client):
    for path in ("/conversations/1", "/contacts/x", "/articles/1", "/admins/1", "/nowhere"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json["type"] == "error.list"
    assert client.get("/companies/x").json["errors"][0]["code"] == "company_not_found"


@pytest.fixture
def seeded(make_app):
    client = make_app(
        seed=SeedOptions(help_center=False, articles=40, conversations=60)
    ).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer sandbox-test-token"
    return client


def _search(client, query, per_page=25, cursor=None):
    pagination = {"per_page": per_page} | ({"starting_after": cursor} if cursor else {})
    response = client.post("/conversations/search", json={"query": query, "pagination": pagination})
    assert response.status_code == 200, response.json
    return response.json


def test_search_closed_since_a_time_walks_every_page_once(seeded):
    everything = _search(seeded, {"field": "state", "operator": "=", "value": "closed"}, 150)
    stamps = sorted(c["updated_at"] for c in everything["conversations"])
    since = stamps[20]
    query = {"operator": "AND", "value": [
        {"field": "updated_at", "operator": ">", "value": since},
        {"field": "state", "operator": "=", "value": "closed"},
    ]}  # fmt: skip
    seen, cursor, pages = [], None, 0
    while True:
        page = _search(seeded, query, per_page=7, cursor=cursor)
        pages += 1
        seen += [c["id"] for c in page["conversations"]]
        assert "conversation_parts" not in (page["conversations"] or [{}])[0]
        cursor = (page["pages"].get("next") or {}).get("starting_after")
        if cursor is None:
            break
    expected = [c for c in everything["conversations"] if c["updated_at"] >= since]
    assert len(seen) == len(set(seen)) == len(expected) == page["total_count"] == 40
    assert pages == 6


def test_search_or_groups_string_timestamps_and_operators(seeded):
    email = _search(seeded, {"field": "source.type", "operator": "=", "value": "email"})
    chat = _search(seeded, {"field": "source.type", "operator": "!=", "value": "email"})
    both = _search(seeded, {"operator": "OR", "value": [
        {"field": "source.type", "operator": "=", "value": "email"},
        {"field": "source.type", "operator": "=", "value": "conversation"},
    ]})  # fmt: skip
    assert email["total_count"] + chat["total_count"] == both["total_count"] == 60
    as_text = _search(seeded, {"field": "created_at", "operator": ">", "value": "0"})
    assert as_text["total_count"] == 60
    refund = _search(seeded, {"field": "source.body", "operator": "~", "value": "REFUND"})
    assert 0 < refund["total_count"] < 60


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"query": {"field": "nope", "operator": "=", "value": 1}},
        {"query": {"field": "state", "operator": "LIKE", "value": "x"}},
        {"query": {"field": "updated_at", "operator": ">", "value": "yesterday"}},
        {"query": {"operator": "AND", "value": [{"field": "state", "operator": "=",
                                                 "value": "open"}] * 16}},
        {"query": {"operator": "AND", "value": [{"operator": "OR", "value": [
            {"operator": "AND", "value": [{"field": "id", "operator": "=", "value": "1"}]}]}]}},
        {"query": {"field": "state", "operator": "=", "value": "open"},
         "pagination": {"per_page": 151}},
        {"query": {"field": "state", "operator": "=", "value": "open"},
         "pagination": {"starting_after": "not-a-cursor"}},
    ],
)  # fmt: skip
def test_malformed_searches_get_400(seeded, body):
    response = seeded.post("/conversations/search", json=body)
    assert response.status_code == 400
    assert response.json["errors"][0]["code"] in ("parameter_invalid", "parameter_not_found")


def test_list_conversations_newest_first_with_cursor(seeded):
    first = seeded.get("/conversations?per_page=50").json
    second = seeded.get(
        f"/conversations?per_page=50&starting_after={first['pages']['next']['starting_after']}"
    ).json
    stamps = [c["updated_at"] for c in first["conversations"] + second["conversations"]]
    assert stamps == sorted(stamps, reverse=True) and len(stamps) == 60
    assert "next" not in second["pages"]


@pytest.mark.parametrize(
    "query", ["per_page=abc", "per_page=0", "per_page=151", "starting_after=%FF%00", "per_page=1e3"]
)
def test_malformed_list_parameters_get_400(seeded, query):
    response = seeded.get(f"/conversations?{query}")
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] in ("per_page", "starting_after")


def test_articles_paginate_by_page_newest_first(seeded):
    pages = [seeded.get(f"/articles?page={n}&per_page=15").json for n in (1, 2, 3, 4)]
    ids = [a["id"] for p in pages for a in p["data"]]
    assert len(ids) == len(set(ids)) == 40 and pages[3]["data"] == []
    assert pages[0]["pages"] == {"type": "pages", "page": 1, "per_page": 15, "total_pages": 3}
    stamps = [a["updated_at"] for p in pages for a in p["data"]]
    assert stamps == sorted(stamps, reverse=True)
    assert seeded.get("/articles?per_page=0").status_code == 400
    assert seeded.get("/articles?page=-1").status_code == 400


def test_fault_fails_matching_paths_at_the_given_rate_and_changes_nothing(
    client, open_conversation
):
    conversation_id = open_conversation()
    fault = {"status": 503, "rate": 1, "paths": ["/conversations/*/reply"]}
    assert client.post("/_sandbox/faults", json=fault).status_code == 201
    reply = {"message_type": "comment", "type": "admin", "admin_id": AI, "body": "x"}
    failed = client.post(f"/conversations/{conversation_id}/reply", json=reply)
    assert failed.status_code == 503 and failed.json["type"] == "error.list"
    conv, parts = _parts(client, conversation_id)
    assert parts == [] and conv["state"] == "open"
    assert client.get("/me").status_code == 200
    client.delete("/_sandbox/faults")
    assert client.post(f"/conversations/{conversation_id}/reply", json=reply).status_code == 200


def test_fault_rate_is_a_seeded_share_of_calls(client):
    client.post("/_sandbox/faults", json={"status": 500, "rate": 0.3, "seed": 1})
    first = [client.get("/admins").status_code for _ in range(200)]
    client.delete("/_sandbox/faults")
    client.post("/_sandbox/faults", json={"status": 500, "rate": 0.3, "seed": 1})
    second = [client.get("/admins").status_code for _ in range(200)]
    assert first == second
    assert 40 <= first.count(500) <= 80


def test_timeout_fault_answers_late_but_takes_effect(client, open_conversation):
    conversation_id = open_conversation()
    client.post("/_sandbox/faults", json={"status": "timeout", "rate": 1, "latency_ms": 200})
    assert client.get("/_sandbox/faults").json["faults"][0]["status"] == "timeout"
    started = time.monotonic()
    response = client.post(
        f"/conversations/{conversation_id}/reply",
        json={"message_type": "note", "type": "admin", "admin_id": AI, "body": "late"},
    )
    assert response.status_code == 200 and time.monotonic() - started >= 0.2
    assert len(_parts(client, conversation_id)[1]) == 1


def test_error_fault_sends_retry_after_when_asked(client):
    client.post("/_sandbox/faults", json={"status": 429, "rate": 1, "retry_after": 2})
    refused = client.get("/admins")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
    client.delete("/_sandbox/faults")
    client.post("/_sandbox/faults", json={"status": 503, "rate": 1})
    assert "Retry-After" not in client.get("/admins").headers


def _authed(app):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer sandbox-test-token"
    return client


def test_effect_first_fault_takes_effect_while_the_answer_is_still_held(app, open_conversation):
    conversation_id = open_conversation()
    client, reader = _authed(app), _authed(app)
    fault = {"status": "timeout", "rate": 1, "latency_ms": 1500, "effect_first": True,
             "paths": ["/conversations/*/reply"]}  # fmt: skip
    assert client.post("/_sandbox/faults", json=fault).json["faults"][0]["effect_first"] is True
    answers: list[int] = []
    note = {"message_type": "note", "type": "admin", "admin_id": AI, "body": "landed"}
    poster = threading.Thread(
        target=lambda: answers.append(
            client.post(f"/conversations/{conversation_id}/reply", json=note).status_code
        )
    )
    poster.start()
    deadline = time.monotonic() + 1.2
    while not _parts(reader, conversation_id)[1] and time.monotonic() < deadline:
        time.sleep(0.02)
    landed_while_held = bool(_parts(reader, conversation_id)[1]) and not answers
    poster.join(5)
    assert landed_while_held
    assert answers == [200]


def test_effect_first_error_fault_changes_the_conversation_yet_answers_the_error(
    client, open_conversation
):
    conversation_id = open_conversation()
    fault = {"status": 502, "rate": 1, "effect_first": True, "paths": ["/conversations/*/reply"]}
    client.post("/_sandbox/faults", json=fault)
    note = {"message_type": "note", "type": "admin", "admin_id": AI, "body": "landed"}
    failed = client.post(f"/conversations/{conversation_id}/reply", json=note)
    assert failed.status_code == 502 and failed.json["type"] == "error.list"
    assert [p["body"] for p in _parts(client, conversation_id)[1]] == ["landed"]
