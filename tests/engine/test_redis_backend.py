"""With `[jobs] backend = "redis"` the same conversations run through a real Redis server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from deskmate.core.stack import LocalStack
from deskmate.testing import server_unavailable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway Redis on loopback (Debian's redis-server; CI installs it and sets
    ``DESKMATE_TEST_REDIS=require``); skipped, saying so, where it isn't installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        server_unavailable(
            "Redis", "DESKMATE_TEST_REDIS", "no redis-server on PATH (apt-get install redis-server)"
        )
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                server.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(10)


def test_a_conversation_is_answered_through_the_redis_job_queue(
    make_stack: Callable[..., LocalStack], redis_url: str
) -> None:
    stack = make_stack(redis_url=redis_url)
    assert type(stack.worker.queue.huey).__name__ == "RedisHuey"
    conversation = stack.start_conversation("How do I reset my password?")
    assert stack.wait_settled(30)
    assert len(stack.parts_by_ai(conversation)) == 1


@pytest.mark.parametrize(
    ("switch", "outcome"),
    [
        ("", "SKIPPED [1] tests/engine/test_redis_backend.py:"),
        ("require", "Redis is required (DESKMATE_TEST_REDIS=require) but no redis-server on PATH"),
    ],
)
def test_without_redis_server_the_test_says_how_to_run_it_or_fails_when_required(
    tmp_path: Path, switch: str, outcome: str
) -> None:
    env = os.environ | {"PATH": str(tmp_path), "DESKMATE_TEST_REDIS": switch}
    name = (
        "tests/engine/test_redis_backend.py"
        "::test_a_conversation_is_answered_through_the_redis_job_queue"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", name],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert outcome in result.stdout, result.stdout[-2000:]
    assert ("1 skipped" if not switch else "1 error") in result.stdout
    if not switch:
        assert "apt-get install redis-server" in result.stdout
        assert "DESKMATE_TEST_REDIS=require" in result.stdout
