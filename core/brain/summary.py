"""An extractive summary for handoff and resolution notes: the whole conversation, in its words.

Every distinct need the customer voiced (the sentence of each message that asks, skipping
acknowledgements, repeats and sentences that only vent), their latest message, what the AI
already answered (the first sentence of each reply) and facts worth a rep's glance: order and
ticket numbers, error codes, amounts, dates, emails. Plain text; the note's renderer escapes it.
"""

from __future__ import annotations

import re

from deskmate.core.brain.conversation import is_acknowledgement, is_ai_reply
from deskmate.core.brain.sentiment import frustration_cues
from deskmate.core.brain.text import MAX_MATCH_CHARS, asks, sentences, term_set
from deskmate.core.domain import Message, Turn

MAX_SENTENCE_CHARS = 200
MAX_ANSWER_CHARS = 120
MAX_NEEDS = 5
MAX_ANSWERS = 3
MAX_FACTS = 8
SAME_NEED = 0.6
"""Term overlap (Jaccard) at which two asking sentences are the same need."""
_MONTHS = (
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?"
    r"|oct(ober)?|nov(ember)?|dec(ember)?"
)
_FACT = re.compile(
    r"#\s?\d{3,}|\b[A-Z]{2,5}-\d{2,}\b|\b(?:error|code|erreur|fehler|errore|erro|fout)\s*:?\s*"
    r"[A-Z0-9-]{2,}\b|[$€£¥]\s?\d+(?:[.,]\d+)*|\b\d+(?:[.,]\d+)*\s?(?:EUR|USD|GBP|JPY|€|\$)"
    r"|\b(?:order|invoice|ticket|case|pedido|commande|bestellung|ordine)\s+(?:n[o°º]\.?\s*)?"
    r"\d{3,}\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)? (?:{_MONTHS})\b|\b(?:{_MONTHS}) \d{{1,2}}(?:st|nd|rd|th)?\b"
    r"|[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+",
    re.I,
)


_GREETING = re.compile(
    r"^(hi|hello|hey|dear \w+|hola|bonjour|salut|hallo|ola|olá|ciao|buongiorno|hoi|goedendag)"
    r"( there| team| all)?\b[\s,!.:-]*",
    re.I,
)


def _clip(text: str, limit: int = MAX_SENTENCE_CHARS) -> str:
    text = _GREETING.sub("", " ".join(text.split())) or text
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def key_sentence(text: str) -> str:
    """The sentence of ``text`` that asks something, else the first of those that vent least."""
    parts = sentences(text) or [text]
    asking = next((s for s in parts if asks(s)), None)
    if asking is not None:
        return _clip(asking)
    return _clip(min(parts, key=lambda s: len(frustration_cues(s))))


def needs(texts: list[str]) -> list[str]:
    """The distinct needs in the customer's messages: each one's asking sentences (the first
    message's key sentence when it asks nothing), repeats and acknowledgements left out."""
    found: list[tuple[str, frozenset[str]]] = []
    for number, text in enumerate(texts):
        if is_acknowledgement(text):
            continue
        asking = [s for s in sentences(text) if asks(s)]
        if not asking and number == 0:
            asking = [key_sentence(text)]
        for sentence in asking:
            terms = term_set(sentence)
            if not any(_same(terms, seen) for _, seen in found):
                found.append((_clip(sentence), terms))
    return [sentence for sentence, _ in found][:MAX_NEEDS]


def _same(a: frozenset[str], b: frozenset[str]) -> bool:
    return a == b or (bool(a | b) and len(a & b) / len(a | b) >= SAME_NEED)


def facts(texts: list[str]) -> list[str]:
    """Distinct order numbers, codes, amounts, dates and emails in ``texts``, first seen first."""
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


def _answers(turn: Turn) -> list[str]:
    """The first sentence of each reply the AI sent, oldest first."""
    replies = [m for m in turn.messages if is_ai_reply(m, turn.workspace.ai_admin_id)]
    firsts = [(sentences(m.text) or [m.text])[0] for m in replies if m.text.strip()]
    return [_clip(s, MAX_ANSWER_CHARS) for s in dict.fromkeys(firsts)][:MAX_ANSWERS]


def summarize(turn: Turn) -> str:
    """Plain-text lines: the needs, the latest message, the AI's answers, facts, the count."""
    messages = _customer_messages(turn)
    if not messages:
        return "The customer has not written anything yet."
    latest = turn.latest or messages[-1]
    wanted = needs([m.text for m in messages]) or [key_sentence(messages[0].text)]
    if len(wanted) == 1:
        lines = [f"Customer needs: {wanted[0]}"]
    else:
        lines = ["Customer needs:", *(f"- {need}" for need in wanted)]
    last = key_sentence(latest.text)
    if latest.part_id != messages[0].part_id and latest.text.strip() and last not in wanted:
        lines.append(f"Latest message: {last}")
    answered = _answers(turn)
    if answered:
        lines.append("AI already answered: " + " | ".join(answered))
    found = facts([m.text for m in messages])
    if found:
        lines.append("Details: " + ", ".join(_clip(f, 80) for f in found))
    lines.append(f"Customer messages: {len(messages)}")
    return "\n".join(lines)
