"""``[plugins.*]`` sections: validated by each plugin's schema; a bad one fails only that plugin."""

from __future__ import annotations

import types

import pytest
from marshmallow import Schema, ValidationError, fields, validates

from deskmate import hookimpl
from deskmate.core.config import (
    ConfigInvalid,
    Int,
    SecretField,
    Str,
    load,
    load_settings,
    validate_plugin_sections,
)
from deskmate.core.plugins import make_plugin_manager
from deskmate.testing import plugin_config


class CrmConfig(Schema):
    endpoint = Str(required=True)
    timeout = Int(load_default=5)
    api_key = SecretField(env_example="CRM_API_KEY")


def _plugin(schema: object) -> types.SimpleNamespace:
    @hookimpl
    def config_schema() -> object:
        return schema

    return types.SimpleNamespace(config_schema=config_schema)


CRM = _plugin(CrmConfig)


def _load(path, env, *plugins: tuple[str, object], strict: bool = False):
    return load(path, env, strict=strict, extra_plugins=plugins)


def test_a_valid_section_is_stored_with_its_defaults(write_config, env):
    env["CRM_API_KEY"] = "crm-key-value"
    path = write_config(
        '[plugins.crm]\nendpoint = "https://crm.example"\napi_key = { env = "CRM_API_KEY" }\n'
    )

    settings, host = _load(path, env, ("crm", CRM))

    section = settings.plugin_config("crm")
    assert (section["endpoint"], section["timeout"], section["enabled"]) == (
        "https://crm.example",
        5,
        True,
    )
    assert section["api_key"].reveal() == "crm-key-value"
    assert "crm-key-value" not in repr(settings)
    assert host.infos["crm"].status == "loaded"


def test_built_in_plugins_get_their_defaults_without_a_section(write_config, env):
    settings, host = _load(write_config(), env)

    assert host.infos["messenger"].status == "loaded"
    assert settings.plugin_config("messenger")["enabled"] is True


def test_an_invalid_section_fails_only_its_plugin(write_config, env, caplog):
    path = write_config('[plugins.crm]\ntimeout = "soon"\n')

    settings, host = _load(path, env, ("crm", CRM))

    assert host.infos["crm"].status == "failed"
    assert "plugins.crm.endpoint: is required" in host.infos["crm"].reason
    assert host.plugin("crm") is None
    assert {"messenger", "email"} <= set(host.loaded())
    assert "crm" not in settings.plugins
    assert "plugins.crm.timeout: must be a whole number" in caplog.text


def test_strict_loading_reports_every_plugin_problem(write_config, env):
    path = write_config('[plugins.crm]\ntimeout = "soon"\n')

    with pytest.raises(ConfigInvalid) as caught:
        _load(path, env, ("crm", CRM), strict=True)

    paths = {e.path: e.message for e in caught.value.errors}
    assert paths == {
        "plugins.crm.endpoint": "is required",
        "plugins.crm.timeout": ("must be a whole number"),
    }


def test_strict_follows_the_strict_plugins_switch(write_config, env):
    env["DESKMATE_STRICT_PLUGINS"] = "1"
    path = write_config('[plugins.crm]\ntimeout = "soon"\n')

    with pytest.raises(ConfigInvalid):
        load(path, env, extra_plugins=[("crm", CRM)])


def test_misspelt_enabled_names_the_key_and_suggests_the_fix(write_config, env):
    path = write_config("[plugins.messenger]\nenabeld = true\n")

    with pytest.raises(ConfigInvalid) as caught:
        _load(path, env, strict=True)

    (error,) = caught.value.errors
    assert (error.path, error.message, error.hint) == (
        "plugins.messenger.enabeld",
        "unknown key",
        "did you mean 'enabled'?",
    )


def test_a_plugin_without_a_schema_accepts_only_enabled(write_config, env):
    path = write_config("[plugins.bare]\ncolour = 'red'\n")

    with pytest.raises(ConfigInvalid) as caught:
        _load(path, env, ("bare", types.SimpleNamespace()), strict=True)

    assert [e.path for e in caught.value.errors] == ["plugins.bare.colour"]


