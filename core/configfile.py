"""Where deskmate's config file is: its default name, and the variable that names another one.

Kept apart from :mod:`deskmate.core.config` so the command line can show them in ``--help``
without importing the config machinery.
"""

DEFAULT_CONFIG_NAME = "deskmate.toml"
CONFIG_ENV = "DESKMATE_CONFIG"
