"""The Email plugin's ownership, decisions, delays and config, through its hooks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from marshmallow import ValidationError

from deskmate.core.config import ChannelSwitches, Settings
from deskmate.core.intercom.models import Conversation
from deskmate.core.plugins import PluginHost
from deskmate.plugins import email, messenger
from deskmate.testing import make_conversation, make_host, make_turn, make_workspace


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return make_host(("messenger", messenger), ("email", email))


def decide(host: PluginHost, conversation: Conversation, **workspace: object) -> tuple[str, str]:
    turn = make_turn(conversation=conversation, workspace=make_workspace(**workspace))
    decision = host.hook.should_process(turn=turn, channel="email", topic="t")
    return decision.mode, decision.reason


def test_the_real_email_conversation_is_claimed_by_email(
    host: PluginHost, email_conversation: Conversation
) -> None:
    assert host.hook.channel_for(conversation=email_conversation) == "email"


def test_email_leaves_chat_and_other_sources_alone() -> None:
    for source_type in ("conversation", "sms", "whatsapp", ""):
        assert email.channel_for(make_conversation(source_type=source_type)) is None


def test_the_real_email_conversation_owned_by_a_human_is_skipped_without_assist(
    host: PluginHost, email_conversation: Conversation
) -> None:
    mode, reason = decide(host, email_conversation)
    assert mode == "skip"
    assert reason == "owned by a human (admin 991267715); assist off for email"


def test_the_real_email_conversation_gets_assist_when_assist_is_on(
    host: PluginHost, email_conversation: Conversation, email_settings: Callable[..., Settings]
) -> None:
    email_settings(assist=True)
    assert decide(host, email_conversation)[0] == "assist"


def test_customer_email_assigned_to_the_ai_admin_runs_on_autopilot(host: PluginHost) -> None:
    mode, reason = decide(host, make_conversation(source_type="email"))
    assert (mode, reason) == ("autopilot", "assigned to the AI admin; autopilot on for email")


@pytest.mark.parametrize(
    "delivered_as", ["campaigns_initiated", "automated", "admin_initiated", "operator_initiated"]
)
def test_our_own_marketing_mail_is_never_answered(host: PluginHost, delivered_as: str) -> None:
    conversation = make_conversation(source_type="email", delivered_as=delivered_as)
    assert decide(host, conversation) == (
        "skip",
        f"not customer-initiated (delivered_as={delivered_as})",
    )


def test_email_autopilot_can_be_off_while_messenger_stays_on(
    host: PluginHost, email_settings: Callable[..., Settings]
) -> None:
    email_settings(autopilot=False)
    assert decide(host, make_conversation(source_type="email")) == (
        "skip",
        "autopilot off for email",
    )
    turn = make_turn(conversation=make_conversation())
    assert host.hook.should_process(turn=turn, channel="messenger", topic="t").mode == "autopilot"


def test_a_workspace_can_switch_email_off_for_itself(host: PluginHost) -> None:
    channels = {"email": ChannelSwitches(autopilot=False)}
    conversation = make_conversation(source_type="email")
    assert decide(host, conversation, channels=channels)[0] == "skip"


def test_the_first_mail_waits_thirty_seconds(
    host: PluginHost, email_conversation: Conversation, email_settings: Callable[..., Settings]
) -> None:
    def delay(first: bool) -> float:
        return host.hook.processing_delay(
            channel="email", conversation=email_conversation, first_message=first
        )

    assert (delay(True), delay(False)) == (30.0, 0.0)
    email_settings(initial_delay=12, followup_delay=3)
    assert (delay(True), delay(False)) == (12.0, 3.0)


def test_hooks_answer_none_for_another_channel(email_conversation: Conversation) -> None:
    turn = make_turn(conversation=email_conversation)
    assert email.should_process(turn, "messenger") is None
    assert email.processing_delay("messenger", True) is None
    assert email.format_reply("messenger", None, turn) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"initial_delay": -5}, "initial_delay"),
        ({"greetings": {"english": "Hi"}}, "greetings"),
        ({"greetings": ["Hi"]}, "greetings"),
        ({"sign_offs": {"en": "x" * 501}}, "sign_offs"),
        ({"email_reply_feature": "maybe"}, "email_reply_feature"),
        ({"default_language": "English"}, "default_language"),
        ({"sign_off": "Cheers"}, "sign_off"),
    ],
)
def test_bad_config_is_reported_by_key(section: dict[str, object], key: str) -> None:
    with pytest.raises(ValidationError) as error:
        email.EmailConfig().load(section)
    assert key in error.value.messages


def test_the_email_reply_warning_is_given_while_the_feature_is_off(settings: Settings) -> None:
    workspace = make_workspace(name="Acme")
    warning = email.email_reply_warning(settings, workspace)
    assert warning is not None
    assert "workspace Acme" in warning
    assert "email-reply feature" in warning
    assert "email_reply_feature = true" in warning


def test_no_email_reply_warning_once_the_feature_is_on_or_autopilot_is_off(
    email_settings: Callable[..., Settings],
) -> None:
    assert (
        email.email_reply_warning(email_settings(email_reply_feature=True), make_workspace())
        is None
    )
    off = make_workspace(channels={"email": ChannelSwitches(autopilot=False, assist=True)})
    assert email.email_reply_warning(email_settings(), off) is None
