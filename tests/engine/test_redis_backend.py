"""With `[jobs] backend = "redis"` the same conversations run through a real Redis server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from deskmate.core.stack import LocalStack


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway Redis on loopback (Debian's redis-server; CI installs it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
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
