"""HTML in both directions: customer HTML to plain text, and replies to HTML Intercom keeps.

Inbound, :func:`parse_html` reads a message body with the standard library's tolerant parser,
keeps paragraphs, line breaks, list items and links as text, drops scripts, styles and (for mail)
quoted history, and collects inline images. Outbound, :func:`text_to_html` turns a plain-text
draft into paragraphs, lists and anchors with every piece of text escaped, and
:func:`sanitize_reply_html` keeps only the tags Intercom's admin-reply sanitizer keeps (it strips
``<div>``, for one), so what deskmate sends is what the customer sees.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3

MAX_HTML_CHARS = 1_000_000
"""Bodies longer than this are cut before parsing; Intercom's own limits are far below it."""

REPLY_TAGS = frozenset({"p", "br", "a", "b", "strong", "i", "em", "ul", "ol", "li", "code", "pre"})
"""The tags a reply may carry: the formatting Intercom's reply sanitizer keeps."""

LINK_SCHEMES = frozenset({"http", "https", "mailto"})

_DROPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "iframe", "svg"})
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol", "pre"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr", "form", "fieldset"}
)
_VOID = frozenset({"br", "img", "hr", "input", "meta", "link", "area", "base", "col", "wbr"})
_QUOTE_CLASSES = frozenset({"gmail_quote", "gmail_attr", "yahoo_quoted", "moz-cite-prefix"})
_QUOTE_IDS = frozenset({"divrplyfwdmsg", "appendonsend"})
"""Outlook's markers: everything from them to the end of the body is the quoted mail."""
_TAG_HINT = re.compile(
    r"<\s*/?\s*(p|br|div|span|a|img|ul|ol|li|b|i|u|em|strong|h[1-6]|blockquote|pre|code|table"
    r"|html|body|script|style)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class InlineImage:
    """An ``<img>`` found in a message: its source URL and alternative text."""

    src: str
    alt: str = ""


@dataclass
class ParsedHtml:
    """The plain text of an HTML body and the inline images it shows."""

    text: str
    images: list[InlineImage] = field(default_factory=list)
    truncated: bool = False


def looks_like_html(body: str) -> bool:
    """Whether ``body`` is HTML; Intercom sends plain text in 2.15+ webhooks and HTML elsewhere."""
    return bool(_TAG_HINT.search(body))


def parse_html(body: str, *, drop_quoted: bool = False, link_urls: bool = True) -> ParsedHtml:
    """Convert an HTML (or plain-text) message body to text and list its inline images.

    :param body: the body as Intercom sent it; plain text is only normalised.
    :param drop_quoted: skip ``<blockquote>`` and the quote containers mail clients add
        (Gmail, Yahoo, Thunderbird, Outlook), whose content is earlier mail.
    :param link_urls: follow a link's label with its URL, ``label (url)``; off, only the label.
    """
    truncated = len(body) > MAX_HTML_CHARS
    body = body[:MAX_HTML_CHARS]
    if not looks_like_html(body):
        return ParsedHtml(_tidy(html.unescape(body)), truncated=truncated)
    parser = _TextExtractor(drop_quoted=drop_quoted, link_urls=link_urls)
    parser.feed(body)
    parser.close()
    return ParsedHtml(_tidy("".join(parser.out)), parser.images, truncated)


def html_to_text(body: str, *, drop_quoted: bool = False) -> str:
    """The plain text of ``body`` (see :func:`parse_html`)."""
    return parse_html(body, drop_quoted=drop_quoted).text


def visible_words(body: str) -> list[str]:
    """The words of ``body``'s visible text (HTML or plain text), NFKC-normalised and
    case-folded; list markers, link URLs and images left out.

    Every rendering of a body keeps these words in this order, whatever it does with lists,
    links, images and line breaks (Intercom's ``display_as=plaintext`` included), so they
    identify a posted body on a re-read.
    """
    text = parse_html(body, link_urls=False).text
    return re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())


def words_in_order(needle: list[str], haystack: list[str]) -> bool:
    """Whether every word of ``needle`` appears in ``haystack`` in the same order (other words
    may come between: a rendering's list numbers or link URLs)."""
    rest = iter(haystack)
    return all(word in rest for word in needle)


