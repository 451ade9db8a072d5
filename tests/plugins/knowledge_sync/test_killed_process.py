"""``kill -9`` of a running ``deskmate sync``, then running it again: the store ends as if the
sync had never been interrupted, and the dead process's lease is no obstacle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deskmate.core.store.knowledge import get_sync_state
from deskmate.plugins.knowledge_sync.runner import run_sync
from deskmate.testing import TEST_APP_ID

DESKMATE = str(Path(sys.executable).with_name("deskmate"))


def saved_run(env: Any) -> dict[str, Any] | None:
    with env.sessions() as db:
        state = get_sync_state(db, TEST_APP_ID, "conversation")
        return json.loads(state.cursor).get("run") if state and state.cursor else None


def test_a_sync_killed_with_sigkill_resumes_to_the_same_store(synced: Callable[..., Any]) -> None:
    clean = synced(help_center=False, conversations=320, folder="clean")
    run_sync(clean.settings, TEST_APP_ID, "conversations", sessions=clean.sessions)
    env = synced(help_center=False, conversations=320)
    env.fault("timeout", latency_ms=15, paths=("/conversations/2*",))
    command = [DESKMATE, "--config", str(env.config_file()), "sync", "--source", "conversations"]
    process = subprocess.Popen(
        command, env={**os.environ, **env.cli_env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        progress = saved_run(env)
        if progress and progress.get("cursor"):
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    process.wait(10)
    assert process.returncode == -signal.SIGKILL, process.stdout.read().decode()[-500:]
    assert 0 < len(env.documents()) < len(clean.documents())
    env.control("DELETE", "/faults")
    report = run_sync(env.settings, TEST_APP_ID, "conversations", sessions=env.sessions)
    assert report.resumed
    assert env.documents() == clean.documents()
