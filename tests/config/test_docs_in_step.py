"""docs/configuration.md documents exactly the keys the schemas accept: no more, no fewer.

Core keys come from ``SettingsSchema``; plugin keys from the ``config_schema`` of every plugin
deskmate ships (its entry points and its built-in defaults). Add a key to a schema and this test
prints the table row to add.
"""

from __future__ import annotations

import re
from collections import Counter
from importlib import metadata
from pathlib import Path

from marshmallow import fields, missing

from deskmate.core.config import SettingsSchema, config_keys
from deskmate.core.plugins import DEFAULT_PLUGINS, ENTRY_POINT_GROUP, make_plugin_manager

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
ROW = re.compile(r"^\|\s*`([a-z_<][a-z0-9_.<>-]*)`\s*\|", re.MULTILINE)


def _built_in_plugins() -> list[str]:
    shipped = [
        ep.name
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
        if ep.value.startswith("deskmate.")
    ]
    return [*DEFAULT_PLUGINS, *shipped]


def _schema_fields() -> dict[str, fields.Field]:
    """Every key path the core and the built-in plugins accept, with its field."""
    found = _fields_of(SettingsSchema(), "")
    host = make_plugin_manager({}, env={})
    for name in _built_in_plugins():
        schema = host.section_schema(name)
        if schema is not None:
            found |= _fields_of(schema() if isinstance(schema, type) else schema, f"plugins.{name}")
    return found


def _fields_of(schema, prefix: str) -> dict[str, fields.Field]:
    keys = config_keys(schema, prefix)
    leaves = _leaf_fields(schema)
    return dict(zip(keys, leaves, strict=True))


def _leaf_fields(schema) -> list[fields.Field]:
    leaves: list[fields.Field] = []
    for fld in schema.fields.values():
        if isinstance(fld, fields.Nested):
            leaves += _leaf_fields(fld.schema)
        elif isinstance(fld, fields.Dict) and isinstance(fld.value_field, fields.Nested):
            leaves += _leaf_fields(fld.value_field.schema)
        else:
            leaves.append(fld)
    return leaves


def _documented() -> list[str]:
    return ROW.findall(DOC.read_text(encoding="utf-8"))


def _suggested_row(path: str, fld: fields.Field) -> str:
    if fld.required:
        default = "**required**"
    elif fld.load_default is missing:
        default = "none"
    elif callable(fld.load_default):
        default = f"`{fld.load_default()!r}`"
    else:
        default = f"`{fld.load_default!r}`"
    section = path.rsplit(".", 1)[0]
    return f"  in [{section}]: | `{path}` | {type(fld).__name__} | {default} | <what it does> |"


def test_every_key_the_schemas_accept_is_documented():
    accepted = _schema_fields()
    undocumented = sorted(set(accepted) - set(_documented()))

    rows = "\n".join(_suggested_row(path, accepted[path]) for path in undocumented)
    assert not undocumented, (
        f"{DOC.name} does not document these keys; add a row for each to the table of its "
        f"section (type, default and meaning in plain words):\n{rows}"
    )


def test_every_documented_key_exists():
    accepted = _schema_fields()
    stale = sorted(set(_documented()) - set(accepted))

    assert not stale, (
        f"{DOC.name} documents keys no schema accepts; remove their rows, or add the keys to "
        f"the schema they belong to: {', '.join(stale)}"
    )


def test_no_key_is_documented_twice():
    twice = sorted(key for key, count in Counter(_documented()).items() if count > 1)

    assert not twice, f"{DOC.name} has more than one row for: {', '.join(twice)}"


def test_the_check_reads_the_reference_tables():
    documented = set(_documented())

    assert {"public_url", "workspaces.<app_id>.region", "plugins.<name>.enabled"} <= documented
    assert not any(key.startswith("DESKMATE_") for key in documented)
