"""``deskmate shadow report`` on a deskmate in shadow mode, fed by real sandbox webhooks."""

from __future__ import annotations

import json

from .conftest import Deskmate


def test_shadow_report_sets_each_decision_beside_what_the_team_did(make_deskmate) -> None:
    running: Deskmate = make_deskmate(mode="shadow")
    stack = running.stack
    answered = stack.start_conversation("How do I reset my password?")
    handed = stack.start_conversation("I want to talk to a human please")
    waiting = stack.start_conversation("How do I reset my password please?")
    running.settle()
    stack.control(
        f"/conversations/{answered}/admin_reply",
        admin_id=stack.human_admin_id,
        body="Click Forgot password on the login page.",
    )
    stack.control(f"/conversations/{handed}/close", admin_id=stack.human_admin_id)
    running.settle()

    result = running.cli("shadow", "report", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["decisions"] == 3
    assert report["matrix"]["answer"] == {"replied": 1, "closed": 0, "assigned": 0, "none": 1}
    assert report["matrix"]["handoff"] == {"replied": 0, "closed": 1, "assigned": 0, "none": 0}
    assert report["agreement"]["ai_would_answer_and_human_answered"] == 1
    assert report["agreement"]["ai_would_hand_off_and_closed_without_reply"] == 1
    assert report["agreement"]["awaiting_the_team"] == 1
    assert "human_requested" in report["handoff_reasons"]
    by_conversation = {e["conversation_id"]: e for e in report["examples"]}
    assert by_conversation[waiting]["human"] == "none"
    assert by_conversation[answered]["citations"] == ["Reset your password"]

    text = running.cli("shadow", "report")
    assert text.exit_code == 0, text.output
    assert "3 shadow decision(s)" in text.output
    assert f"conv {handed}" in text.output and "team closed" in text.output


def test_shadow_report_filters_and_refuses_bad_input(offline) -> None:
    empty = offline.cli("shadow", "report")
    assert empty.exit_code == 0 and "no shadow decisions yet" in empty.output
    later = offline.cli("shadow", "report", "--since", "2999-01-01", "--json")
    assert json.loads(later.output)["decisions"] == 0
    bad_date = offline.cli("shadow", "report", "--since", "last week")
    assert bad_date.exit_code == 2 and "--since" in bad_date.output
    unknown = offline.cli("shadow", "report", "--workspace", "nope")
    assert unknown.exit_code == 2 and "no workspace 'nope'" in unknown.output
