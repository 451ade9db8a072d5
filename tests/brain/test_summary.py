"""The extractive handoff summary: the need, the latest message, facts, in the customer's words."""

from __future__ import annotations

from deskmate.core.brain.summary import MAX_SENTENCE_CHARS, summarize
from deskmate.core.domain import Author, Message
from deskmate.testing import TEST_AI_ADMIN_ID, make_turn


def customer(part_id: str, text: str) -> Message:
    return Message(part_id, Author("user", "c1"), text)


def test_the_summary_quotes_the_question_the_latest_message_and_the_facts() -> None:
    first = customer("1", "Hi there. Where is my order #48213? It was due Monday.")
    reply = Message("2", Author("admin", TEST_AI_ADMIN_ID), "It ships tomorrow.")
    latest = customer(
        "3", "It still has not arrived. I paid $129.99, contact me at ada@example.com"
    )
    text = summarize(make_turn(messages=[first, reply, latest], latest=latest))
    lines = text.splitlines()
    assert lines[0] == "Customer needs: Where is my order #48213?"
    assert lines[1] == "Latest message: It still has not arrived."
    assert lines[2] == "AI already answered: It ships tomorrow."
    assert lines[3] == "Details: #48213, $129.99, ada@example.com"
    assert lines[4] == "Customer messages: 2"


def test_a_single_message_gives_one_need_line() -> None:
    text = summarize(make_turn("I cannot log in since the update, error E-403 every time."))
    assert text.splitlines()[0].startswith("Customer needs: I cannot log in")
    assert "Latest message" not in text
    assert "E-403" in text


def test_a_conversation_without_customer_text_says_so() -> None:
    assert "not written" in summarize(make_turn("", messages=[], latest=None))


def test_huge_and_hostile_messages_give_a_short_summary() -> None:
    text = summarize(make_turn("<script>alert(1)</script> " + "blah " * 100_000))
    assert len(text) < 2 * MAX_SENTENCE_CHARS
    assert summarize(make_turn("😀😀😀")).startswith("Customer needs: 😀😀😀")


def test_every_distinct_need_is_listed_and_venting_and_repeats_are_not() -> None:
    first = customer(
        "1", "This is the THIRD time I write!!! I still have no refund for order 55123."
    )
    reply = Message("2", Author("admin", TEST_AI_ADMIN_ID), "Refunds take 5 to 10 days. Sorry.")
    second = customer("3", "How long does a refund take? And can I change my plan to annual?")
    again = customer("4", "how long does the refund take??")
    thanks = customer("5", "thanks")
    latest = customer("6", "It was €49.90, paid on 3 March 2026-03-03.")
    messages = [first, reply, second, again, thanks, latest]
    lines = summarize(make_turn(messages=messages, latest=latest)).splitlines()
    assert lines[:4] == [
        "Customer needs:",
        "- I still have no refund for order 55123.",
        "- How long does a refund take?",
        "- And can I change my plan to annual?",
    ]
    assert lines[4] == "Latest message: It was €49.90, paid on 3 March 2026-03-03."
    assert lines[5] == "AI already answered: Refunds take 5 to 10 days."
    assert lines[6] == "Details: order 55123, €49.90, 3 March, 2026-03-03"
