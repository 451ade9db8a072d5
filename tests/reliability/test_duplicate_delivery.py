"""Every webhook delivered three times, and every customer reply announced again under
``conversation.user.created``: exactly one answer per customer message."""

from __future__ import annotations

from deployment import Plan


def test_triple_and_cross_topic_deliveries_get_exactly_one_answer(run_plan) -> None:
    plan = Plan(conversations=6, duplicate=3, cross_topic=True, workers=1, seed=3, timeout=75)

    result = run_plan(plan)

    # 6 conversations opened, 4 follow-ups announced under two topics, each sent 3 times.
    assert result.deliveries >= 3 * (6 + 2 * 4)
    assert result.replies == result.customer_messages - result.handoffs == 8
    assert result.duplicates == [] and result.lost == []
    assert result.unsettled == 0 and result.problems == []
