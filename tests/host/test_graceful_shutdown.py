"""SIGTERM with a conversation in flight: ``serve`` and ``worker`` take no new work, finish the
Intercom write they are making, settle its event and exit 0; a restart loses and repeats nothing.

Real processes against the sandbox on loopback; the sandbox holds every reply for a few seconds
(a ``status 0`` fault), so the signal arrives while the AI's write to Intercom is under way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from huey import MemoryHuey
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from deskmate.core.intercom.webhooks import WEBHOOK_PATH
from deskmate.core.jobs import JobQueue
from deskmate.core.sandbox import SandboxServer
from deskmate.core.store.models import ActionRecord, ActionStatus, EventRecord, EventStatus
from deskmate.testing import SANDBOX_AI_ADMIN_ID, make_workspace

from .test_serve import STARTUP_TIMEOUT, deskmate_command

REPLY_LATENCY_MS = 3000
WAIT = 60.0


def config_text(sandbox_url: str) -> str:
    return f"""
public_url = "http://127.0.0.1:8080"

[workspaces.testapp]
access_token = {{ env = "TEST_INTERCOM_TOKEN" }}
client_secret = {{ env = "TEST_INTERCOM_CLIENT_SECRET" }}
ai_admin_id = "{SANDBOX_AI_ADMIN_ID}"
base_url = "{sandbox_url}"
process_unassigned = true

[plugins.messenger]
initial_delay = 0
"""


class Processes:
    """Starts ``deskmate`` commands on one config; kills whatever is left at the end."""

    def __init__(self, config: Path) -> None:
        self.config = config
        workspace = make_workspace()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
        self.env["TEST_INTERCOM_TOKEN"] = workspace.access_token.reveal()
        self.env["TEST_INTERCOM_CLIENT_SECRET"] = workspace.client_secret.reveal()
        self.started: list[subprocess.Popen[str]] = []

    def start(self, *args: str, ready: str) -> tuple[subprocess.Popen[str], str]:
        """Run ``deskmate --config … ARGS`` and wait for the stdout line starting with ``ready``."""
        process = subprocess.Popen(
            [*deskmate_command(), "--config", str(self.config), *args],
            cwd=self.config.parent,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()))
        reader.start()
        reader.join(STARTUP_TIMEOUT)
        if not lines or not lines[0].startswith(ready):
            process.kill()
            pytest.fail(f"deskmate {args[0]} did not start: {process.communicate()[1]}")
        return process, lines[0]

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.communicate()


@pytest.fixture
def processes(tmp_path: Path, intercom_sandbox: SandboxServer) -> Iterator[Processes]:
    config = tmp_path / "deskmate.toml"
    config.write_text(config_text(intercom_sandbox.base_url))
    running = Processes(config)
    yield running
    running.close()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def rows(engine: Engine, model: type) -> list:
    with engine.connect() as connection:
        return list(connection.execute(select(model)))


def ai_notes(sandbox: SandboxServer, conversation: str) -> list[dict]:
    token = make_workspace().access_token.reveal()
    response = requests.get(
        f"{sandbox.base_url}/conversations/{conversation}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    parts = response.json()["conversation_parts"]["conversation_parts"]
    return [
        p
        for p in parts
        if p["part_type"] == "note" and str(p["author"]["id"]) == SANDBOX_AI_ADMIN_ID
    ]


@pytest.mark.parametrize("stopped", ["serve", "worker"])
def test_sigterm_finishes_the_write_in_flight_and_a_restart_repeats_nothing(
    processes: Processes, intercom_sandbox: SandboxServer, tmp_path: Path, stopped: str
) -> None:
    embedded = "1" if stopped == "serve" else "0"
    serve, line = processes.start(
        "serve", "--port", "0", "--workers", embedded, "--log-format", "json", ready="deskmate"
    )
    url = line.split()[3]
    worker_args = ("worker", "--workers", "1", "--log-format", "json")
    worker = processes.start(*worker_args, ready="deskmate")[0] if stopped == "worker" else None
    target = serve if worker is None else worker
    intercom_sandbox.sandbox.webhooks.configure(url=url + WEBHOOK_PATH, duplicate=1)
    control = f"{intercom_sandbox.base_url}/_sandbox"
    fault = {"status": 0, "rate": 1.0, "latency_ms": REPLY_LATENCY_MS}
    fault["paths"] = ["/conversations/*/reply"]
    requests.post(f"{control}/faults", json=fault, timeout=10).raise_for_status()
    database = create_engine(f"sqlite:///{tmp_path / 'instance' / 'deskmate.db'}")

    started = requests.post(
        f"{control}/conversations",
        json={
            "channel": "messenger",
            "body": "I want to talk to a human please",
            "contact": {"name": "Ada Lovelace", "email": "ada@example.com"},
        },
        timeout=10,
    )
    assert started.status_code == 201, started.text
    conversation = started.json()["id"]
    wait_for(
        lambda: any(a.status == ActionStatus.PENDING for a in rows(database, ActionRecord)),
        "the AI's first write to Intercom",
    )
    signalled = time.monotonic()
    target.send_signal(signal.SIGTERM)
    _, err = target.communicate(timeout=WAIT)
    took = time.monotonic() - signalled

    assert target.returncode == 0, err
    assert "Traceback" not in err
    logged = [json.loads(line) for line in err.splitlines() if line.strip()]
    decided = [line for line in logged if line.get("outcome") == "handed_off"]
    assert decided and decided[0]["conversation"] == conversation
    assert "human_requested" in decided[0]["reasons"]
    assert any(line.get("action") == "note" for line in logged), "the write is logged"
    assert any(line["message"].startswith("stopping") for line in logged)
    assert took >= 0.5, "the process waited for the write under way"
    actions = rows(database, ActionRecord)
    assert actions and all(a.status == ActionStatus.DONE for a in actions), actions
    events = rows(database, EventRecord)
    assert events[0].status == EventStatus.DONE, "the customer's message was handled"
    assert all(e.status in EventStatus.FINAL for e in events), events
    assert len(ai_notes(intercom_sandbox, conversation)) == 1

    requests.delete(f"{control}/faults", timeout=10).raise_for_status()
    if worker is None:
        serve, line = processes.start("serve", "--port", "0", ready="deskmate")
        intercom_sandbox.sandbox.webhooks.configure(url=line.split()[3] + WEBHOOK_PATH)
    else:
        worker = processes.start(*worker_args, ready="deskmate")[0]
    time.sleep(2.0)  # the restarted process's sweeper has looked at the outbox by now

    after = {e.id: (e.status, e.attempts) for e in rows(database, EventRecord)}
    assert {e.id: after[e.id] for e in events} == {e.id: (e.status, e.attempts) for e in events}
    assert [(a.id, a.status) for a in rows(database, ActionRecord)] == [
        (a.id, a.status) for a in actions
    ]
    assert len(ai_notes(intercom_sandbox, conversation)) == 1


def test_a_wake_job_runs_no_further_conversation_once_stopping() -> None:
    ran: list[str] = []
    stopping = threading.Event()

    def run(workspace_id: str, conversation_id: str) -> None:
        ran.append(conversation_id)
        stopping.set()  # the signal arrives while the first conversation runs

    queue = JobQueue(MemoryHuey("test", immediate=True), run, stopping.is_set)
    queue.wake("testapp", ["c1", "c2", "c3"])

    assert ran == ["c1"]
