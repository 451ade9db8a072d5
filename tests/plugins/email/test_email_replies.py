"""Email's format_reply: greeting in the customer's language, paragraphs, sources, sign-off."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from deskmate.core.config import Settings
from deskmate.core.domain import Author, Draft, Hit, LanguageGuess, Turn
from deskmate.core.intercom.models import Conversation
from deskmate.core.plugins import PluginHost
from deskmate.plugins import email
from deskmate.testing import make_conversation, make_host, make_message, make_turn


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return make_host(("email", email))


def email_turn(name: str | None = "Jane Doe", **overrides: object) -> Turn:
    author = Author("user", "contact-1", name, "jane@example.com")
    return make_turn(
        conversation=make_conversation(source_type="email", author=author),
        latest=make_message(author=author),
        **overrides,
    )


def render(host: PluginHost, draft: Draft, turn: Turn) -> str:
    return host.hook.format_reply(channel="email", draft=draft, turn=turn)


def test_an_email_reply_greets_by_first_name_and_signs_off(host: PluginHost) -> None:
    body = render(host, Draft("Your refund is on its way.\n\nIt takes 3 days.", 0.9), email_turn())
    assert body == (
        "<p>Hi Jane,</p><p>Your refund is on its way.</p><p>It takes 3 days.</p>"
        "<p>Best regards,</p>"
    )


@pytest.mark.parametrize(
    ("language", "greeting", "sign_off"),
    [
        ("de", "Hallo Jane,", "Viele Grüße"),
        ("fr-FR", "Bonjour Jane,", "Cordialement,"),
        ("es", "Hola Jane:", "Saludos cordiales,"),
        ("ja", "Hi Jane,", "Best regards,"),
    ],
)
def test_the_greeting_and_sign_off_follow_the_reply_language(
    host: PluginHost, language: str, greeting: str, sign_off: str
) -> None:
    body = render(host, Draft("Text.", 0.9, language=language), email_turn())
    assert body.startswith(f"<p>{greeting}</p>")
    assert body.endswith(f"<p>{sign_off}</p>")


def test_the_detected_conversation_language_is_used_when_the_draft_has_none(
    host: PluginHost,
) -> None:
    turn = email_turn(language=LanguageGuess("de", 0.9))
    assert render(host, Draft("Text.", 0.9), turn).startswith("<p>Hallo Jane,</p>")


@pytest.mark.parametrize("name", [None, "", "admin176@email.com", "1234"])
def test_without_a_usable_name_the_greeting_has_none(host: PluginHost, name: str | None) -> None:
    turn = email_turn(name)
    turn.conversation.source.author = Author("lead", "x", name)
    assert render(host, Draft("Text.", 0.9), turn).startswith("<p>Hi,</p>")


def test_the_name_on_the_opening_mail_is_used_when_the_latest_has_none(
    host: PluginHost, email_conversation: Conversation
) -> None:
    turn = make_turn(conversation=email_conversation, latest=make_message())
    assert render(host, Draft("Text.", 0.9), turn).startswith("<p>Hi Ciaran176,</p>")


def test_a_hostile_name_is_escaped(host: PluginHost) -> None:
    body = render(host, Draft("Text.", 0.9), email_turn("<script>alert(1)</script> Smith"))
    assert "<script" not in body
    assert body.startswith("<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;,</p>")


def test_greetings_sign_off_and_signature_are_configurable(
    host: PluginHost, email_settings: Callable[..., Settings]
) -> None:
    email_settings(
        greetings={"en": "Dear {first_name},"},
        sign_offs={"en": "Cheers,"},
        signature="The Acme team\n<b>support@acme.com</b>",
    )
    body = render(host, Draft("Text.", 0.9), email_turn())
    assert body == (
        "<p>Dear Jane,</p><p>Text.</p>"
        "<p>Cheers,<br>The Acme team<br>&lt;b&gt;support@acme.com&lt;/b&gt;</p>"
    )


def test_a_language_without_phrases_falls_back_to_the_default_language(
    host: PluginHost, email_settings: Callable[..., Settings]
) -> None:
    email_settings(default_language="de")
    assert render(host, Draft("Text.", 0.9, language="ja"), email_turn()).startswith("<p>Hallo")


def test_sources_are_a_list_of_links_and_internal_ones_are_left_out(host: PluginHost) -> None:
    citations = [
        Hit("a1", "Refund policy", "…", 0.9, "https://help.acme.com/refunds"),
        Hit("c1", "Old ticket", "…", 0.8, "https://app.intercom.com/c1", visibility="internal"),
    ]
    body = render(host, Draft("Text.", 0.9, citations, "en"), email_turn())
    assert (
        '<p>Related articles:</p><ul><li><a href="https://help.acme.com/refunds">Refund policy'
        "</a></li></ul>"
    ) in body
    assert "intercom.com/c1" not in body


def test_markup_in_the_draft_is_escaped_and_no_div_survives(host: PluginHost) -> None:
    body = render(host, Draft('<div onclick="x()">Hi</div><script>x()</script>', 0.9), email_turn())
    assert "<div" not in body and "<script" not in body
    assert "&lt;div onclick=" in body