def test_a_section_for_a_plugin_that_does_not_exist_suggests_one(write_config, env):
    path = write_config("[plugins.mesenger]\nenabled = true\n")

    with pytest.raises(ConfigInvalid) as caught:
        _load(path, env, strict=True)

    (error,) = caught.value.errors
    assert error.path == "plugins.mesenger"
    assert error.message == "no plugin with this name is installed"
    assert error.hint == "did you mean 'messenger'?"


def test_a_channel_override_must_name_a_plugin(write_config, env):
    path = write_config("[workspaces.abc123.channels.emial]\nautopilot = false\n")

    with pytest.raises(ConfigInvalid) as caught:
        _load(path, env, strict=True)

    (error,) = caught.value.errors
    assert error.path == "workspaces.abc123.channels.emial"
    assert error.hint == "did you mean 'email'?"


def test_enabled_must_be_a_boolean_before_plugins_are_chosen(write_config, env):
    path = write_config('[plugins.messenger]\nenabled = "false"\n')

    with pytest.raises(ConfigInvalid) as caught:
        load_settings(path, env)

    assert [str(e) for e in caught.value.errors] == [
        "plugins.messenger.enabled: must be true or false (e.g. enabled = true)"
    ]


def test_a_disabled_plugin_is_not_loaded_and_its_section_not_checked(write_config, env):
    path = write_config("[plugins.crm]\nenabled = false\ntimeout = 'later'\n")

    settings, host = _load(path, env, ("crm", CRM), strict=True)

    assert host.infos["crm"].status == "disabled"
    assert settings.plugin_config("crm") == {}


class Exploding(Schema):
    value = fields.String()

    @validates("value")
    def _boom(self, value: str, **kwargs: object) -> None:
        raise RuntimeError("bug in the plugin")


@pytest.mark.parametrize(
    ("schema", "message"),
    [(Exploding, "bug in the plugin"), ("not a schema", "not a Schema")],
)
def test_a_broken_plugin_schema_fails_that_plugin_with_a_reason(write_config, env, schema, message):
    path = write_config("[plugins.odd]\nvalue = 'x'\n")

    _, host = _load(path, env, ("odd", _plugin(schema)))

    assert host.infos["odd"].status == "failed"
    assert message in host.infos["odd"].reason
    assert host.infos["messenger"].status == "loaded"


def test_a_schema_instance_works_like_a_class(write_config, env):
    path = write_config('[plugins.crm]\nendpoint = "https://crm.example"\n')

    settings, _ = _load(path, env, ("crm", _plugin(CrmConfig())))

    assert settings.plugin_config("crm")["timeout"] == 5


def test_plugin_validation_messages_keep_their_own_wording(write_config, env):
    class Picky(Schema):
        level = fields.Integer()

        @validates("level")
        def _range(self, value: int, **kwargs: object) -> None:
            if value > 3:
                raise ValidationError("must be 3 or less")

    path = write_config("[plugins.picky]\nlevel = 9\n")

    with pytest.raises(ConfigInvalid) as caught:
        _load(path, env, ("picky", _plugin(Picky)), strict=True)

    assert [str(e) for e in caught.value.errors] == ["plugins.picky.level: must be 3 or less"]


def test_validate_plugin_sections_returns_the_problems_and_fails_the_plugin():
    host = make_plugin_manager({}, env={}, entry_points=(), extra_plugins=[("crm", CRM)])

    errors = validate_plugin_sections({"crm": {"timeout": 1}}, host)

    assert [e.path for e in errors] == ["plugins.crm.endpoint"]
    assert host.infos["crm"].status == "failed"


def test_plugin_authors_can_check_their_section_in_one_call():
    section = plugin_config(
        CRM, {"endpoint": "https://crm.example", "api_key": {"env": "K"}}, env={"K": "v"}
    )

    assert (section["timeout"], section["api_key"].reveal()) == (5, "v")
    with pytest.raises(ConfigInvalid) as caught:
        plugin_config(CRM, {"endpont": "https://crm.example"}, name="crm")
    assert {str(e) for e in caught.value.errors} == {
        "plugins.crm.endpont: unknown key (did you mean 'endpoint'?)",
        "plugins.crm.endpoint: is required",
    }
