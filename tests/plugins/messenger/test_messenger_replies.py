"""Messenger's format_reply: short chat paragraphs in HTML that Intercom's sanitizer keeps."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from deskmate.core.config import Settings
from deskmate.core.domain import Draft, Hit
from deskmate.core.html import REPLY_TAGS, sanitize_reply_html
from deskmate.core.plugins import PluginHost
from deskmate.plugins import messenger
from deskmate.testing import make_host, make_turn


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return make_host(("messenger", messenger))


def render(host: PluginHost, text: str, citations: list[Hit] | None = None) -> str:
    draft = Draft(text, 0.9, citations or [])
    return host.hook.format_reply(channel="messenger", draft=draft, turn=make_turn())


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(body: str) -> list[tuple[str, dict[str, str | None]]]:
    """The elements a browser would build from ``body``, with their attributes."""
    parser = _Elements()
    parser.feed(body)
    return parser.found


def tags_in(body: str) -> set[str]:
    return {tag for tag, _ in elements(body)}


def test_long_paragraphs_become_short_chat_paragraphs(host: PluginHost) -> None:
    body = render(host, "One. Two! Three? Four. Five.")
    assert body == "<p>One. Two!</p><p>Three? Four.</p><p>Five.</p>"


def test_paragraph_length_is_configurable(
    host: PluginHost, messenger_settings: Callable[..., Settings]
) -> None:
    messenger_settings(paragraph_sentences=3)
    assert render(host, "One. Two. Three. Four.") == "<p>One. Two. Three.</p><p>Four.</p>"


def test_links_become_anchors_and_lists_stay_lists(host: PluginHost) -> None:
    body = render(
        host,
        "Try these:\n\n- [Reset guide](https://help.acme.com/reset)\n- https://acme.com/status",
    )
    assert body == (
        "<p>Try these:</p><ul>"
        '<li><a href="https://help.acme.com/reset">Reset guide</a></li>'
        '<li><a href="https://acme.com/status">https://acme.com/status</a></li></ul>'
    )


def test_citations_are_links_to_public_sources_only(host: PluginHost) -> None:
    citations = [
        Hit("a1", "Reset your password", "…", 0.9, "https://help.acme.com/a1"),
        Hit("a1-again", "Reset your password", "…", 0.8, "https://help.acme.com/a1"),
        Hit(
            "c7",
            "Past conversation",
            "…",
            0.7,
            "https://app.intercom.com/c7",
            "conversation",
            "internal",
        ),
        Hit("x", "No link", "…", 0.6, None),
        Hit("js", "Evil", "…", 0.5, "javascript:alert(1)"),
    ]
    body = render(host, "Here is how.", citations)
    assert body == (
        "<p>Here is how.</p>"
        '<p>Sources: <a href="https://help.acme.com/a1">Reset your password</a></p>'
    )


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>Hello",
        '<div onclick="x()">Hello</div>',
        '<img src=x onerror="steal()">',
        "<style>body{display:none}</style>",
        "[click](javascript:alert(1))",
        '<a href="https://ok.test" onmouseover="x()">ok</a>',
    ],
)
def test_markup_in_a_draft_is_shown_as_text_never_run(host: PluginHost, text: str) -> None:
    body = render(host, text)
    found = elements(body)
    assert {tag for tag, _ in found} <= {"p", "a"}
    assert all(set(attrs) <= {"href"} for _, attrs in found)
    assert all((attrs.get("href") or "https:").startswith("https:") for _, attrs in found)


def test_hostile_citation_titles_are_escaped(host: PluginHost) -> None:
    hit = Hit("a", '"><img src=x onerror=alert(1)>', "…", 0.9, "https://help.acme.com/a?x=1&y=2")
    body = render(host, "See:", [hit])
    assert "<img" not in body
    assert 'href="https://help.acme.com/a?x=1&amp;y=2"' in body


def test_replies_only_use_tags_intercom_keeps(host: PluginHost) -> None:
    body = render(host, "**Done.** Use `x`.\n\n1. First\n2. Second\n\nLine\nbreak")
    assert tags_in(body) <= REPLY_TAGS
    assert "div" not in tags_in(body)


def test_an_empty_draft_renders_empty(host: PluginHost) -> None:
    assert render(host, "   \n\n ") == ""


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ('<div onclick="x()"><p>Hi</p></div>', "<p>Hi</p>"),
        ("<p>a<script>steal()</script><style>p{}</style>b</p>", "<p>ab</p>"),
        ('<a href="javascript:alert(1)" onmouseover="x()">x</a>', "<a>x</a>"),
        (
            '<a href="https://ok.test/a" target="_blank" style="x">ok</a>',
            '<a href="https://ok.test/a">ok</a>',
        ),
        ('<img src="https://ok.test/a.png" onerror="x()"><h1>Title</h1>', "Title"),
        ("<ul><li><b>1</b></li></ul><!-- secret -->", "<ul><li><b>1</b></li></ul>"),
    ],
)
def test_the_sanitizer_keeps_only_what_intercom_keeps(dirty: str, clean: str) -> None:
    assert sanitize_reply_html(dirty) == clean
