"""``deskmate serve``: a real process on a loopback port, and the services run beside it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask import Flask

from deskmate.core import server
from deskmate.core.cli import cli
from deskmate.core.config import Settings
from deskmate.core.intake import WEBHOOK_PATH, intake_for
from deskmate.core.plugins import PluginHost
from deskmate.core.runtime import QueueDispatcher, Worker
from deskmate.core.sandbox import SandboxServer, create_sandbox_app
from deskmate.core.sandbox.command import ready_message
from deskmate.core.sandbox.seed import load_workspace
from deskmate.testing import make_host

from .conftest import CONFIG, SECRETS

STARTUP_TIMEOUT = 60


def deskmate_command() -> list[str]:
    script = Path(sys.executable).with_name("deskmate")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from deskmate.core.cli import main; main()"]


@contextmanager
def serving(
    config_file: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``deskmate --config … serve --port 0`` in a subprocess, and the URL it announced."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
    process = subprocess.Popen(
        [
            *deskmate_command(),
            "--config",
            str(config_file),
            "serve",
            "--port",
            "0",
            "--threads",
            "2",
        ],
        cwd=config_file.parent.parent,
        env=env | (extra_env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _read_line(process)
        assert "deskmate serving on http://127.0.0.1:" in line, line
        yield process, line.split()[3]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def served(config_file: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    with serving(config_file) as running:
        yield running


def _read_line(process: subprocess.Popen[str]) -> str:
    """The first stdout line, or a failure with stderr if the process doesn't print it in time."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(STARTUP_TIMEOUT)
    if not lines or not lines[0]:
        process.kill()
        pytest.fail(f"deskmate serve did not start: {process.stderr.read()}")
    return lines[0]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_serve_migrates_answers_healthz_and_stops_cleanly(
    served: tuple[subprocess.Popen[str], str], tmp_path: Path, stop: signal.Signals
) -> None:
    process, url = served

    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Server"] == "deskmate"
        health = json.load(response)
    assert health["database"]["at_head"] is True
    assert (tmp_path / "instance" / "deskmate.db").exists()

    process.send_signal(stop)
    out, err = process.communicate(timeout=STARTUP_TIMEOUT)
    assert process.returncode == 0, err
    assert out.strip().endswith("deskmate stopped")
    assert "Traceback" not in err
    for secret in SECRETS.values():
        assert secret not in out + err


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "70000"],
        ["--port", "-1"],
        ["--threads", "0"],
        ["--port", "eighty"],
        ["--workers", "-1"],
        ["--workers", "10000"],
    ],
    ids=[
        "port-too-high",
        "port-negative",
        "no-threads",
        "port-not-a-number",
        "negative-workers",
        "too-many-workers",
    ],
)
@pytest.mark.usefixtures("config_file")
def test_serve_refuses_bad_options(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["serve", *args])

    assert result.exit_code == 2
    assert "Invalid value" in result.output


@pytest.mark.usefixtures("config_file")
def test_serve_explains_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--port", str(port)])

    assert result.exit_code == 1
    assert f"can't listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_serve_needs_a_valid_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKMATE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(cli, ["serve", "--port", "0"])

    assert result.exit_code == 2
    assert "config file not found" in result.output
    assert not (tmp_path / "instance").exists()


def test_serve_explains_an_unusable_database(config_file: Path) -> None:
    blocker = config_file.parent / "a-file"
    blocker.write_text("not a folder")
    config_file.write_text(f'database_url = "sqlite:///{blocker}/deskmate.db"\n' + CONFIG)

    result = CliRunner().invoke(cli, ["serve", "--port", "0"])

    assert result.exit_code == 1
    assert "database" in result.output.lower()
    assert "Traceback" not in result.output


class Recorder:
    """A background service that records its lifecycle in a shared journal."""

    def __init__(self, name: str, journal: list[str], fail_stop: bool = False) -> None:
        self.name, self.journal, self.fail_stop = name, journal, fail_stop

    def start(self) -> None:
        self.journal.append(f"start {self.name}")

    def stop(self) -> None:
        self.journal.append(f"stop {self.name}")
        if self.fail_stop:
            raise RuntimeError("stuck")


