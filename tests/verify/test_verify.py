"""``deskmate verify``: each check against requests-mock, and the command end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from deskmate.core.cli import cli
from deskmate.core.config import Routing, Secret, Settings, WorkspaceSettings
from deskmate.core.intercom.client import IntercomClient, RetryPolicy
from deskmate.core.intercom.ratelimit import RateLimiter
from deskmate.core.verify import (
    WEBHOOK_TOPICS,
    VerifyReport,
    render_text,
    verify_settings,
)
from deskmate.testing import make_workspace

US = "https://api.intercom.io"
EU = "https://api.eu.intercom.io"
AU = "https://api.au.intercom.io"
TOKEN = "verify-secret-token-0123456789"
APP = "abc123"

ME = {
    "type": "admin",
    "id": "991",
    "name": "Token Owner",
    "app": {"type": "app", "id_code": APP, "name": "Acme", "region": "US"},
}
ADMINS = {
    "type": "admin.list",
    "admins": [{"type": "admin", "id": "999", "name": "AI Bot"}, {"id": "42", "name": "Ann"}],
}
TEAMS = {"type": "team.list", "teams": [{"type": "team", "id": "5017", "name": "Billing"}]}
CONVERSATIONS = {"type": "conversation.list", "conversations": [], "pages": {}}


def workspace(**overrides: Any) -> WorkspaceSettings:
    fields: dict[str, Any] = {
        "app_id": APP,
        "name": "Acme",
        "access_token": Secret("env", "INTERCOM_ACCESS_TOKEN", TOKEN),
    }
    return make_workspace(**(fields | overrides))


def fast_client(ws: WorkspaceSettings) -> IntercomClient:
    """A client that never really sleeps or waits on the process-wide limiter."""
    return IntercomClient(
        ws,
        limiter=RateLimiter(10000),
        sleep=lambda _: None,
        retry=RetryPolicy(max_retries=0, max_rate_limit_retries=0),
    )


def run(*workspaces: WorkspaceSettings, email: bool = False, **settings: Any) -> VerifyReport:
    config = Settings(workspaces={ws.app_id: ws for ws in workspaces}, **settings)
    return verify_settings(config, email_channel=email, make_client=fast_client)


def statuses(report: VerifyReport) -> dict[str, str]:
    return {check.name: check.status for check in report.workspaces[0].checks}


def mock_healthy(requests_mock: Any, host: str = US) -> None:
    requests_mock.get(
        f"{host}/me", json=ME | {"app": ME["app"] | {"region": "EU"}} if host == EU else ME
    )
    requests_mock.get(f"{host}/admins", json=ADMINS)
    requests_mock.get(f"{host}/teams", json=TEAMS)
    requests_mock.get(f"{host}/conversations", json=CONVERSATIONS)


def error(code: str, message: str) -> dict[str, Any]:
    return {
        "type": "error.list",
        "request_id": "r-1",
        "errors": [{"code": code, "message": message}],
    }


def test_a_healthy_workspace_passes_every_check(requests_mock: Any) -> None:
    mock_healthy(requests_mock)
    report = run(workspace(), public_url="https://desk.example.com")
    assert report.ok
    assert statuses(report) == {
        "token": "ok",
        "region": "ok",
        "ai_admin": "ok",
        "routing": "ok",
        "conversations": "ok",
    }
    assert report.webhook_url == "https://desk.example.com/webhooks/intercom"
    assert report.notes == []
    assert requests_mock.request_history[-1].qs == {"per_page": ["1"]}


def test_a_401_on_the_us_host_for_an_eu_token_suggests_the_region(requests_mock: Any) -> None:
    requests_mock.get(
        f"{US}/me", status_code=401, json=error("unauthorized", "Access Token Invalid")
    )
    requests_mock.get(f"{EU}/me", json=ME)
    requests_mock.get(f"{AU}/me", status_code=401, json=error("unauthorized", "invalid"))
    report = run(workspace())
    token = report.workspaces[0].checks[0]
    assert (token.name, token.status) == ("token", "fail")
    assert 'region = "eu"' in token.fix
    assert statuses(report)["ai_admin"] == "skip"
    assert not report.ok


def test_a_token_refused_everywhere_says_regenerate(requests_mock: Any) -> None:
    for host in (US, EU, AU):
        requests_mock.get(f"{host}/me", status_code=401, json=error("unauthorized", "invalid"))
    token = run(workspace()).workspaces[0].checks[0]
    assert "Regenerate the access token" in token.fix
    assert "the environment variable INTERCOM_ACCESS_TOKEN" in token.fix


def test_a_region_mismatch_fails_with_the_region_to_set(requests_mock: Any) -> None:
    requests_mock.get(f"{US}/me", json=ME | {"app": ME["app"] | {"region": "AU"}})
    report = run(workspace())
    region = next(c for c in report.workspaces[0].checks if c.name == "region")
    assert region.status == "fail" and 'region = "au"' in region.fix


def test_a_token_of_another_workspace_fails(requests_mock: Any) -> None:
    requests_mock.get(f"{US}/me", json=ME | {"app": ME["app"] | {"id_code": "other"}})
    check = next(c for c in run(workspace()).workspaces[0].checks if c.name == "workspace")
    assert check.status == "fail" and "[workspaces.other]" in check.fix


def test_a_missing_ai_admin_lists_the_admins(requests_mock: Any) -> None:
    mock_healthy(requests_mock)
    report = run(workspace(ai_admin_id="123"))
    check = next(c for c in report.workspaces[0].checks if c.name == "ai_admin")
    assert check.status == "fail"
    assert "AI Bot (999)" in check.fix and "Ann (42)" in check.fix


@pytest.mark.parametrize(
    ("routing", "status"),
    [
        (Routing("team", team_id="5017"), "ok"),
        (Routing("team", team_id="1"), "fail"),
        (Routing("admin", admin_id="42"), "ok"),
        (Routing("admin", admin_id="7"), "fail"),
    ],
)
def test_routing_targets_must_exist(requests_mock: Any, routing: Routing, status: str) -> None:
    mock_healthy(requests_mock)
    report = run(workspace(routing=routing))
    assert statuses(report)["routing"] == status
    if status == "fail":
        check = next(c for c in report.workspaces[0].checks if c.name == "routing")
        assert "Billing (5017)" in check.fix or "Ann (42)" in check.fix


def test_plan_restriction_on_conversations_gives_plan_advice(requests_mock: Any) -> None:
    mock_healthy(requests_mock)
    requests_mock.get(
        f"{US}/conversations",
        status_code=403,
        json=error("api_plan_restricted", "Active subscription needed."),
    )
    report = run(workspace())
    check = next(c for c in report.workspaces[0].checks if c.name == "conversations")
    assert check.status == "fail" and "plan" in check.fix
    assert not report.ok


def test_unreachable_intercom_says_check_the_network(requests_mock: Any) -> None:
    requests_mock.get("http://127.0.0.1:9/me", exc=requests.exceptions.ConnectionError)
    report = run(workspace(base_url="http://127.0.0.1:9"))
    check = report.workspaces[0].checks[0]
    assert check.status == "fail" and "reach http://127.0.0.1:9" in check.fix


def test_email_channel_warns_about_email_replies_without_failing(requests_mock: Any) -> None:
    mock_healthy(requests_mock)
    report = run(workspace(), email=True, public_url="https://desk.example.com")
    assert statuses(report)["email_replies"] == "warn"
    assert report.ok


def test_plain_http_public_url_warns(requests_mock: Any) -> None:
    mock_healthy(requests_mock)
    report = run(workspace(), public_url="http://127.0.0.1:8080")
    assert [n.name for n in report.notes] == ["webhook_url"]
    assert report.ok


def test_an_unusable_token_fails_without_calling_intercom(requests_mock: Any) -> None:
    bad = workspace(access_token=Secret("env", "INTERCOM_ACCESS_TOKEN", ""))
    report = run(bad)
    assert statuses(report) == {"token": "fail"}
    assert not requests_mock.called


def test_text_checklist_shows_marks_fixes_webhook_and_topics(requests_mock: Any) -> None:
    mock_healthy(requests_mock)
    text = render_text(run(workspace(ai_admin_id="123"), public_url="https://d.example.com"))
    assert "✓ Access token valid: Token Owner (991) in Acme (abc123)" in text
    assert "✗ AI admin 123 is not one of" in text
    assert "fix: Set ai_admin_id" in text
    assert "https://d.example.com/webhooks/intercom" in text
    assert all(topic in text for topic in WEBHOOK_TOPICS)
    assert text.endswith("1 check failed.")
    assert TOKEN not in text


# -- the command --------------------------------------------------------------------------------


def write_config(tmp_path: Path, ai_admin_id: str = "999") -> Path:
    path = tmp_path / "deskmate.toml"
    path.write_text(
        'public_url = "https://desk.example.com"\n'
        f"[workspaces.{APP}]\n"
        'access_token = { env = "INTERCOM_ACCESS_TOKEN" }\n'
        'client_secret = { env = "INTERCOM_CLIENT_SECRET" }\n'
        f'ai_admin_id = "{ai_admin_id}"\n'
        "[plugins.email]\nenabled = false\n"
    )
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("INTERCOM_CLIENT_SECRET", "client-secret-value")
    monkeypatch.delenv("DESKMATE_CONFIG", raising=False)


@pytest.mark.usefixtures("env")
def test_command_prints_the_checklist_and_exits_0(requests_mock: Any, tmp_path: Path) -> None:
    mock_healthy(requests_mock)
    result = CliRunner().invoke(cli, ["--config", str(write_config(tmp_path)), "verify"])
    assert result.exit_code == 0, result.output
    assert "All checks passed." in result.output
    assert "https://desk.example.com/webhooks/intercom" in result.output
    assert TOKEN not in result.output


@pytest.mark.usefixtures("env")
def test_command_json_and_exit_1_on_failure(requests_mock: Any, tmp_path: Path) -> None:
    mock_healthy(requests_mock)
    config = write_config(tmp_path, ai_admin_id="123")
    result = CliRunner().invoke(cli, ["--config", str(config), "verify", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False
    assert data["webhook"]["topics"] == list(WEBHOOK_TOPICS)
    checks = {c["name"]: c for c in data["workspaces"][0]["checks"]}
    assert checks["ai_admin"]["status"] == "fail" and checks["ai_admin"]["fix"]
    assert TOKEN not in result.output


@pytest.mark.usefixtures("env")
def test_command_with_a_broken_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "deskmate.toml"
    path.write_text("[workspaces.x]\naccess_token = 'inline'\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "verify"])
    assert result.exit_code == 2
    assert "inline" not in result.output
