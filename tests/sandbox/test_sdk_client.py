"""The official python-intercom SDK, an independent client, reads the sandbox over real HTTP."""

from __future__ import annotations

import pytest
import requests
from intercom import Intercom
from intercom.core.api_error import ApiError

from deskmate.core.sandbox import SandboxServer, SeedOptions

TOKEN = "sandbox-test-token"


@pytest.fixture
def served(make_app):
    app = make_app(seed=SeedOptions(articles=20))
    with SandboxServer(app) as server:
        yield server


@pytest.fixture
def sdk(served):
    return Intercom(token=TOKEN, base_url=served.base_url, timeout=5)


def test_sdk_identifies_the_ai_admin_and_lists_admins_and_teams(sdk):
    me = sdk.admins.identify()
    assert (me.id, me.name, me.app.id_code) == ("1000001", "Deskmate AI", "testapp")
    admins = sdk.admins.list().admins
    assert [a.name for a in admins] == ["Deskmate AI", "Riley Moreno", "Sam Okafor"]
    assert [t.name for t in sdk.teams.list().teams] == ["Support", "Billing"]


def test_sdk_reads_a_conversation_with_the_parts_deskmate_posted(sdk, served):
    created = requests.post(
        f"{served.base_url}/_sandbox/conversations",
        json={"channel": "messenger", "body": "Need a refund",
              "contact": {"name": "Ada", "email": "ada@example.com"}},
        timeout=5,
    ).json()  # fmt: skip
    sdk.conversations.reply(
        conversation_id=created["id"],
        request={"message_type": "note", "type": "admin", "admin_id": "1000001",
                 "body": "<p>Customer wants a <b>refund</b></p>"},
    )  # fmt: skip
    conv = sdk.conversations.find(created["id"], display_as="plaintext")
    assert conv.source.body == "Need a refund" and conv.source.type == "conversation"
    part = conv.conversation_parts.conversation_parts[0]
    assert (part.part_type, part.body, part.author.id) == (
        "note",
        "Customer wants a refund",
        "1000001",
    )


def test_sdk_pages_through_articles_with_translations(sdk):
    articles = list(sdk.articles.list(per_page=7))
    assert len(articles) == 26  # six hand-written plus twenty generated
    translated = next(a for a in articles if a.title == "How do I reset my password?")
    assert translated.translated_content.fr.title == "Comment réinitialiser mon mot de passe ?"


def test_sdk_sees_intercoms_401_for_a_wrong_token(served):
    wrong = Intercom(token="wrong", base_url=served.base_url, timeout=5)
    with pytest.raises(ApiError) as caught:
        wrong.admins.identify()
    assert caught.value.status_code == 401
    assert caught.value.body["errors"][0]["code"] == "unauthorized"
