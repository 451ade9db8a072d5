"""Message bodies: plain text typed by a simulated customer → HTML, admin HTML → sanitised HTML,
and HTML → plain text for ``display_as=plaintext`` (inline links become ``label (url)``)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import nh3

# What Intercom's admin-reply sanitiser keeps; it strips ``<div>`` (Intercom-OpenAPI #654).
ALLOWED_TAGS = {
    "p", "br", "a", "b", "strong", "i", "em", "u", "ul", "ol", "li", "code", "pre",
    "h1", "h2", "h3", "blockquote", "img",
}  # fmt: skip
_BLOCK_TAGS = {"p", "br", "li", "h1", "h2", "h3", "pre", "blockquote", "ul", "ol", "div", "tr"}


def plain_to_html(text: str) -> str:
    """Render a customer's plain text the way Intercom stores it: ``<p>`` per paragraph."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.splitlines()) + "</p>"
        for p in paragraphs
    )


def sanitize_admin_html(body: str) -> str:
    """Keep only the tags Intercom keeps in admin replies and notes."""
    return nh3.clean(body, tags=ALLOWED_TAGS)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._href: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.chunks.append("\n")
        if tag == "a":
            self._href.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href:
            href = self._href.pop()
            if href:
                self.chunks.append(f" ({href})")
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def html_to_plain(body: str) -> str:
    """Plain text of an HTML body, paragraphs on their own lines."""
    parser = _TextExtractor()
    parser.feed(body)
    parser.close()
    text = "".join(parser.chunks)
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)
