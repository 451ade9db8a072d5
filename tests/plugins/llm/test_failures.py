"""Failure is never silence: timeouts, 429, 5xx, refusals and malformed output from the sandbox
model are retried a bounded number of times, then handed off (or left to the default brain),
and a failing endpoint's circuit opens."""

from __future__ import annotations

import json
import sys
import time

from deskmate.plugins import llm
from deskmate.plugins.llm import service
from deskmate.plugins.llm.brain import think
from deskmate.plugins.llm.breaker import BREAKERS

from .conftest import PASSWORD, model_audit


def _outcomes(sessions, turn):
    [record] = model_audit(sessions, turn)
    return [a["outcome"] for a in record["attempts"]]


def test_a_429_is_retried_after_the_retry_after_the_server_gave(model, make_llm_turn):
    model.script({"fault": "rate_limit", "retry_after": 3})
    sleeps: list[float] = []
    result = think(make_llm_turn(), [PASSWORD], model.caller(sleeps, max_retry_wait=10.0))
    assert result.outcome == "answered"
    assert sleeps == [3.0]
    assert len(model.bodies()) == 2


def test_a_long_retry_after_is_capped_by_max_retry_wait(model, make_llm_turn):
    model.script({"fault": "rate_limit", "retry_after": 120})
    sleeps: list[float] = []
    think(make_llm_turn(), [PASSWORD], model.caller(sleeps, max_retry_wait=1.5))
    assert sleeps == [1.5]


def test_server_errors_past_the_retries_hand_off(model, make_llm_turn, store_sessions):
    model.script(*[{"fault": "server_error"}] * 3)
    turn = make_llm_turn(max_retries=2, max_retry_wait=0.05)
    draft = llm.generate_reply(turn=turn, hits=[PASSWORD])
    reasons = llm.escalation_reasons(turn=turn)
    assert draft.text == ""
    assert [r.code for r in reasons] == ["model_unavailable"]
    assert "server_error" in reasons[0].detail
    assert _outcomes(store_sessions, turn) == ["server_error"] * 3
    assert len(model.bodies()) == 3


def test_with_on_failure_default_brain_every_hook_lets_the_default_decide(model, make_llm_turn):
    model.script(*[{"fault": "server_error"}] * 2)
    turn = make_llm_turn(max_retries=1, max_retry_wait=0.05, on_failure="default_brain")
    assert llm.generate_reply(turn=turn, hits=[PASSWORD]) is None
    assert llm.escalation_reasons(turn=turn) is None
    assert llm.analyze_sentiment(turn=turn) is None
    assert llm.summarize(turn=turn) is None


def test_without_the_openai_sdk_the_turn_is_handed_off_and_says_how_to_install_it(
    model, make_llm_turn, monkeypatch
):
    monkeypatch.setitem(sys.modules, "openai", None)
    turn = make_llm_turn()
    assert llm.generate_reply(turn=turn, hits=[PASSWORD]).text == ""
    [reason] = llm.escalation_reasons(turn=turn)
    assert reason.code == "model_unavailable"
    assert "pip install 'deskmate[llm]'" in reason.detail
    assert model.bodies() == []


def test_a_timeout_is_retried_and_then_answered(model, make_llm_turn, store_sessions):
    model.script({"fault": "latency", "ms": 1500})
    turn = make_llm_turn(timeout=0.5, max_retry_wait=0.05)
    draft = llm.generate_reply(turn=turn, hits=[PASSWORD])
    assert draft.citations and draft.citations[0].doc_id == "article-1"
    assert _outcomes(store_sessions, turn) == ["timeout", "ok"]


def test_a_refusal_is_retried_once_then_handed_off(model, make_llm_turn, store_sessions):
    model.script({"fault": "refusal"}, {"fault": "refusal"})
    turn = make_llm_turn(max_retries=1)
    llm.generate_reply(turn=turn, hits=[PASSWORD])
    assert [r.code for r in llm.escalation_reasons(turn=turn)] == ["model_unavailable"]
    assert _outcomes(store_sessions, turn) == ["refused", "refused"]


def test_malformed_json_is_asked_again_and_the_second_answer_used(
    model, make_llm_turn, store_sessions
):
    model.script({"fault": "malformed"})
    turn = make_llm_turn()
    draft = llm.generate_reply(turn=turn, hits=[PASSWORD])
    assert draft.text.startswith("Open the sign-in page")
    assert _outcomes(store_sessions, turn) == ["malformed", "ok"]


def test_malformed_json_past_the_retries_is_invalid_model_output(model, make_llm_turn):
    model.script({"fault": "malformed"}, {"fault": "malformed"})
    turn = make_llm_turn(max_retries=1)
    llm.generate_reply(turn=turn, hits=[PASSWORD])
    assert [r.code for r in llm.escalation_reasons(turn=turn)] == ["invalid_model_output"]


