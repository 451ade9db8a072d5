"""Which past conversations teach an answer, and what is kept of them."""

from __future__ import annotations

from typing import Any

import pytest

from deskmate.plugins.knowledge_sync.conversations import (
    Skip,
    answer_signature,
    extract_pair,
    learned_document,
    parse_learned,
)
from deskmate.plugins.knowledge_sync.options import SyncOptions

AI = "900"
ANSWER = "Open Billing > Invoices and choose Refund; the money is back within 5 business days."
OPTIONS = SyncOptions()


def part(kind: str, body: str | None, author: str = "admin", author_id: str = "7", **extra: Any):
    who = {"type": author, "id": author_id, "name": "Sam", "from_ai_agent": False}
    return {"type": "conversation_part", "part_type": kind, "body": body, "author": who, **extra}


def conversation(*parts: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    item = {
        "type": "conversation",
        "id": "215000000000001",
        "state": "closed",
        "updated_at": 1_700_000_000,
        "source": {
            "type": "conversation",
            "body": "<p>Hi, I was charged twice, how do I get a refund? ada@example.com</p>",
            "author": {"type": "user", "id": "c1", "name": "Ada Lovelace"},
        },
        "statistics": {"count_reopens": 0, "count_conversation_parts": len(parts) + 1},
        "conversation_parts": {"conversation_parts": list(parts), "total_count": len(parts)},
    }
    return item | overrides


def test_a_human_answer_to_a_customer_is_learned_redacted() -> None:
    item = conversation(part("comment", f"Hi Ada, {ANSWER} Write to me at sam@corp.com"))
    pair = extract_pair(item, AI, OPTIONS)
    assert pair.question == "Hi, I was charged twice, how do I get a refund? [email]"
    assert pair.answer == f"{ANSWER} Write to me at [email]"
    assert "Ada" not in pair.answer


def test_the_customers_follow_up_before_the_answer_joins_the_question() -> None:
    item = conversation(
        part("comment", "It was on my March invoice.", author="user", author_id="c1"),
        part("comment", ANSWER),
        part("comment", "Thanks!", author="user", author_id="c1"),
        part("comment", "Another answer that comes after the customer spoke again."),
    )
    pair = extract_pair(item, AI, OPTIONS)
    assert pair.question.endswith("It was on my March invoice.")
    assert pair.answer == ANSWER


@pytest.mark.parametrize(
    ("answer_part", "reason"),
    [
        (part("note", ANSWER), "no human answer"),
        (part("comment", ANSWER, author="bot", author_id="b1"), "no human answer"),
        (part("comment", ANSWER, author_id=AI), "no human answer"),
        (part("comment", ANSWER, app_package_code="deskmate"), "no human answer"),
        (part("comment", ANSWER, author_id="8") | {"author": {"type": "admin", "id": "8",
                                                              "is_ai_answer": True}},
         "no human answer"),
        (part("comment", "Done!"), "answer too short"),
        (part("comment", "x " * 3000), "answer too long"),
    ],
)  # fmt: skip
def test_only_real_human_answers_of_a_good_length_count(answer_part: dict, reason: str) -> None:
    with pytest.raises(Skip, match=reason):
        extract_pair(conversation(answer_part), AI, OPTIONS)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"state": "open"}, "not closed"),
        ({"statistics": {"count_reopens": 1}}, "reopened"),
        ({"conversation_rating": {"rating": 2}}, "low rating"),
        ({"statistics": {"count_conversation_parts": 612}}, "over 500 parts"),
        ({"source": {"body": "Our new offer!", "author": {"type": "admin", "id": "7"}}},
         "not started by a customer"),
        ({"conversation_parts": "broken"}, "unreadable conversation"),
        ({"source": {"body": "", "author": {"type": "user", "id": "c1"}}}, "no question"),
    ],
)  # fmt: skip
def test_conversations_failing_a_quality_filter_are_skipped(overrides: dict, reason: str) -> None:
    with pytest.raises(Skip, match=reason):
        extract_pair(conversation(part("comment", ANSWER), **overrides), AI, OPTIONS)


def test_a_good_rating_passes() -> None:
    item = conversation(part("comment", ANSWER), conversation_rating={"rating": 5})
    assert extract_pair(item, AI, OPTIONS).answer == ANSWER


def test_a_thread_with_hundreds_of_parts_is_read_without_trouble() -> None:
    chatter = [part("note", f"note {i}") for i in range(499)]
    item = conversation(*chatter, part("comment", ANSWER))
    assert extract_pair(item, AI, OPTIONS).answer == ANSWER


def test_hostile_bodies_are_skipped_not_raised() -> None:
    item = conversation(part("comment", None), {"part_type": "comment", "author": "x"}, 7)
    with pytest.raises(Skip):
        extract_pair(item, AI, OPTIONS)


def test_answers_differing_in_case_spacing_or_redactions_share_a_signature() -> None:
    assert answer_signature("Refund  it, please!") == answer_signature("refund it please")
    assert answer_signature("Refund it") != answer_signature("Refund it twice")


def test_a_learned_document_reads_back_its_variants_and_answer() -> None:
    doc = learned_document(
        ["How do I get a refund?", "Refund please"], ANSWER, locale="en", url=None,
        updated_at=1_700_000_000, public=False,
    )  # fmt: skip
    assert parse_learned(doc.body) == (["How do I get a refund?", "Refund please"], ANSWER)
    assert doc.visibility == "internal"
    assert doc.passages[0].text == ANSWER
