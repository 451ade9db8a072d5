"""The structured answer: its JSON schema, reading it from any server, and the grounding guards.

A model answer is only sent when it cites at least one passage it was given, cites nothing else,
links only to the sources' URLs, is in the customer's language, fits the channel and does not
repeat the rules. Anything else becomes a handoff reason: ``no_grounded_answer`` (not backed by
the sources) or ``invalid_model_output`` (unreadable, off-schema, wrong language, too long,
leaking the rules).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from deskmate.core.brain.language import classify
from deskmate.core.domain import Hit
from deskmate.plugins.llm.prompt import CANARY

NO_GROUNDED_ANSWER = "no_grounded_answer"
INVALID_OUTPUT = "invalid_model_output"
SENTIMENTS = ("negative", "neutral", "positive")
LANGUAGE_CHECK_CHARS = 40
"""Shorter answers are not language-checked from their text (too little to tell)."""
LANGUAGE_TRUST = 0.8

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "answer",
        "cited_ids",
        "confidence",
        "needs_human",
        "handoff_reason",
        "sentiment",
        "language",
        "summary",
    ],
    "properties": {
        "answer": {"type": "string"},
        "cited_ids": {"type": "array", "items": {"type": "string"}},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "needs_human": {"type": "boolean"},
        "handoff_reason": {"type": "string"},
        "sentiment": {"type": "string", "enum": list(SENTIMENTS)},
        "language": {"type": "string"},
        "summary": {"type": "string"},
    },
}
_TYPES: dict[str, tuple[type, ...]] = {
    "answer": (str,),
    "cited_ids": (list,),
    "confidence": (int, float),
    "needs_human": (bool,),
    "handoff_reason": (str,),
    "sentiment": (str,),
    "language": (str,),
    "summary": (str,),
}
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


class OutputError(ValueError):
    """The model's text is not an answer of :data:`SCHEMA`."""


@dataclass(frozen=True)
class ModelAnswer:
    """The answer as the model gave it (validated against the schema)."""

    answer: str
    cited_ids: tuple[str, ...]
    confidence: float
    needs_human: bool
    handoff_reason: str
    sentiment: str
    language: str
    summary: str


@dataclass(frozen=True)
class Rejection:
    """Why an answer may not be sent: a handoff reason code and its detail."""

    code: str
    detail: str


def parse_answer(content: str) -> ModelAnswer:
    """Read the answer from the model's text: JSON, possibly fenced or wrapped in prose."""
    text = _FENCE.sub("", content.strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise OutputError("the answer holds no JSON object")
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise OutputError(f"the answer is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise OutputError("the answer is not a JSON object")
    return _validated(data)


def _validated(data: dict[str, Any]) -> ModelAnswer:
    missing = [key for key in SCHEMA["required"] if key not in data]
    if missing:
        raise OutputError(f"the answer lacks {', '.join(missing)}")
    for key, types in _TYPES.items():
        value = data[key]
        if not isinstance(value, types) or (key == "confidence" and isinstance(value, bool)):
            raise OutputError(f"{key} has the wrong type")
    if not all(isinstance(i, str) for i in data["cited_ids"]):
        raise OutputError("cited_ids must be strings")
    if not 0 <= data["confidence"] <= 1:
        raise OutputError("confidence is not between 0 and 1")
    if data["sentiment"] not in SENTIMENTS:
        raise OutputError(f"sentiment {data['sentiment']!r} is not one of {SENTIMENTS}")
    return ModelAnswer(
        answer=data["answer"].strip(),
        cited_ids=tuple(dict.fromkeys(data["cited_ids"])),
        confidence=float(data["confidence"]),
        needs_human=data["needs_human"],
        handoff_reason=data["handoff_reason"].strip(),
        sentiment=data["sentiment"],
        language=data["language"].strip().lower()[:8],
        summary=data["summary"].strip(),
    )


def check_grounding(
    answer: ModelAnswer, passages: list[Hit], language: str | None, max_chars: int
) -> Rejection | None:
    """Why ``answer`` may not be sent to the customer, or ``None`` when it may."""
    given = {hit.doc_id for hit in passages}
    if answer.needs_human:
        return None
    if not answer.answer:
        return Rejection(INVALID_OUTPUT, "the answer is empty and no human was asked for")
    if CANARY in answer.answer:
        return Rejection(INVALID_OUTPUT, "the answer repeats the rules it was given")
    if not answer.cited_ids:
        return Rejection(NO_GROUNDED_ANSWER, "the answer cites no source")
    unknown = [i for i in answer.cited_ids if i not in given]
    if unknown:
        return Rejection(
            NO_GROUNDED_ANSWER, f"the answer cites sources it was not given: {unknown}"
        )
    links = _foreign_links(answer.answer, passages)
    if links:
        return Rejection(NO_GROUNDED_ANSWER, f"the answer links outside its sources: {links}")
    if len(answer.answer) > max_chars:
        return Rejection(
            INVALID_OUTPUT, f"the answer has {len(answer.answer)} characters; at most {max_chars}"
        )
    wrong = _wrong_language(answer, language)
    if wrong:
        return Rejection(INVALID_OUTPUT, wrong)
    return None


def _foreign_links(text: str, passages: list[Hit]) -> list[str]:
    allowed = {hit.url.rstrip("/") for hit in passages if hit.url}
    allowed |= {url.rstrip(".,;:!?/") for hit in passages for url in _URL.findall(hit.passage)}
    found = (url.rstrip(".,;:!?/") for url in _URL.findall(text))
    return [url for url in found if url not in allowed][:3]


def _wrong_language(answer: ModelAnswer, language: str | None) -> str | None:
    if not language:
        return None
    if answer.language and answer.language.split("-")[0] != language:
        return f"the answer is in {answer.language}; the customer writes {language}"
    if len(answer.answer) < LANGUAGE_CHECK_CHARS:
        return None
    code, confidence = classify(answer.answer)
    if confidence >= LANGUAGE_TRUST and code != language:
        return f"the answer reads as {code}; the customer writes {language}"
    return None