def test_a_server_without_json_schema_is_asked_in_json_mode_from_then_on(model, make_llm_turn):
    model.settings(json_schema=False)
    first = llm.generate_reply(turn=make_llm_turn(), hits=[PASSWORD])
    second = llm.generate_reply(turn=make_llm_turn(), hits=[PASSWORD])
    assert first.citations and second.citations
    formats = [json.loads(b)["response_format"]["type"] for b in model.bodies()]
    assert formats == ["json_schema", "json_object", "json_object"]


def test_a_server_without_response_format_gets_plain_text_parsed(model, make_llm_turn):
    model.settings(json_schema=False)
    caller = model.caller()
    llm.brain._modes[caller.options.endpoint] = "text"
    result = think(make_llm_turn(), [PASSWORD], caller)
    assert result.outcome == "answered"
    assert "response_format" not in json.loads(model.bodies()[0])


def test_the_circuit_opens_after_repeated_failures_and_stops_calling(
    model, make_llm_turn, store_sessions
):
    model.script(*[{"fault": "server_error"}] * 4)
    section = {"max_retries": 1, "max_retry_wait": 0.05, "breaker_failures": 4}
    for _ in range(2):
        llm.generate_reply(turn=make_llm_turn(**section), hits=[PASSWORD])
    assert len(model.bodies()) == 4
    turn = make_llm_turn(**section)
    llm.generate_reply(turn=turn, hits=[PASSWORD])
    assert len(model.bodies()) == 4, "an open circuit makes no call"
    assert [r.code for r in llm.escalation_reasons(turn=turn)] == ["model_unavailable"]
    [record] = model_audit(store_sessions, turn)
    assert record["outcome"] == "breaker_open" and record["circuit_open"] is True
    assert BREAKERS.open_endpoints()[0].endpoint == f"{model.base_url}/v1"


def test_an_open_circuit_lets_one_trial_through_once_it_expires(model, make_llm_turn):
    model.script({"fault": "server_error"})
    section = {"max_retries": 0, "breaker_failures": 1, "breaker_seconds": 1.0}
    llm.generate_reply(turn=make_llm_turn(**section), hits=[PASSWORD])
    blocked = make_llm_turn(**section)
    llm.generate_reply(turn=blocked, hits=[PASSWORD])
    assert len(model.bodies()) == 1
    time.sleep(1.1)
    draft = llm.generate_reply(turn=make_llm_turn(**section), hits=[PASSWORD])
    assert draft.citations, "the trial call succeeded and closed the circuit"
    assert BREAKERS.open_endpoints() == []


def test_metrics_count_calls_by_outcome_and_show_the_open_circuit(model, make_llm_turn):
    service._state.metrics = model.metrics
    model.script({"fault": "server_error"})
    section = {"max_retry_wait": 0.05, "breaker_failures": 1}
    llm.generate_reply(turn=make_llm_turn(**section), hits=[PASSWORD])
    text = model.metrics.exposition().decode()
    labels = f'endpoint="{model.base_url}/v1"'
    assert (
        f'deskmate_model_calls_total{{{labels},outcome="server_error",workspace="testapp"}} 1.0'
        in text
    )
    assert (
        f'deskmate_model_calls_total{{{labels},outcome="breaker_open",workspace="testapp"}} 1.0'
        in text
    )
    assert f"deskmate_model_breaker_open{{{labels}}} 1.0" in text


def test_metrics_count_tokens_latency_and_estimated_cost(model, make_llm_turn):
    service._state.metrics = model.metrics
    llm.generate_reply(turn=make_llm_turn(price_per_input_token=0.001), hits=[PASSWORD])
    text = model.metrics.exposition().decode()
    labels = f'endpoint="{model.base_url}/v1"'
    assert f'deskmate_model_calls_total{{{labels},outcome="ok",workspace="testapp"}} 1.0' in text
    assert f'deskmate_model_seconds_count{{{labels},workspace="testapp"}} 1.0' in text
    assert 'deskmate_model_tokens_total{direction="input",workspace="testapp"}' in text
    assert 'deskmate_model_tokens_total{direction="output",workspace="testapp"}' in text
    assert 'deskmate_model_cost_total{workspace="testapp"}' in text
    assert f"deskmate_model_breaker_open{{{labels}}} 0.0" in text


def test_the_audit_keeps_a_running_cost_per_conversation(model, make_llm_turn, store_sessions):
    section = {"price_per_input_token": 0.01, "price_per_output_token": 0.02}
    first = make_llm_turn(conversation_id="priced", **section)
    llm.generate_reply(turn=first, hits=[PASSWORD])
    second = make_llm_turn(conversation_id="priced", **section)
    llm.generate_reply(turn=second, hits=[PASSWORD])
    records = model_audit(store_sessions, second)
    assert len(records) == 2
    assert records[0]["cost"] > 0
    total = records[0]["cost"] + records[1]["cost"]
    assert abs(records[1]["conversation_cost"] - total) < 1e-6
