"""A post whose outcome was never recorded is found on the re-read, whatever its markup.

The run that posted died before recording Intercom's answer (or the answer never came), so the
action is still ``pending``; the next attempt re-reads the conversation as plain text and must
recognise the body it sent: lists, links, images, paragraphs and non-Latin text included.
Checked against the sandbox over real HTTP and against the shapes Intercom's OpenAPI description
documents (``data/SOURCE.txt``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.domain import (
    Author,
    EscalationReason,
    Handoff,
    Message,
    Route,
    Sentiment,
    Turn,
)
from deskmate.core.effects import Effects
from deskmate.core.handoff import handoff_note
from deskmate.core.intercom.client import IntercomClient, RetryPolicy
from deskmate.core.intercom.ratelimit import RateLimiter
from deskmate.core.lease_keeper import LeaseKeeper, LeaseLost
from deskmate.core.sandbox import SandboxServer
from deskmate.core.store.actions import begin_action, get_action
from deskmate.core.store.models import ActionStatus
from deskmate.core.store.sessions import get_or_open_session
from deskmate.testing import SANDBOX_AI_ADMIN_ID, TEST_APP_ID, make_host, make_workspace

SPEC_EXAMPLE = json.loads(
    (Path(__file__).parent / "data" / "reply-note-with-lists.spec-example.json").read_text()
)
HANDOFF = Handoff(
    reasons=[
        EscalationReason("asked_for_human", "The customer asked for a person."),
        EscalationReason("negative", "The customer is upset: «très déçu»."),
    ],
    summary="Charged twice for order #1042 & wants a refund.",
    sentiment=Sentiment("negative", -0.8, ("angry",)),
    language="fr",
    route=Route(),
    session_url="https://deskmate.example.com/sessions/7",
)
BODIES = {
    "handoff note": handoff_note(HANDOFF),
    "lists": (
        "<p>Try these steps:</p><ul><li>Open <b>Settings</b></li><li>Click Reset</li></ul>"
        "<ol><li>Wait a minute</li><li>Sign in again</li></ol>"
    ),
    "links": (
        '<p>Read <a href="https://help.example.com/reset">the reset guide</a> or '
        '<a href="https://help.example.com/faq">https://help.example.com/faq</a>.</p>'
    ),
    "image": (
        '<p>Here is where to click:</p><p><img src="https://help.example.com/shot.png" '
        'alt="a screenshot"></p><p>Then save.</p>'
    ),
    "paragraphs": "<p>First paragraph.</p><p>Second line<br>and a third &amp; last.</p>",
    "the spec's note example": SPEC_EXAMPLE["request"]["body"],
    "non-Latin": (
        "<p>您好\uff01请打开<b>设置</b>。</p><ul><li>Привет, мир</li><li>مرحبا بك</li></ul>"
        "<p>Ça va ? \uff46\uff55\uff4c\uff4c width</p>"  # fullwidth "full"
    ),
}


def make_turn(client: IntercomClient, conversation_id: str, trigger: str | None = None) -> Turn:
    latest = None if trigger is None else Message(trigger, Author("user", "contact-1"), "question")
    return Turn(
        workspace=client.workspace,
        conversation=client.get_conversation(conversation_id),
        channel="messenger",
        intercom=client,
        latest=latest,
    )


def effects_for(
    sessions: sessionmaker[Session], conversation_id: str, workspace_id: str = TEST_APP_ID
) -> Effects:
    with sessions.begin() as db:
        session_id = get_or_open_session(db, workspace_id, conversation_id, channel="messenger").id
    return Effects(
        make_host().hook,
        sessions,
        session_id=session_id,
        workspace_id=workspace_id,
        key_prefix=f"{workspace_id}:{conversation_id}:trigger",
    )


def in_flight(effects: Effects, kind: str, key: str, request: dict[str, Any]) -> None:
    """What a run killed mid-call leaves: the action begun, its outcome never recorded."""
    with effects.sessions.begin() as db:
        begin_action(
            db,
            session_id=effects.session_id,
            workspace_id=effects.workspace_id,
            idempotency_key=f"{effects.key_prefix}:{key}",
            kind=kind,
            request=request,
        )


def recorded(effects: Effects, key: str) -> tuple[str, dict[str, Any] | None]:
    with effects.sessions() as db:
        record = get_action(db, f"{effects.key_prefix}:{key}")
        assert record is not None
        return record.status, record.response


# -- the sandbox, over real HTTP --------------------------------------------------------------


@pytest.fixture
def sandbox_client(intercom_sandbox: SandboxServer) -> IntercomClient:
    workspace = make_workspace(base_url=intercom_sandbox.base_url, ai_admin_id=SANDBOX_AI_ADMIN_ID)
    return IntercomClient(workspace, limiter=RateLimiter(10_000))


CONTACT = {"name": "Ada", "email": "ada@example.com"}


def open_conversation(sandbox: SandboxServer, body: str = "I need help") -> str:
    response = requests.post(
        f"{sandbox.base_url}/_sandbox/conversations",
        json={
            "channel": "messenger",
            "body": body,
            "contact": {"name": "Ada", "email": "ada@example.com"},
        },
        timeout=5,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def ai_parts(client: IntercomClient, conversation_id: str, part_type: str) -> list[Any]:
    conversation = client.get_conversation(conversation_id, plaintext=False)
    return [
        p
        for p in conversation.parts
        if p.part_type == part_type and p.author.id == SANDBOX_AI_ADMIN_ID
    ]


@pytest.mark.parametrize("name", sorted(BODIES))
@pytest.mark.parametrize(("kind", "part_type"), [("note", "note"), ("reply", "comment")])
def test_a_post_made_before_a_crash_is_found_and_not_posted_again(
    intercom_sandbox: SandboxServer,
    sandbox_client: IntercomClient,
    store_sessions: sessionmaker[Session],
    name: str,
    kind: str,
    part_type: str,
) -> None:
    body = BODIES[name]
    conversation_id = open_conversation(intercom_sandbox)
    effects = effects_for(store_sessions, conversation_id)
    in_flight(effects, kind, kind, {"body": body})
    posted = sandbox_client.reply(
        conversation_id, body, admin_id=SANDBOX_AI_ADMIN_ID, message_type=part_type
    )
    posted_id = posted["conversation_parts"]["conversation_parts"][-1]["id"]

    turn = make_turn(sandbox_client, conversation_id)
    result = getattr(effects, kind)(turn, body)

    assert result.ok and result.detail.startswith("found on re-read"), result
    assert len(ai_parts(sandbox_client, conversation_id, part_type)) == 1
    assert recorded(effects, kind) == (
        ActionStatus.DONE,
        {"found": "on re-read", "part_id": posted_id},
    )


def test_an_unposted_body_is_posted_once_and_its_part_id_recorded(
    intercom_sandbox: SandboxServer,
    sandbox_client: IntercomClient,
    store_sessions: sessionmaker[Session],
) -> None:
    body = BODIES["handoff note"]
    conversation_id = open_conversation(intercom_sandbox)
    effects = effects_for(store_sessions, conversation_id)
    in_flight(effects, "note", "note", {"body": body})

    result = effects.note(make_turn(sandbox_client, conversation_id), body)

    notes = ai_parts(sandbox_client, conversation_id, "note")
    assert result.detail == "posted to Intercom" and len(notes) == 1
    status, response = recorded(effects, "note")
    assert status == ActionStatus.DONE and response["part_id"] == notes[0].id


def test_the_same_text_posted_before_the_triggering_message_is_not_taken_for_this_post(
    intercom_sandbox: SandboxServer,
    sandbox_client: IntercomClient,
    store_sessions: sessionmaker[Session],
) -> None:
    body = BODIES["handoff note"]
    conversation_id = open_conversation(intercom_sandbox)
    sandbox_client.reply(conversation_id, body, admin_id=SANDBOX_AI_ADMIN_ID, message_type="note")
    again = requests.post(
        f"{intercom_sandbox.base_url}/_sandbox/conversations/{conversation_id}/reply",
        json={"body": "Still charged twice, please help"},
        timeout=5,
    ).json()["part_id"]
    effects = effects_for(store_sessions, conversation_id)
    in_flight(effects, "note", "note", {"body": body})

    result = effects.note(make_turn(sandbox_client, conversation_id, trigger=again), body)

    assert result.detail == "posted to Intercom"
    assert len(ai_parts(sandbox_client, conversation_id, "note")) == 2


# -- the shapes Intercom's OpenAPI description documents -------------------------------------

SPEC_AI_ADMIN = str(SPEC_EXAMPLE["request"]["admin_id"])
US = "https://api.intercom.io"


def spec_conversation(note_body: str, author_id: str = SPEC_AI_ADMIN) -> dict[str, Any]:
    """The spec's reply answer with the note's body as a re-read would show it."""
    conversation = copy.deepcopy(SPEC_EXAMPLE["response"])
    note = conversation["conversation_parts"]["conversation_parts"][0]
    note["body"] = note_body
    note["author"]["id"] = author_id
    return conversation


STORED_HTML = SPEC_EXAMPLE["response"]["conversation_parts"]["conversation_parts"][0]["body"]
PLAINTEXT_RENDERINGS = {
    "stored HTML (no display_as)": STORED_HTML,
    "items on their own lines": "An Unordered HTML List\nCoffee\nTea\nMilk\n"
    "An Ordered HTML List\nCoffee\nTea\nMilk",
    "items numbered and bulleted": "An Unordered HTML List\n• Coffee\n• Tea\n• Milk\n\n"
    "An Ordered HTML List\n1. Coffee\n2. Tea\n3. Milk",
    "all on one line": "An Unordered HTML List Coffee Tea Milk "
    "An Ordered HTML List Coffee Tea Milk",
}


@pytest.fixture
def spec_client() -> IntercomClient:
    workspace = make_workspace(ai_admin_id=SPEC_AI_ADMIN)
    return IntercomClient(workspace, limiter=RateLimiter(10_000), retry=RetryPolicy(max_retries=0))


@pytest.mark.parametrize("rendering", sorted(PLAINTEXT_RENDERINGS))
def test_the_specs_note_with_lists_is_found_in_any_rendering_of_it(
    spec_client: IntercomClient,
    store_sessions: sessionmaker[Session],
    requests_mock: Any,
    rendering: str,
) -> None:
    conversation_id = SPEC_EXAMPLE["response"]["id"]
    body = SPEC_EXAMPLE["request"]["body"]
    requests_mock.get(
        f"{US}/conversations/{conversation_id}",
        json=spec_conversation(PLAINTEXT_RENDERINGS[rendering]),
    )
    effects = effects_for(store_sessions, conversation_id)
    in_flight(effects, "note", "note", {"body": body})

    result = effects.note(make_turn(spec_client, conversation_id), body)

    assert result.detail.startswith("found on re-read")
    assert [r.method for r in requests_mock.request_history] == ["GET", "GET"]
    assert recorded(effects, "note")[1] == {"found": "on re-read", "part_id": "133"}


def test_a_link_rendered_as_label_and_url_is_found(
    spec_client: IntercomClient, store_sessions: sessionmaker[Session], requests_mock: Any
) -> None:
    conversation_id = SPEC_EXAMPLE["response"]["id"]
    body = BODIES["links"]
    plaintext = (
        "Read the reset guide (https://help.example.com/reset) or "
        "https://help.example.com/faq (https://help.example.com/faq)."
    )
    requests_mock.get(f"{US}/conversations/{conversation_id}", json=spec_conversation(plaintext))
    effects = effects_for(store_sessions, conversation_id)
    in_flight(effects, "note", "note", {"body": body})

    assert effects.note(make_turn(spec_client, conversation_id), body).detail.startswith(
        "found on re-read"
    )


@pytest.mark.parametrize(
    ("shown", "author"),
    [
        ("An Unordered HTML List\nCoffee\nTea", SPEC_AI_ADMIN),
        (STORED_HTML, "1234567"),
    ],
    ids=["part of the text", "another admin's note"],
)
def test_a_note_that_is_not_this_post_is_not_taken_for_it(
    spec_client: IntercomClient,
    store_sessions: sessionmaker[Session],
    requests_mock: Any,
    shown: str,
    author: str,
) -> None:
    conversation_id = SPEC_EXAMPLE["response"]["id"]
    body = SPEC_EXAMPLE["request"]["body"]
    requests_mock.get(
        f"{US}/conversations/{conversation_id}", json=spec_conversation(shown, author)
    )
    posted = requests_mock.post(
        f"{US}/conversations/{conversation_id}/reply", json=SPEC_EXAMPLE["response"]
    )
    effects = effects_for(store_sessions, conversation_id)
    in_flight(effects, "note", "note", {"body": body})

    result = effects.note(make_turn(spec_client, conversation_id), body)

    assert result.detail == "posted to Intercom" and posted.call_count == 1
    assert recorded(effects, "note")[1]["part_id"] == "133"


# -- tags, assignments and attributes whose outcome was never recorded ------------------------

TEAM = "2000001"


def writes(sandbox: SandboxServer) -> list[tuple[str, str]]:
    """The write calls the sandbox received since the last look."""
    entries = requests.get(f"{sandbox.base_url}/_sandbox/requests", timeout=5).json()["requests"]
    requests.delete(f"{sandbox.base_url}/_sandbox/requests", timeout=5)
    return [(e["method"], e["path"]) for e in entries if e["method"] != "GET"]


def tag_it(client: IntercomClient, conversation_id: str) -> None:
    tag_id = client.find_or_create_tag("needs-human")
    client.attach_tag(conversation_id, tag_id, SANDBOX_AI_ADMIN_ID)


def assign_to_team(client: IntercomClient, conversation_id: str) -> None:
    client.assign(conversation_id, admin_id=SANDBOX_AI_ADMIN_ID, assignee_id=TEAM, type="team")


def set_attributes(client: IntercomClient, conversation_id: str) -> None:
    client.update_conversation_attributes(conversation_id, {"handoff_reason": "asked_for_human"})


WRITES = {
    "tag": ("tag:needs-human", {"name": "needs-human"}, tag_it),
    "assign": ("assign", {"mode": "team", "admin_id": None, "team_id": TEAM}, assign_to_team),
    "attributes": (
        "attributes",
        {"attributes": {"handoff_reason": "asked_for_human"}},
        set_attributes,
    ),
}


def act(effects: Effects, turn: Turn, kind: str) -> Any:
    request = WRITES[kind][1]
    if kind == "tag":
        return effects.tag(turn, request["name"])
    if kind == "assign":
        return effects.assign(turn, Route(**request))
    return effects.set_attributes(turn, request["attributes"])


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_a_write_made_before_a_crash_is_found_and_not_made_again(
    intercom_sandbox: SandboxServer,
    sandbox_client: IntercomClient,
    store_sessions: sessionmaker[Session],
    kind: str,
) -> None:
    key, request, write = WRITES[kind]
    conversation_id = open_conversation(intercom_sandbox)
    effects = effects_for(store_sessions, conversation_id)
    in_flight(effects, kind, key, request)
    write(sandbox_client, conversation_id)
    writes(intercom_sandbox)

    result = act(effects, make_turn(sandbox_client, conversation_id), kind)

    assert result.ok and result.detail.startswith("found on re-read"), result
    assert writes(intercom_sandbox) == []
    status, response = recorded(effects, key)
    assert status == ActionStatus.DONE and response["found"] == "on re-read"
    assignments = ai_parts(sandbox_client, conversation_id, "assignment")
    assert len(assignments) == (kind == "assign")


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_a_write_that_did_not_happen_before_a_crash_is_made_once(
    intercom_sandbox: SandboxServer,
    sandbox_client: IntercomClient,
    store_sessions: sessionmaker[Session],
    kind: str,
) -> None:
    key, request, _ = WRITES[kind]
    conversation_id = open_conversation(intercom_sandbox)
    effects = effects_for(store_sessions, conversation_id)
    in_flight(effects, kind, key, request)
    writes(intercom_sandbox)

    result = act(effects, make_turn(sandbox_client, conversation_id), kind)

    assert result.detail == "posted to Intercom"
    made = [call for call in writes(intercom_sandbox) if call != ("POST", "/tags")]
    assert len(made) == 1, made
    conversation = sandbox_client.get_conversation(conversation_id)
    assert {
        "tag": "needs-human" in conversation.tags,
        "assign": conversation.team_assignee_id == TEAM,
        "attributes": conversation.custom_attributes.get("handoff_reason") == "asked_for_human",
    }[kind]


def test_an_assignment_changed_by_a_rep_since_is_still_found_by_its_part(
    intercom_sandbox: SandboxServer,
    sandbox_client: IntercomClient,
    store_sessions: sessionmaker[Session],
) -> None:
    key, request, write = WRITES["assign"]
    conversation_id = open_conversation(intercom_sandbox)
    effects = effects_for(store_sessions, conversation_id)
    in_flight(effects, "assign", key, request)
    write(sandbox_client, conversation_id)
    requests.post(
        f"{intercom_sandbox.base_url}/_sandbox/conversations/{conversation_id}/assign",
        json={"team_id": "2000002"},
        timeout=5,
    ).raise_for_status()
    ours = ai_parts(sandbox_client, conversation_id, "assignment")[0].id

    result = act(effects, make_turn(sandbox_client, conversation_id), "assign")

    assert result.detail.startswith("found on re-read")
    assert recorded(effects, "assign")[1] == {"found": "on re-read", "part_id": ours}


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_a_run_that_lost_its_conversation_makes_no_write(
    intercom_sandbox: SandboxServer,
    sandbox_client: IntercomClient,
    store_sessions: sessionmaker[Session],
    kind: str,
) -> None:
    conversation_id = open_conversation(intercom_sandbox)
    effects = effects_for(store_sessions, conversation_id)
    writes(intercom_sandbox)

    with LeaseKeeper(lambda: False, period=60) as keeper:
        keeper.lost = True  # as the keeper finds when another run holds the lease
        with pytest.raises(LeaseLost):
            act(effects, make_turn(sandbox_client, conversation_id), kind)

    assert writes(intercom_sandbox) == []
    with effects.sessions() as db:
        assert get_action(db, f"{effects.key_prefix}:{WRITES[kind][0]}") is None
