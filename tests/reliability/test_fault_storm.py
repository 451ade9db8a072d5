"""A 25 % Intercom fault storm (429 and 503 with Retry-After, 500s, and 502s answered after
the write took effect): nothing lost, nothing doubled, every event settled."""

from __future__ import annotations

from deployment import Plan


def test_a_fault_storm_loses_nothing_and_doubles_nothing(run_plan) -> None:
    plan = Plan(conversations=6, handoff_every=2, fault_rate=0.25, workers=0, seed=5, timeout=75)

    result = run_plan(plan)

    failed = sum(n for status, n in result.calls.items() if status >= 400)
    assert result.calls[429] > 0 and failed >= 0.1 * sum(result.calls.values())
    assert result.duplicates == [] and result.lost == []
    assert result.unsettled == 0 and result.problems == []
