"""Documents cut into passages at their headings: the unit the brain searches and cites.

HTML is cut at ``<h1>`` to ``<h4>``, Markdown at ``#`` headings, plain text at blank lines; a long
section is cut again at paragraph breaks (and a huge paragraph at a space), so every passage stays
near :data:`MAX_PASSAGE_CHARS`. Used by the Help Center sync and by ``deskmate knowledge add``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from deskmate.core.html import html_to_text
from deskmate.core.store.knowledge import PassageText

MAX_PASSAGE_CHARS = 1200
_HTML_HEADING = re.compile(r"<h([1-4])[^>]*>(.*?)</h\1>", re.IGNORECASE | re.DOTALL)
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def split_html(html: str) -> list[PassageText]:
    """Passages of an HTML document, each under the heading it follows."""
    return _split(html, _HTML_HEADING, 2, html_to_text)


def split_markdown(markdown: str) -> list[PassageText]:
    """Passages of a Markdown document, each under the ``#`` heading it follows."""
    return _split(markdown, _MD_HEADING, 1, _markdown_text)


def split_text(text: str) -> list[PassageText]:
    """Passages of plain text, cut at blank lines."""
    return list(chunks(text, None))


def _split(
    source: str, heading: re.Pattern[str], group: int, to_text: Callable[[str], str]
) -> list[PassageText]:
    pieces: list[PassageText] = []
    current: str | None = None
    position = 0
    for match in heading.finditer(source):
        pieces.extend(chunks(to_text(source[position : match.start()]), current))
        current = to_text(match.group(group)).strip() or None
        position = match.end()
    pieces.extend(chunks(to_text(source[position:]), current))
    return pieces


def _markdown_text(markdown: str) -> str:
    """Markdown as reading text: emphasis marks and link targets dropped, words kept."""
    text = re.sub(r"!?\[([^\]]*)\]\(([^)\s]*)[^)]*\)", r"\1 (\2)", markdown)
    text = re.sub(r"(\*\*|__|`)", "", text)
    return text.strip()


def chunks(text: str, heading: str | None) -> Iterator[PassageText]:
    """``text`` in passages of about :data:`MAX_PASSAGE_CHARS`, cut at paragraph breaks."""
    chunk = ""
    for paragraph in (p.strip() for p in re.split(r"\n\s*\n", text)):
        if not paragraph:
            continue
        while len(paragraph) > MAX_PASSAGE_CHARS:
            cut = paragraph.rfind(" ", 0, MAX_PASSAGE_CHARS)
            cut = cut if cut > MAX_PASSAGE_CHARS // 2 else MAX_PASSAGE_CHARS
            if chunk:
                yield PassageText(chunk, heading)
                chunk = ""
            yield PassageText(paragraph[:cut].strip(), heading)
            paragraph = paragraph[cut:].strip()
        if chunk and len(chunk) + len(paragraph) > MAX_PASSAGE_CHARS:
            yield PassageText(chunk, heading)
            chunk = ""
        chunk = f"{chunk}\n\n{paragraph}" if chunk else paragraph
    if chunk:
        yield PassageText(chunk, heading)
