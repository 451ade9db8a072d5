"""The email plugin."""

from marshmallow import Schema, fields

from deskmate.hookspecs import hookimpl


class EmailConfig(Schema):
    """Options of the `[plugins.email]` section."""

    autopilot = fields.Boolean(load_default=True)


@hookimpl
def config_schema() -> type[Schema]:
    return EmailConfig