def test_background_services_start_before_and_stop_after_the_server(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal: list[str] = []
    host = make_host()

    def service(name: str, fail_stop: bool = False) -> server.ServiceFactory:
        def factory(got_settings: Settings, got_host: PluginHost, got_app: Flask) -> Recorder:
            assert (got_settings, got_host, got_app) == (settings, host, app)
            return Recorder(name, journal, fail_stop)

        return factory

    app = server.prepare_app(settings, host)
    wsgi = server.bind(app, port=0, threads=1)
    monkeypatch.setattr(wsgi, "run", lambda: journal.append("serving"))
    factories = [service("consumer", fail_stop=True), lambda s, h, a: None, service("scheduler")]

    server.run(wsgi, settings, host, factories, app=app)

    assert journal == [
        "start consumer",
        "start scheduler",
        "serving",
        "stop scheduler",
        "stop consumer",
    ]


def test_run_stops_on_sigterm_in_the_main_thread(settings: Settings) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be installed from the main thread")
    before = signal.getsignal(signal.SIGTERM)
    wsgi = server.bind(server.prepare_app(settings, make_host()), port=0, threads=1)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()

    server.run(wsgi, settings, make_host(), [])

    timer.join()
    assert signal.getsignal(signal.SIGTERM) is before


def test_embedded_worker_takes_the_intakes_new_conversations(settings: Settings) -> None:
    host = make_host()
    app = server.prepare_app(settings, host)

    worker = server.embedded_worker(3)(settings, host, app)

    assert isinstance(worker, Worker)
    assert worker.workers == 3
    dispatcher = intake_for(app).writer.dispatcher
    assert isinstance(dispatcher, QueueDispatcher)
    assert dispatcher.queue is worker.queue


def test_serve_without_workers_still_enqueues_for_separate_workers(settings: Settings) -> None:
    host = make_host()
    app = server.prepare_app(settings, host)

    assert server.embedded_worker(0)(settings, host, app) is None
    assert isinstance(intake_for(app).writer.dispatcher, QueueDispatcher)


def _printed_workspace(banner: str) -> str:
    """The indented config block ``deskmate sandbox`` prints, as a person would paste it."""
    lines = banner.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("[workspaces."))
    block = [line for line in lines[start:] if line.startswith("    ")]
    return textwrap.dedent("\n".join(block)) + "\n"


def test_sandbox_printed_config_and_a_fresh_serve_answer_a_sandbox_customer(
    tmp_path: Path,
) -> None:
    """Paste ``deskmate sandbox``'s block into a config, start ``serve`` on an empty store: it
    syncs the sandbox's help center at start and answers an unassigned sandbox conversation."""
    token, secret = "printed-token", "printed-client-secret"
    app = create_sandbox_app(token, secret, "sandbox", webhook_retry_delay=0.2)
    with SandboxServer(app) as sandbox:
        config = tmp_path / "site" / "sandbox.toml"
        config.parent.mkdir()
        block = _printed_workspace(ready_message(sandbox.base_url, "sandbox", None))
        config.write_text(f'instance_path = "{tmp_path / "instance"}"\n\n{block}')
        env = {"DESKMATE_SANDBOX_TOKEN": token, "DESKMATE_SANDBOX_CLIENT_SECRET": secret}
        with serving(config, env) as (process, url):
            sandbox.sandbox.webhooks.configure(url=url + WEBHOOK_PATH)
            conversation = requests.post(
                f"{sandbox.base_url}/_sandbox/conversations",
                json={"channel": "messenger", "body": "How do I reset my password?",
                      "contact": {"name": "Ada", "email": "ada@example.com"}},
                timeout=10,
            ).json()["id"]  # fmt: skip
            replies = _wait_for_ai_replies(sandbox.base_url, token, conversation)
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=STARTUP_TIMEOUT)
    assert replies, err
    assert "password" in replies[0].lower()


def _wait_for_ai_replies(base_url: str, token: str, conversation_id: str) -> list[str]:
    """The AI admin's replies to the conversation, once there is one (or none after 60 s)."""
    ai_admin = load_workspace().me_id
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        parts = requests.get(
            f"{base_url}/conversations/{conversation_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()["conversation_parts"]["conversation_parts"]
        replies = [
            p["body"]
            for p in parts
            if p["part_type"] == "comment" and str(p["author"]["id"]) == ai_admin
        ]
        if replies:
            return replies
        time.sleep(0.3)
    return []


def test_the_sweeper_runs_every_jobs_sweep_seconds(settings: Settings) -> None:
    worker = Worker(replace(settings, jobs_sweep_seconds=3), make_host(), workers=1)
    worker.start()
    try:
        trigger = worker.scheduler.get_job("sweeper").trigger
    finally:
        worker.stop()

    assert trigger.interval == timedelta(seconds=3)
