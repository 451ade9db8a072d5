"""SIGKILLed ``serve`` and ``worker`` processes, often while an Intercom write is in flight,
restarted at once: every customer message gets exactly one reply, every handoff one note, one
tag, one assignment and one attribute write, and every stored event settles."""

from __future__ import annotations

from deployment import Plan


def test_kills_of_serve_and_worker_mid_write_lose_nothing_and_double_nothing(run_plan) -> None:
    plan = Plan(
        conversations=6, handoff_every=2, kills=5, slow_writes=0.6, workers=1, seed=11, timeout=75
    )

    result = run_plan(plan)

    assert len(result.kills) == 5
    assert {k.role for k in result.kills} == {"serve", "worker1"}
    assert any(k.mid_write for k in result.kills)
    assert result.customer_messages == 9 and result.handoffs == 3
    assert result.duplicates == [] and result.lost == []
    assert result.unsettled == 0 and result.problems == []
