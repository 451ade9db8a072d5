"""Cases played through the engine with the configured plugins, nothing sent to Intercom."""

from __future__ import annotations

import textwrap
from pathlib import Path

from click.testing import CliRunner

from deskmate.core.cli import cli
from deskmate.core.config import Settings
from deskmate.core.domain import Draft, EscalationReason, Hit, Turn
from deskmate.core.evaluation.cases import Case, Expected, Said
from deskmate.core.evaluation.metrics import figures
from deskmate.core.evaluation.player import eval_workspace, player
from deskmate.core.sandbox import SandboxServer
from deskmate.hookspecs import hookimpl
from deskmate.plugins import messenger
from deskmate.testing import SANDBOX_AI_ADMIN_ID, make_host

from .conftest import EXAMPLES


def case(text: str, expected: Expected, *turns: Said) -> Case:
    return Case(
        id="c1",
        category="direct",
        language="en",
        split="tune",
        turns=(*turns, Said("customer", text)),
        expected=expected,
    )


class VipRule:
    """A plugin's own escalation rule: VIP customers always go to a human."""

    @hookimpl
    def escalation_reasons(self, turn: Turn) -> list[EscalationReason] | None:
        if turn.latest is not None and "vip" in turn.latest.text.lower():
            return [EscalationReason("vip", "a VIP customer")]
        return None


class ModelBrain:
    """A model-backed plugin stand-in: drafts its own reply and reports one call's tokens."""

    @hookimpl
    def generate_reply(self, turn: Turn, hits: list[Hit]) -> Draft | None:
        turn.actions.audit("model", {"calls": 1, "input": 120, "output": 30})
        return Draft("Here is how.", 0.95, hits[:1], "en") if hits else None


def test_a_plugins_escalation_rule_and_model_usage_reach_the_report(tmp_path: Path) -> None:
    host = make_host(messenger, VipRule(), ModelBrain())
    with player(Settings(), host, eval_workspace()) as played:
        vip = case("vip here: how do i reset my password", Expected("handoff", reasons=("vip",)))
        plain = case("how do i reset my password", Expected("answer", ("8000001",)))
        played.prepare([vip, plain])
        results = [played.play(vip), played.play(plain)]

    assert [r.error for r in results] == [None, None]
    assert [r.code for r in results[0].decided.handoff.reasons] == ["vip"]
    assert results[1].decided.action == "answer"
    assert results[1].cited == ("8000001",)
    totals = figures(results)
    assert totals["handoff_reason_recall"] == 1.0
    assert totals["model_calls_per_case"] == 1.0
    assert totals["tokens_per_case"] == 150.0


def test_the_default_brain_reports_no_model_usage(tmp_path: Path) -> None:
    with player(Settings(), make_host(messenger), eval_workspace()) as played:
        plain = case("how do i reset my password", Expected("answer", ("8000001",)))
        played.prepare([plain])
        result = played.play(plain)
    assert (result.model_calls, result.input_tokens, result.output_tokens) == (None, None, None)


def test_a_played_ai_turn_answers_and_its_reply_is_history(tmp_path: Path) -> None:
    """An ``ai`` turn without text is the engine's own answer to the message before it; the
    reply is in the conversation when the next message is decided."""
    with player(Settings(), make_host(messenger), eval_workspace()) as played:
        repeated = case(
            "how do i reset my password",
            Expected("handoff", reasons=("loop",)),
            Said("customer", "how do i reset my password"),
            Said("ai", ""),
        )
        played.prepare([repeated])
        conversation = played.play(repeated)

    assert conversation.error is None
    ai_parts = [
        p for p in played.intercom.conversations["eval-1"].parts if p.author.type == "admin"
    ]
    assert len(ai_parts) == 1  # the first question was answered in the conversation
    assert conversation.decided.action == "handoff"


def test_consecutive_customer_messages_are_one_burst_answered_once(tmp_path: Path) -> None:
    with player(Settings(), make_host(messenger), eval_workspace()) as played:
        burst = case(
            "how do i reset my password",
            Expected("answer", ("8000001",)),
            Said("customer", "hi there"),
        )
        played.prepare([burst])
        result = played.play(burst)

    parts = played.intercom.conversations["eval-1"].parts
    assert [p.author.type for p in parts] == ["user", "admin"]
    assert result.decided.action == "answer"


def test_a_configured_workspace_is_played_without_any_intercom_call(
    tmp_path: Path, intercom_sandbox: SandboxServer
) -> None:
    config = tmp_path / "deskmate.toml"
    config.write_text(textwrap.dedent(f"""
        instance_path = "{tmp_path / 'instance'}"

        [workspaces.testapp]
        access_token = {{ env = "T_TOKEN" }}
        client_secret = {{ env = "T_SECRET" }}
        ai_admin_id = "{SANDBOX_AI_ADMIN_ID}"
        base_url = "{intercom_sandbox.base_url}"
    """))  # fmt: skip
    env = {"T_TOKEN": "test-token", "T_SECRET": "test-client-secret"}

    result = CliRunner().invoke(
        cli, ["--config", str(config), "eval", str(EXAMPLES / "heldout.yaml")], env=env
    )

    assert result.exit_code == 0, result.output
    assert "all cases         52" in result.output
    assert intercom_sandbox.sandbox.requests.entries() == []


class Broken:
    """A plugin that fails while drafting."""

    @hookimpl
    def generate_reply(self) -> Draft | None:
        raise RuntimeError("draft service down")


def test_a_failing_plugin_fails_its_cases_with_the_error_and_the_run_goes_on() -> None:
    with player(Settings(), make_host(messenger, Broken()), eval_workspace()) as played:
        plain = case("how do i reset my password", Expected("answer", ("8000001",)))
        played.prepare([plain])
        results = [played.play(plain), played.play(plain)]

    assert [r.error for r in results] == ["RuntimeError: draft service down"] * 2
    assert figures(results)["errors"] == 2
    assert figures(results)["pass_rate"] == 0.0
