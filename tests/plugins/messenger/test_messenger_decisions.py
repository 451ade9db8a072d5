"""The Messenger plugin through its hooks: which conversations it owns, when and how it acts."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from marshmallow import ValidationError

from deskmate.core.cli import cli
from deskmate.core.config import ChannelSwitches, Settings
from deskmate.core.domain import Author
from deskmate.core.intercom.models import Conversation, Part
from deskmate.core.intercom.parse import conversation_from_item
from deskmate.core.plugins import PluginHost
from deskmate.plugins import email, messenger
from deskmate.testing import (
    TEST_AI_ADMIN_ID,
    make_conversation,
    make_host,
    make_turn,
    make_workspace,
)

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "intercom" / "samples"
EMAIL_SAMPLE = SAMPLES / "conversation.email.rest-get-response.preview-spec-example.json"


def sample_conversation(name: str | Path) -> Conversation:
    data = json.loads((SAMPLES / name).read_text())
    return conversation_from_item(data["data"]["item"] if "data" in data else data)


@pytest.fixture(scope="module")
def host() -> PluginHost:
    """Both channel plugins, as an installation has them."""
    return make_host(("messenger", messenger), ("email", email))


def decide(host: PluginHost, conversation: Conversation, **workspace: object) -> tuple[str, str]:
    turn = make_turn(conversation=conversation, workspace=make_workspace(**workspace))
    decision = host.hook.should_process(turn=turn, channel="messenger", topic="t")
    return decision.mode, decision.reason


@pytest.mark.parametrize(
    "name",
    [
        "conversation.operator.replied.messenger.2x-shape.json",
        "conversation.admin.open.assigned.messenger.2x-shape.json",
        "conversation.user.created.messenger.legacy-1x-shape.json",
        "conversation.user.replied.messenger.legacy-1x-shape.json",
    ],
)
def test_messenger_claims_the_real_messenger_payloads(host: PluginHost, name: str) -> None:
    assert host.hook.channel_for(conversation=sample_conversation(name)) == "messenger"


def test_messenger_leaves_the_email_example_to_email_despite_its_channel_initial(
    host: PluginHost,
) -> None:
    conversation = sample_conversation(EMAIL_SAMPLE)
    assert conversation.channel_initial == "messenger"
    assert messenger.channel_for(conversation) is None
    assert host.hook.channel_for(conversation=conversation) == "email"


@pytest.mark.parametrize("source_type", ["sms", "whatsapp", "phone_call", "facebook", "push"])
def test_other_intercom_sources_belong_to_no_channel(host: PluginHost, source_type: str) -> None:
    conversation = make_conversation(source_type=source_type, channel_initial="messenger")
    assert host.hook.channel_for(conversation=conversation) is None


def test_a_conversation_without_source_type_is_messenger_when_its_channel_says_so() -> None:
    assert messenger.channel_for(make_conversation(source_type="", channel_initial="messenger"))
    assert messenger.channel_for(make_conversation(source_type="")) is None


def test_customer_message_assigned_to_the_ai_admin_runs_on_autopilot(host: PluginHost) -> None:
    mode, reason = decide(host, make_conversation())
    assert mode == "autopilot"
    assert "autopilot on for messenger" in reason


@pytest.mark.parametrize(
    "delivered_as", ["campaigns_initiated", "operator_initiated", "automated", "admin_initiated"]
)
def test_outbound_and_bot_started_conversations_are_skipped_with_the_reason(
    host: PluginHost, delivered_as: str
) -> None:
    mode, reason = decide(host, make_conversation(delivered_as=delivered_as))
    assert mode == "skip"
    assert delivered_as in reason


def test_autopilot_off_in_the_plugin_section_skips(
    host: PluginHost, settings: Settings, restore_messenger: None
) -> None:
    messenger.startup(dataclasses.replace(settings, plugins={"messenger": {"autopilot": False}}))
    assert decide(host, make_conversation()) == ("skip", "autopilot off for messenger")


def test_the_workspace_switches_override_the_plugin_section(
    host: PluginHost, settings: Settings, restore_messenger: None
) -> None:
    messenger.startup(dataclasses.replace(settings, plugins={"messenger": {"autopilot": False}}))
    channels = {"messenger": ChannelSwitches(autopilot=True)}
    assert decide(host, make_conversation(), channels=channels)[0] == "autopilot"
    channels = {"messenger": ChannelSwitches(autopilot=False)}
    messenger.startup(settings)
    assert decide(host, make_conversation(), channels=channels)[0] == "skip"


def test_unassigned_conversations_wait_for_process_unassigned(host: PluginHost) -> None:
    unassigned = make_conversation(admin_assignee_id=None)
    assert decide(host, unassigned) == ("skip", "unassigned and process_unassigned is off")
    assert decide(host, unassigned, process_unassigned=True)[0] == "autopilot"


@pytest.mark.parametrize(
    "owner", [{"admin_assignee_id": "42"}, {"admin_assignee_id": None, "team_assignee_id": "7"}]
)
def test_human_owned_conversations_get_assist_only_when_assist_is_on(
    host: PluginHost, owner: dict[str, str | None], settings: Settings, restore_messenger: None
) -> None:
    mode, reason = decide(host, make_conversation(**owner))
    assert (mode, "owned by a human") == ("skip", reason[: len("owned by a human")])
    messenger.startup(dataclasses.replace(settings, plugins={"messenger": {"assist": True}}))
    assert decide(host, make_conversation(**owner))[0] == "assist"


@pytest.mark.parametrize(
    ("author", "app_code", "why"),
    [
        (Author("admin", TEST_AI_ADMIN_ID), None, "AI admin's own"),
        (Author("bot", "9608808", "Fin"), None, "from a bot"),
        (Author("admin", "42"), "deskmate-app", "through the API"),
    ],
)
def test_the_ai_never_answers_after_its_own_a_bot_or_an_api_message(
    host: PluginHost, author: Author, app_code: str | None, why: str
) -> None:
    part = Part("p2", "comment", "<p>Anything else?</p>", author, app_package_code=app_code)
    mode, reason = decide(host, make_conversation(parts=[part]))
    assert mode == "skip"
    assert why in reason


def test_a_later_customer_message_clears_the_own_message_rule(host: PluginHost) -> None:
    ours = Part("p2", "comment", "Hi", Author("admin", TEST_AI_ADMIN_ID))
    theirs = Part("p3", "comment", "Thanks, one more thing", Author("user", "contact-1"))
    assignment = Part("p4", "assignment", "", Author("admin", "42"))
    assert decide(host, make_conversation(parts=[ours, theirs, assignment]))[0] == "autopilot"


def test_the_real_fin_reply_payload_is_skipped_because_it_is_unassigned(host: PluginHost) -> None:
    conversation = sample_conversation("conversation.operator.replied.messenger.2x-shape.json")
    assert decide(host, conversation)[0] == "skip"


def test_hooks_answer_none_for_another_channel() -> None:
    turn = make_turn()
    draft_free_hooks: list[Callable[[], object]] = [
        lambda: messenger.should_process(turn, "email"),
        lambda: messenger.processing_delay("email", True),
        lambda: messenger.format_reply("email", None),  # type: ignore[arg-type]
    ]
    assert [hook() for hook in draft_free_hooks] == [None, None, None]


def test_the_first_message_waits_four_seconds_and_later_ones_go_at_once(host: PluginHost) -> None:
    conversation = make_conversation()
    first = host.hook.processing_delay(
        channel="messenger", conversation=conversation, first_message=True
    )
    later = host.hook.processing_delay(
        channel="messenger", conversation=conversation, first_message=False
    )
    assert (first, later) == (4.0, 0.0)


def test_delays_are_configurable(
    host: PluginHost, settings: Settings, restore_messenger: None
) -> None:
    section = {"initial_delay": 1.5, "followup_delay": 0.25}
    host.hook.startup(
        settings=dataclasses.replace(settings, plugins={"messenger": section}), app=None
    )
    conversation = make_conversation()
    assert (
        host.hook.processing_delay(
            channel="messenger", conversation=conversation, first_message=True
        )
        == 1.5
    )
    assert (
        host.hook.processing_delay(
            channel="messenger", conversation=conversation, first_message=False
        )
        == 0.25
    )


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"initial_delay": -1}, "initial_delay"),
        ({"initial_delay": "soon"}, "initial_delay"),
        ({"max_image_bytes": 10**12}, "max_image_bytes"),
        ({"image_hosts": "downloads.intercomcdn.com"}, "image_hosts"),
        ({"image_hosts": ["https://downloads.intercomcdn.com"]}, "image_hosts"),
        ({"image_hosts": ["cdn.test/images"]}, "image_hosts"),
        ({"image_timeout": 0}, "image_timeout"),
        ({"autopilott": True}, "autopilott"),
    ],
)
def test_bad_config_is_reported_by_key(section: dict[str, object], key: str) -> None:
    with pytest.raises(ValidationError) as error:
        messenger.MessengerConfig().load(section)
    assert key in error.value.messages


def test_both_channels_are_listed_with_their_hooks(host: PluginHost) -> None:
    hooks = {info.name: set(info.hooks) for info in host.report()}
    expected = {
        "channel_for",
        "should_process",
        "processing_delay",
        "normalize_message",
        "format_reply",
        "config_schema",
        "startup",
    }
    assert hooks == {"messenger": expected, "email": expected}


def test_both_channels_are_installed_as_entry_points() -> None:
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group="deskmate")}
    assert names["messenger"] == "deskmate.plugins.messenger"
    assert names["email"] == "deskmate.plugins.email"


def test_deskmate_plugins_lists_both_channels_with_their_hooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DESKMATE_CONFIG", "DESKMATE_LOAD_PLUGINS", "DESKMATE_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    listed = {p["name"]: p for p in json.loads(result.output)}
    for name in ("messenger", "email"):
        assert listed[name]["status"] == "loaded"
        assert {"channel_for", "should_process", "format_reply"} <= set(listed[name]["hooks"])
