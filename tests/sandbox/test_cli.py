"""``deskmate sandbox`` serves over real HTTP, prints what a config needs, and stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import requests
from click.testing import CliRunner

from deskmate.core.sandbox.command import sandbox_command


def test_sandbox_command_serves_prints_config_and_stops_on_ctrl_c():
    secret = "cli-client-secret-value"
    env = os.environ | {"DESKMATE_SANDBOX_CLIENT_SECRET": secret}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from deskmate.core.cli import main; main()", "sandbox",
         "--port", "0", "--token", "cli-token", "--app-id", "demo", "--rate-limit", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        first = proc.stdout.readline()
        base_url = re.search(r"listening on (http://\S+)", first)[1]
        banner = "".join(proc.stdout.readline() for _ in range(8))
        me = requests.get(
            f"{base_url}/me", headers={"Authorization": "Bearer cli-token"}, timeout=5
        )
        assert me.json()["app"]["id_code"] == "demo"
        assert me.headers["X-RateLimit-Limit"] == "100"
        assert f'base_url = "{base_url}"' in banner and "[workspaces.demo]" in banner
        assert 'ai_admin_id = "1000001"' in banner and "process_unassigned = true" in banner
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "sandbox stopped" in out
    assert secret not in first + banner + out + err
    assert "cli-token" not in first + banner + out + err


def test_sandbox_command_requires_a_client_secret():
    env = {"DESKMATE_SANDBOX_CLIENT_SECRET": None, "DESKMATE_SANDBOX_TOKEN": None}
    result = CliRunner().invoke(sandbox_command, ["--token", "t"], env=env)
    assert result.exit_code == 2 and "--client-secret" in result.output


def stops_cleanly_on(stop: signal.Signals, *, setup: str = "") -> None:
    code = (
        f"{setup}\n"
        "from deskmate.core.sandbox import run_sandbox\n"
        "run_sandbox('t', 's', port=0, on_ready=lambda url: print(url, flush=True))\n"
        "print('returned', flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        base_url = proc.stdout.readline().strip()
        assert requests.get(f"{base_url}/me", headers={"Authorization": "Bearer t"}, timeout=5).ok
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0 and out.strip() == "returned", err


def test_run_sandbox_stops_cleanly_on_sigterm():
    stops_cleanly_on(signal.SIGTERM)


def test_a_sandbox_started_in_the_background_still_stops_on_sigint():
    # A shell starts a background job (`deskmate sandbox &`) with SIGINT ignored.
    ignored = "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)"
    stops_cleanly_on(signal.SIGINT, setup=ignored)
