"""deskmate's public fixtures: plugin_host, settings, and the make_* builders."""

pytest_plugins = ["deskmate.testing"]
