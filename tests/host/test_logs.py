"""The log of ``serve`` and ``worker``: levels, text and JSON lines, one line per webhook, no
secret and no message body at INFO."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from deskmate.core.app import create_app
from deskmate.core.cli import cli
from deskmate.core.config import (
    ConfigInvalid,
    Secret,
    Settings,
    WorkspaceSettings,
    settings_from_mapping,
)
from deskmate.core.intercom.webhooks import WEBHOOK_PATH
from deskmate.core.logs import body_for_log, configure_logging, secret_values
from deskmate.core.store import db
from deskmate.testing import make_host

from .conftest import CONFIG, SECRETS
from .test_serve import STARTUP_TIMEOUT, _read_line, deskmate_command

BODY = "My card is 4111 1111 1111 1111 and my email is ada@example.com, please help"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def notification(app_id: str, topic: str = "conversation.user.created", nid: str = "n-1") -> bytes:
    doc = {
        "type": "notification_event",
        "app_id": app_id,
        "id": nid,
        "topic": topic,
        "created_at": 1700000000,
        "data": {
            "item": {
                "type": "conversation",
                "id": "123",
                "created_at": 1700000000,
                "source": {
                    "type": "conversation",
                    "id": "s1",
                    "delivered_as": "customer_initiated",
                    "body": f"<p>{BODY}</p>",
                    "author": {"type": "user", "id": "u1"},
                },
                "conversation_parts": {"conversation_parts": []},
            }
        },
    }
    return json.dumps(doc).encode()


def sign(body: bytes, secret: str) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_carry_time_level_fields_and_scrub_secrets() -> None:
    out = io.StringIO()
    configure_logging("info", "json", secrets=["s3cret-value"], stream=out)
    log = logging.getLogger("deskmate.test")

    log.info("token is s3cret-value", extra={"workspace": "w1", "outcome": "stored"})
    log.debug("not shown")

    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["level"] == "INFO"
    assert line["logger"] == "deskmate.test"
    assert line["message"] == "token is [redacted]"
    assert (line["workspace"], line["outcome"]) == ("w1", "stored")
    assert line["time"].endswith("Z") and "T" in line["time"]


@pytest.mark.usefixtures("restore_logging")
def test_text_lines_start_with_a_utc_timestamp_and_follow_the_level() -> None:
    out = io.StringIO()
    configure_logging("debug", "text", secrets=["s3cret-value"], stream=out)

    logging.getLogger("deskmate.test").debug("with s3cret-value")

    text = out.getvalue()
    assert text.endswith("DEBUG deskmate.test: with [redacted]\n")
    assert text[:4].isdigit() and text[23] == "Z"


def test_unknown_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log level must be one of"):
        configure_logging("loud", "text")
    with pytest.raises(ValueError, match="log format must be one of"):
        configure_logging("info", "xml")


def test_logging_section_is_validated_and_read() -> None:
    raw = {
        "workspaces": {
            "w": {
                "access_token": {"env": "T"},
                "client_secret": {"env": "C"},
                "ai_admin_id": "1",
            }
        },
        "logging": {"level": "debug", "format": "json"},
    }
    env = {"T": "token-value", "C": "secret-value"}
    settings = settings_from_mapping(raw, env=env)
    assert (settings.log_level, settings.log_format) == ("debug", "json")

    raw["logging"] = {"level": "verbose", "format": "yaml", "colour": True}
    with pytest.raises(ConfigInvalid) as caught:
        settings_from_mapping(raw, env=env)
    text = str(caught.value)
    assert "logging.level" in text and "logging.format" in text and "logging.colour" in text


def test_secret_values_lists_every_configured_secret() -> None:
    workspace = WorkspaceSettings(
        app_id="w",
        access_token=Secret("env", "A", "tok-123456"),
        client_secret=Secret("env", "B", "cs-123456"),
        ai_admin_id="1",
    )
    settings = Settings(
        workspaces={"w": workspace},
        admin_token=Secret("env", "C", "admin-123456"),
        database_url="postgresql://deskmate:pg-pass-123@db/deskmate",
    )
    assert set(secret_values(settings)) == {
        "tok-123456",
        "cs-123456",
        "admin-123456",
        "pg-pass-123",
    }


def test_bodies_for_debug_lines_are_redacted() -> None:
    shown = body_for_log(BODY)
    assert "4111" not in shown and "ada@example.com" not in shown
    assert "[card]" in shown and "[email]" in shown


def test_each_webhook_outcome_is_one_info_line_without_body_or_secret(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    db.upgrade(settings.resolved_database_url())
    client = create_app(settings, make_host(), testing=True).test_client()
    app_id, workspace = next(iter(settings.workspaces.items()))
    secret = workspace.client_secret.reveal()
    body = notification(app_id)
    caplog.set_level(logging.INFO, logger="deskmate")

    for signature in (sign(body, secret), sign(body, secret), "sha1=0000"):
        client.post(WEBHOOK_PATH, data=body, headers={"X-Hub-Signature": signature})

    lines = [r for r in caplog.records if r.name == "deskmate.core.intake"]
    assert [r.outcome for r in lines] == ["stored", "duplicate", "bad_signature"]
    assert all(r.levelno == logging.INFO for r in lines)
    stored = lines[0]
    assert (stored.workspace, stored.notification) == (app_id, "n-1")
    assert "notification n-1" in stored.getMessage() and app_id in stored.getMessage()
    assert "HTTP 401" in lines[2].getMessage()
    assert "4111" not in caplog.text and "ada@example.com" not in caplog.text
    assert secret not in caplog.text


def test_serve_writes_json_lines_that_parse(tmp_path: Path, config_file: Path) -> None:
    config_file.write_text(CONFIG + '\n[logging]\nformat = "json"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
    process = subprocess.Popen(
        [*deskmate_command(), "--config", str(config_file), "serve", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _read_line(process).split()[3]
        body = notification("testapp")
        request = urllib.request.Request(
            url + WEBHOOK_PATH,
            data=body,
            headers={"X-Hub-Signature": sign(body, SECRETS["TEST_INTERCOM_CLIENT_SECRET"])},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        time.sleep(0.5)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=STARTUP_TIMEOUT)

    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    webhook = [line for line in lines if line.get("outcome") == "stored"]
    assert webhook, err
    assert webhook[0]["workspace"] == "testapp"
    assert webhook[0]["notification"] == "n-1"
    assert any("SIGTERM" in line["message"] for line in lines)
    for secret in SECRETS.values():
        assert secret not in err
    assert "4111" not in err


@pytest.mark.usefixtures("config_file", "restore_logging")
def test_log_options_refuse_unknown_values() -> None:
    result = CliRunner().invoke(cli, ["serve", "--log-format", "xml"])
    assert result.exit_code == 2
    assert "Invalid value for '--log-format'" in result.output
    result = CliRunner().invoke(cli, ["worker", "--log-level", "loud"])
    assert result.exit_code == 2
    assert "Invalid value for '--log-level'" in result.output
