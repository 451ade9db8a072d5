"""The knowledge_sync plugin."""

from marshmallow import Schema, fields

from deskmate.hookspecs import hookimpl


class Knowledge_syncConfig(Schema):
    """Options of the `[plugins.knowledge_sync]` section."""

    autopilot = fields.Boolean(load_default=True)


@hookimpl
def config_schema() -> type[Schema]:
    return Knowledge_syncConfig
