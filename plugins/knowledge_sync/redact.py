"""Personal data out of learned answers, before anything is stored.

Emails, card numbers that pass the Luhn check, phone numbers, postal addresses where their shape
gives them away (a numbered street, a UK postcode, a US state and ZIP) and the customer's own
name become placeholders. The rules lean towards removing too much: a long order number that
looks like a phone number is removed too, which costs a learned answer little.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = "[email]"
PHONE = "[phone]"
CARD = "[card]"
ADDRESS = "[address]"
NAME = "[name]"

_EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d(?:[ .-]?\d){6,14}(?!\w)"
)
_STREET_WORDS = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl"
    r"|square|sq|terrace|parkway|pkwy|highway|hwy|rue|avenida|calle|via"
)
_STREET = re.compile(
    rf"\b\d{{1,5}}[a-z]?,?\s+(?:[A-Z][\w'-]*\.?\s+){{1,4}}(?:{_STREET_WORDS})\b\.?"
    r"(?:,?\s+(?:apt|suite|unit|flat)\.?\s*#?\w+)?",
    re.IGNORECASE,
)
_EU_STREET = re.compile(
    r"(?<![\w-])[A-ZÄÖÜ][\wäöüß-]{0,40}"
    r"(?:straße|strasse|str\.|weg|platz|allee|gasse|laan|straat|gracht)"
    r"\s+\d{1,4}[a-z]?\b",
    re.IGNORECASE,
)
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")
_US_ZIP = re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum that card numbers carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return CARD if 13 <= len(digits) <= 19 and luhn_ok(digits) else match.group()


def _phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group())
    return PHONE if 7 <= digits <= 15 else match.group()


def redact(text: str, names: Iterable[str] = ()) -> str:
    """``text`` with personal data replaced by placeholders; ``names`` are people to hide."""
    text = _EMAIL.sub(EMAIL, text)
    text = _CARD.sub(_card, text)
    text = _STREET.sub(ADDRESS, text)
    text = _EU_STREET.sub(ADDRESS, text)
    text = _UK_POSTCODE.sub(ADDRESS, text)
    text = _US_ZIP.sub(ADDRESS, text)
    text = _PHONE.sub(_phone, text)
    for name in sorted(_name_parts(names), key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", NAME, text, flags=re.IGNORECASE)
    return text


def _name_parts(names: Iterable[str]) -> set[str]:
    """The full names and their words long enough not to hit ordinary words ("Al", "Jo")."""
    parts: set[str] = set()
    for name in names:
        cleaned = " ".join(name.split())
        if len(cleaned) >= 3:
            parts.add(cleaned)
            parts.update(word for word in cleaned.split() if len(word) >= 3)
    return parts
