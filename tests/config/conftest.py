"""A minimal valid config, its secrets, and a writer for config files in a temporary folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from deskmate.core.config import ConfigError, ConfigInvalid, load_settings

TOKEN = "tok-5f1e2c7a-never-print-me"
CLIENT_SECRET = "cs-91b0d3aa-never-print-me"
ADMIN_TOKEN = "adm-c44e01f2-never-print-me"
SECRET_VALUES = (TOKEN, CLIENT_SECRET, ADMIN_TOKEN)

SECRET_ENV = {
    "INTERCOM_ACCESS_TOKEN": TOKEN,
    "INTERCOM_CLIENT_SECRET": CLIENT_SECRET,
    "DESKMATE_ADMIN_TOKEN": ADMIN_TOKEN,
}

MINIMAL = """
public_url = "https://help.acme.test/"
admin_token = { env = "DESKMATE_ADMIN_TOKEN" }

[workspaces.abc123]
access_token = { env = "INTERCOM_ACCESS_TOKEN" }
client_secret = { env = "INTERCOM_CLIENT_SECRET" }
ai_admin_id = "4242"
"""

WriteConfig = Callable[..., Path]


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write a config to ``tmp_path``: ``top`` keys, ``MINIMAL``, then ``extra`` lines (which land
    in the ``[workspaces.abc123]`` table unless they open another); or ``text`` alone."""

    def write(
        extra: str = "", *, top: str = "", text: str | None = None, name: str = "deskmate.toml"
    ) -> Path:
        path = tmp_path / name
        parts = (top, MINIMAL, extra) if text is None else (text,)
        body = "\n".join(textwrap.dedent(part) for part in parts)
        path.write_text(body, encoding="utf-8")
        return path

    return write


@pytest.fixture
def secret_values() -> tuple[str, ...]:
    """The secret values of ``env``: none may ever appear in output, errors or reprs."""
    return SECRET_VALUES


@pytest.fixture
def env() -> dict[str, str]:
    """An environment holding the minimal config's secrets (and nothing else)."""
    return dict(SECRET_ENV)


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own config and plugin switches out of these tests."""
    for name in (
        "DESKMATE_CONFIG",
        "DESKMATE_LOAD_PLUGINS",
        "DESKMATE_DISABLE_PLUGINS",
        "DESKMATE_STRICT_PLUGINS",
        "DESKMATE_TRACE_PLUGINS",
        *SECRET_ENV,
    ):
        monkeypatch.delenv(name, raising=False)


def _errors_by_path(path: Path, env: dict[str, str]) -> dict[str, ConfigError]:
    with pytest.raises(ConfigInvalid) as caught:
        load_settings(path, env)
    return {error.path: error for error in caught.value.errors}


@pytest.fixture
def errors_of() -> Callable[[Path, dict[str, str]], dict[str, ConfigError]]:
    """Load a config that must be invalid; return its problems keyed by key path."""
    return _errors_by_path
