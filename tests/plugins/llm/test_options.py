"""``[plugins.llm]``: off until an endpoint and a model are set, the key by reference only,
workspace overrides on top of the section."""

from __future__ import annotations

import pytest

from deskmate.core.config import ConfigInvalid
from deskmate.plugins import llm
from deskmate.plugins.llm.options import options_for
from deskmate.testing import make_turn, plugin_config

BASE = {"base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini"}


def test_the_plugin_is_off_without_an_endpoint_and_a_model(settings):
    assert not options_for({}).configured
    assert not options_for({"base_url": BASE["base_url"]}).configured
    assert llm.generate_reply(turn=make_turn(settings=settings), hits=[]) is None


def test_the_key_resolves_from_the_environment_and_never_shows():
    section = plugin_config(
        llm, BASE | {"api_key": {"env": "OPENAI_KEY"}}, name="llm", env={"OPENAI_KEY": "sk-abc"}
    )
    options = options_for(section)
    assert options.key() == "sk-abc"
    assert "sk-abc" not in repr(options)


def test_a_key_written_in_the_file_is_refused_without_echoing_it():
    with pytest.raises(ConfigInvalid) as caught:
        plugin_config(llm, BASE | {"api_key": "sk-live-123"}, name="llm")
    assert "plugins.llm.api_key" in str(caught.value)
    assert "sk-live-123" not in str(caught.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("on_failure", "retry_forever"),
        ("temperature", 3.0),
        ("base_url", "ftp://models.example"),
        ("max_output_tokens", 0),
    ],
)
def test_bad_values_name_their_key(key, value):
    with pytest.raises(ConfigInvalid) as caught:
        plugin_config(llm, BASE | {key: value}, name="llm")
    assert f"plugins.llm.{key}" in str(caught.value)


def test_a_workspace_override_replaces_only_its_keys():
    section = BASE | {
        "temperature": 0.1,
        "max_reply_chars": {"messenger": 600},
        "workspaces": {"eu-app": {"base_url": "http://localhost:11434/v1", "model": "llama3.1"}},
    }
    eu, other = options_for(section, "eu-app"), options_for(section, "us-app")
    assert (eu.base_url, eu.model, eu.temperature) == ("http://localhost:11434/v1", "llama3.1", 0.1)
    assert (other.base_url, other.model) == (BASE["base_url"], BASE["model"])
    assert eu.reply_limit("messenger") == 600 and eu.reply_limit("email") == 4000


def test_a_workspace_can_switch_the_model_on_for_itself_only():
    section = {"workspaces": {"eu-app": BASE}}
    assert options_for(section, "eu-app").configured
    assert not options_for(section, "us-app").configured


def test_an_unknown_workspace_key_is_refused():
    with pytest.raises(ConfigInvalid) as caught:
        plugin_config(llm, BASE | {"workspaces": {"eu": {"modle": "x"}}}, name="llm")
    assert "modle" in str(caught.value)
