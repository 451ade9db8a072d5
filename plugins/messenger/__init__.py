"""The messenger plugin."""

from marshmallow import Schema, fields

from deskmate.hookspecs import hookimpl


class MessengerConfig(Schema):
    """Options of the `[plugins.messenger]` section."""

    autopilot = fields.Boolean(load_default=True)


@hookimpl
def config_schema() -> type[Schema]:
    return MessengerConfig