def _tidy(text: str) -> str:
    """Collapse runs of spaces, strip line ends, keep at most one blank line between blocks."""
    lines = [re.sub(r"[ \t\f\v\u00a0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _TextExtractor(HTMLParser):
    """A flat (never recursive) walk over the tags; safe on deep or broken markup."""

    def __init__(self, *, drop_quoted: bool, link_urls: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.drop_quoted = drop_quoted
        self.link_urls = link_urls
        self.out: list[str] = []
        self.images: list[InlineImage] = []
        self._skip_tag: str | None = None
        self._skip_depth = 0
        self._stopped = False
        self._links: list[tuple[str, int]] = []
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._stopped:
            return
        if self._skip_tag is not None:
            self._skip_depth += tag == self._skip_tag
            return
        values = {k: v or "" for k, v in attrs}
        if self.drop_quoted and values.get("id", "").lower() in _QUOTE_IDS:
            self._stopped = True
        elif tag in _DROPPED or (self.drop_quoted and self._is_quote(tag, values)):
            if tag not in _VOID:
                self._skip_tag, self._skip_depth = tag, 1
        else:
            self._open(tag, values)

    @staticmethod
    def _is_quote(tag: str, attrs: dict[str, str]) -> bool:
        """A quoted-mail container: skipped with its content."""
        return tag == "blockquote" or bool(_QUOTE_CLASSES & set(attrs.get("class", "").split()))

    def _open(self, tag: str, attrs: dict[str, str]) -> None:
        if tag in _BLOCKS:
            self.out.append("\n\n")
        if tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in {"td", "th"}:
            self.out.append(" ")
        elif tag == "pre":
            self._pre += 1
        elif tag == "a":
            if self._links:  # links do not nest: a new one closes the open one, as in browsers
                self._close_link(*self._links.pop())
            self._links.append((attrs.get("href", "").strip(), len(self.out)))
        elif tag == "img" and attrs.get("src", "").strip():
            self.images.append(InlineImage(attrs["src"].strip(), attrs.get("alt", "").strip()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._stopped:
            return
        if self._skip_tag is not None:
            self._skip_depth -= tag == self._skip_tag
            if self._skip_depth <= 0:
                self._skip_tag = None
            return
        if tag == "a" and self._links:
            self._close_link(*self._links.pop())
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in _BLOCKS:
            self.out.append("\n\n")

    def _close_link(self, href: str, start: int) -> None:
        label = "".join(self.out[start:]).strip()
        if not (self.link_urls and href and safe_url(href)):
            return
        if href not in label and href != f"mailto:{label}":
            self.out.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if self._stopped or self._skip_tag is not None:
            return
        self.out.append(data if self._pre else re.sub(r"\s+", " ", data))


def safe_url(url: str) -> str | None:
    """``url`` if it is an absolute http(s) or mailto link, else ``None`` (javascript:, data:…)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in LINK_SCHEMES:
        return None
    if parts.scheme.lower() != "mailto" and not parts.netloc:
        return None
    return url


def anchor(url: str, label: str | None = None) -> str:
    """An escaped ``<a href>`` to ``url``, or the escaped label alone when the URL is unsafe."""
    text = html.escape(label or url, quote=False)
    href = safe_url(url)
    if href is None:
        return text
    return f'<a href="{html.escape(href, quote=True)}">{text}</a>'


_MD_LINK = re.compile(r"\[([^\[\]\n]{1,300})\]\((https?://[^\s()<>]{1,2000})\)")
_BARE_URL = re.compile(r"https?://[^\s<>\"')\]]{1,2000}")
_BOLD = re.compile(r"\*\*([^*\n]{1,500})\*\*")
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,3}[.)]\s+(.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+(?=\S)")


def inline_html(text: str) -> str:
    """Escape one line of text, turning ``[label](url)``, bare URLs and ``**bold**`` into tags."""
    out: list[str] = []
    pos = 0
    for match in _iter_links(text):
        out.append(_escape_bold(text[pos : match[0]]))
        out.append(anchor(match[2], match[3]))
        pos = match[1]
    out.append(_escape_bold(text[pos:]))
    return "".join(out)


def _iter_links(text: str) -> list[tuple[int, int, str, str | None]]:
    """Markdown links and bare URLs in ``text`` as ``(start, end, url, label)``, in order."""
    found = [(m.start(), m.end(), m.group(2), m.group(1)) for m in _MD_LINK.finditer(text)]
    taken = [(s, e) for s, e, _, _ in found]
    for m in _BARE_URL.finditer(text):
        if not any(s <= m.start() < e for s, e in taken):
            url = m.group(0).rstrip(".,;:!?")
            found.append((m.start(), m.start() + len(url), url, None))
    return sorted(found)


def _escape_bold(text: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", html.escape(text, quote=False))


def text_to_html(text: str, *, max_sentences: int | None = None) -> str:
    """Render plain text as ``<p>`` paragraphs and ``<ul>``/``<ol>`` lists, all text escaped.

    :param max_sentences: split longer paragraphs into several of at most this many sentences
        (chat-style replies); ``None`` keeps paragraphs as written.
    """
    blocks = [b for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if b.strip()]
    return "".join(_block_html(block, max_sentences) for block in blocks)


def _block_html(block: str, max_sentences: int | None) -> str:
    lines = [line for line in block.split("\n") if line.strip()]
    for pattern, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
        items = [pattern.match(line) for line in lines]
        if all(items):
            lis = "".join(f"<li>{inline_html(m.group(1).strip())}</li>" for m in items if m)
            return f"<{tag}>{lis}</{tag}>"
    if max_sentences is None or len(lines) > 1:
        return "<p>" + "<br>".join(inline_html(line.strip()) for line in lines) + "</p>"
    sentences = _SENTENCE_END.split(lines[0].strip())
    chunks = [sentences[i : i + max_sentences] for i in range(0, len(sentences), max_sentences)]
    return "".join(f"<p>{inline_html(' '.join(chunk))}</p>" for chunk in chunks)


def sanitize_reply_html(body: str) -> str:
    """Keep only what Intercom's reply sanitizer keeps: :data:`REPLY_TAGS`, ``href`` on links.

    Scripts, styles and their content, event handlers, ``<div>`` and unsafe link schemes are
    removed. Every reply a channel renders passes through here last.
    """
    return nh3.clean(
        body,
        tags=set(REPLY_TAGS),
        attributes={"a": {"href"}},
        url_schemes=set(LINK_SCHEMES),
        link_rel=None,
        strip_comments=True,
    )
