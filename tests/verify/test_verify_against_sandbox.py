"""`deskmate verify` against the local sandbox: passes with the right token, explains a bad one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from deskmate.core.cli import cli
from deskmate.core.sandbox import SandboxServer
from deskmate.testing import SANDBOX_AI_ADMIN_ID, TEST_APP_ID, make_workspace

CONFIG = """
public_url = "https://deskmate.example.com"
[workspaces.{app_id}]
access_token = {{ env = "SANDBOX_TOKEN" }}
client_secret = {{ env = "SANDBOX_SECRET" }}
ai_admin_id = "{ai}"
base_url = "{base_url}"
[workspaces.{app_id}.routing]
mode = "team"
team_id = "{team}"
"""


@pytest.fixture
def config(tmp_path: Path, intercom_sandbox: SandboxServer) -> Path:
    path = tmp_path / "deskmate.toml"
    path.write_text(
        CONFIG.format(
            app_id=TEST_APP_ID,
            ai=SANDBOX_AI_ADMIN_ID,
            base_url=intercom_sandbox.base_url,
            team="2000001",
        )
    )
    return path


def run_verify(config: Path, token: str, *args: str) -> tuple[int, str]:
    secret = make_workspace().client_secret.reveal()
    env = {"SANDBOX_TOKEN": token, "SANDBOX_SECRET": secret}
    result = CliRunner().invoke(cli, ["--config", str(config), "verify", *args], env=env)
    return result.exit_code, result.output


def test_verify_passes_against_the_sandbox_and_prints_the_webhook_set_up(config: Path) -> None:
    code, output = run_verify(config, make_workspace().access_token.reveal())
    assert code == 0, output
    assert "https://deskmate.example.com/webhooks/intercom" in output
    for topic in (
        "conversation.user.created",
        "conversation.user.replied",
        "conversation.admin.replied",
        "conversation.admin.assigned",
        "conversation.admin.closed",
    ):
        assert topic in output


def test_verify_with_another_token_fails_and_says_what_to_do(config: Path) -> None:
    wrong = "not-the-sandbox-token"
    code, output = run_verify(config, wrong, "--json")
    assert code == 1
    assert wrong not in output, "a token never appears in verify's output"
    report = json.loads(output)
    checks = {c["name"]: c for w in report["workspaces"] for c in w["checks"]}
    assert checks["token"]["status"] == "fail"
    assert "Regenerate the access token" in checks["token"]["fix"]
    assert "SANDBOX_TOKEN" in checks["token"]["fix"], "the fix names the variable to update"
