"""The sandbox's answers validate against Intercom's own OpenAPI 2.16 response schemas."""

from __future__ import annotations

import pytest

AI = "1000001"
V216 = {"Intercom-Version": "2.16"}


@pytest.fixture
def busy(client):
    """A conversation with a contact, a company, parts, a tag, an assignee and attributes."""
    created = client.post(
        "/_sandbox/conversations",
        json={
            "channel": "email",
            "subject": "Double charge",
            "body": "I was charged twice",
            "contact": {"name": "Ada", "email": "ada@example.com",
                        "custom_attributes": {"plan": "pro", "seats": 12}},
            "company": {"name": "Engines Ltd", "custom_attributes": {"tier": "gold"}},
        },
    ).json  # fmt: skip
    conversation_id = created["id"]
    tag = client.post("/tags", json={"name": "opencx_handed_off"}).json
    client.post(f"/conversations/{conversation_id}/tags", json={"id": tag["id"], "admin_id": AI})
    client.post(f"/_sandbox/conversations/{conversation_id}/reply", json={"body": "Hello?"})
    client.post(
        f"/conversations/{conversation_id}/reply",
        json={"message_type": "note", "type": "admin", "admin_id": AI, "body": "<p>Summary</p>"},
    )
    client.post(
        f"/conversations/{conversation_id}/parts",
        json={"message_type": "assignment", "type": "team", "admin_id": AI,
              "assignee_id": "2000002"},
    )  # fmt: skip
    client.put(f"/conversations/{conversation_id}", json={"custom_attributes": {"reason": "x"}})
    client.post(f"/_sandbox/conversations/{conversation_id}/close", json={})
    return created


def _check(client, spec, spec_path, method, url, **kwargs):
    response = getattr(client, method)(url, headers=V216, **kwargs)
    assert response.status_code == 200, response.json
    spec.response(spec_path, method).validate(response.json)
    return response.json


@pytest.mark.parametrize(
    ("spec_path", "url"),
    [
        ("/me", "/me"),
        ("/admins", "/admins"),
        ("/admins/{admin_id}", f"/admins/{AI}"),
        ("/teams", "/teams"),
        ("/teams/{team_id}", "/teams/2000001"),
        ("/tags", "/tags"),
        ("/articles", "/articles?per_page=50"),
        ("/conversations", "/conversations"),
    ],
)
def test_workspace_reads_match_the_spec(client, busy, spec, spec_path, url):
    _check(client, spec, spec_path, "get", url)


def test_conversation_contact_company_and_article_match_the_spec(client, busy, spec):
    conv = _check(
        client, spec, "/conversations/{conversation_id}", "get",
        f"/conversations/{busy['id']}",
    )  # fmt: skip
    parts = conv["conversation_parts"]["conversation_parts"]
    assert [p["part_type"] for p in parts] == ["comment", "note", "assignment", "close"]
    _check(client, spec, "/contacts/{contact_id}", "get",
           f"/contacts/{busy['contact_id']}")  # fmt: skip
    _check(client, spec, "/contacts/{contact_id}/companies", "get",
           f"/contacts/{busy['contact_id']}/companies")  # fmt: skip
    _check(client, spec, "/companies/{company_id}", "get",
           f"/companies/{busy['company_id']}")  # fmt: skip
    article_id = client.get("/articles").json["data"][0]["id"]
    _check(client, spec, "/articles/{article_id}", "get", f"/articles/{article_id}")


def test_write_answers_and_search_match_the_spec(client, busy, spec):
    url = f"/conversations/{busy['id']}"
    note = {"message_type": "comment", "type": "admin", "admin_id": AI, "body": "Done"}
    _check(
        client, spec, "/conversations/{conversation_id}/reply", "post", f"{url}/reply", json=note
    )
    close = {"message_type": "close", "type": "admin", "admin_id": AI}
    _check(
        client, spec, "/conversations/{conversation_id}/parts", "post", f"{url}/parts", json=close
    )
    attributes = {"custom_attributes": {"n": 3}}
    _check(client, spec, "/conversations/{conversation_id}", "put", url, json=attributes)
    _check(client, spec, "/tags", "post", "/tags", json={"name": "vip"})
    tag = {"id": client.get("/tags").json["data"][0]["id"], "admin_id": AI}
    _check(client, spec, "/conversations/{conversation_id}/tags", "post", f"{url}/tags", json=tag)
    query = {"query": {"field": "state", "operator": "=", "value": "closed"}}
    found = _check(
        client, spec, "/conversations/search", "post", "/conversations/search", json=query
    )
    assert found["total_count"] == 1


def test_error_bodies_match_the_error_schema(app, spec):
    bare = app.test_client()
    for response in (bare.get("/me"), bare.get("/conversations/1")):
        spec.component("error").validate(response.json)
        assert response.status_code in (401, 404)


def test_the_validator_rejects_a_wrong_shape(spec):
    from jsonschema import ValidationError

    with pytest.raises(ValidationError):
        spec.response("/admins", "get").validate({"type": "admin.list", "admins": [{"id": 5}]})
