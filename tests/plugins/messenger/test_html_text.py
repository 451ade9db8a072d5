"""HTML to text (deskmate.core.html), the inbound half both channels use."""

from __future__ import annotations

import time

import pytest

from deskmate.core.html import html_to_text, parse_html, safe_url, text_to_html


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("<p>a<br>b<br/>c</p>", "a\nb\nc"),
        ('<a href="https://x.test/a">https://x.test/a</a>', "https://x.test/a"),
        ('<a href="mailto:jo@x.test">jo@x.test</a>', "jo@x.test"),
        ('<a href="javascript:alert(1)">click</a>', "click"),
        ('<a href="/relative">here</a>', "here"),
        ("<pre>  keep\n    indent</pre>", "keep\nindent"),
        ("<p>caf&eacute; &lt;tag&gt; &#128512;</p>", "café <tag> \U0001f600"),
        ("<p>unclosed <b>bold <i>both", "unclosed bold both"),
        ("<table><tr><td>a</td><td>b</td></tr></table>", "a b"),
        ("<p>   lots   of\n\n   space </p>", "lots of space"),
        ("<head><title>T</title></head><body>x</body>", "x"),
        ("<svg><script>x()</script><text>drawn</text></svg>ok", "ok"),
        ("<script>never closed", ""),
        ("<p>a</p></div></div></blockquote><p>b</p>", "a\n\nb"),
    ],
)
def test_html_becomes_readable_text(body: str, text: str) -> None:
    assert html_to_text(body) == text


def test_deeply_nested_markup_is_walked_without_recursion() -> None:
    assert html_to_text("<div>" * 80_000 + "deep" + "</div>" * 80_000) == "deep"


def test_quoted_containers_are_dropped_only_when_asked() -> None:
    body = "<p>new</p><blockquote><blockquote>old</blockquote>older</blockquote><p>end</p>"
    assert html_to_text(body) == "new\n\nold\n\nolder\n\nend"
    assert html_to_text(body, drop_quoted=True) == "new\n\nend"


def test_inline_images_are_collected_with_their_alt_text() -> None:
    parsed = parse_html('<p>see <img src=" https://cdn.test/a.png " alt="error"><img alt="x"></p>')
    assert [(i.src, i.alt) for i in parsed.images] == [("https://cdn.test/a.png", "error")]
    assert parsed.text == "see"


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://x.test/a?b=1", True),
        ("mailto:a@x.test", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//x.test/a", False),
        ("https://", False),
        ("http://[::1", False),
    ],
)
def test_only_absolute_web_and_mail_links_are_safe(url: str, safe: bool) -> None:
    assert (safe_url(url) is not None) is safe


def test_plain_text_renders_as_escaped_paragraphs() -> None:
    assert text_to_html("a < b & c\nnext line\n\n  \n\nend") == (
        "<p>a &lt; b &amp; c<br>next line</p><p>end</p>"
    )


def test_thousands_of_unclosed_links_are_read_in_linear_time() -> None:
    body = "<a href='https://x.test/y'>a" * 30_000 + "</a>" * 30_000
    started = time.perf_counter()
    text = html_to_text(body)
    assert time.perf_counter() - started < 2
    assert text.startswith("a (https://x.test/y)a (https://x.test/y)")
