"""An extractive summary for handoff and resolution notes: what the customer needs, in their words.

It quotes the customer's opening question and latest message (the sentence that asks, when one
does) and lists facts worth a rep's glance: order and ticket numbers, error codes, amounts, emails.
Plain text; the note's renderer escapes it.
"""

from __future__ import annotations

import re

from deskmate.core.brain.text import MAX_MATCH_CHARS, sentences
from deskmate.core.domain import Message, Turn

MAX_SENTENCE_CHARS = 200
MAX_FACTS = 5
_QUESTION = re.compile(r"[?\uff1f]|^(how|what|why|when|where|can|could|is|are|do|does)\b", re.I)
_FACT = re.compile(
    r"#\s?\d{3,}|\b[A-Z]{2,5}-\d{2,}\b|\b(?:error|code|erreur|fehler|errore|erro|fout)\s*:?\s*"
    r"[A-Z0-9-]{2,}\b|[$€£¥]\s?\d+(?:[.,]\d+)*|\b\d+(?:[.,]\d+)*\s?(?:EUR|USD|GBP|JPY)\b"
    r"|[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+",
    re.I,
)


def _clip(text: str, limit: int = MAX_SENTENCE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def key_sentence(text: str) -> str:
    """The sentence of ``text`` that asks something, else its first sentence."""
    parts = sentences(text) or [text]
    asking = next((s for s in parts if _QUESTION.search(s)), parts[0])
    return _clip(asking)


def facts(texts: list[str]) -> list[str]:
    """Distinct order numbers, codes, amounts and emails found in ``texts``, first seen first."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in _FACT.finditer(text[:MAX_MATCH_CHARS]):
            seen.setdefault(match.group().strip(), None)
    return list(seen)[:MAX_FACTS]


def _customer_messages(turn: Turn) -> list[Message]:
    messages = [m for m in turn.messages if m.author.is_customer and m.text.strip()]
    latest = turn.latest
    if (
        latest is not None
        and latest.text.strip()
        and all(m.part_id != latest.part_id for m in messages)
    ):
        messages.append(latest)
    return messages


def summarize(turn: Turn) -> str:
    """A few plain-text lines: the need, the latest message, facts and the message count."""
    messages = _customer_messages(turn)
    if not messages:
        return "The customer has not written anything yet."
    first, latest = messages[0], turn.latest or messages[-1]
    lines = [f"Customer needs: {key_sentence(first.text)}"]
    if latest.part_id != first.part_id and latest.text.strip():
        lines.append(f"Latest message: {key_sentence(latest.text)}")
    found = facts([m.text for m in messages])
    if found:
        lines.append("Details: " + ", ".join(_clip(f, 80) for f in found))
    lines.append(f"Customer messages: {len(messages)}")
    return "\n".join(lines)
