"""A config file for the commands that need one, with its secrets in the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIG = """
public_url = "http://127.0.0.1:8080"

[workspaces.testapp]
access_token = { env = "TEST_INTERCOM_TOKEN" }
client_secret = { env = "TEST_INTERCOM_CLIENT_SECRET" }
ai_admin_id = "999"
"""

SECRETS = {
    "TEST_INTERCOM_TOKEN": "tok-never-shown",
    "TEST_INTERCOM_CLIENT_SECRET": "cs-never-shown",
}


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path/deskmate.toml`` with one workspace, used via the cwd and ``DESKMATE_CONFIG``."""
    path = tmp_path / "deskmate.toml"
    path.write_text(CONFIG)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DESKMATE_CONFIG", str(path))
    monkeypatch.chdir(tmp_path)
    return path
