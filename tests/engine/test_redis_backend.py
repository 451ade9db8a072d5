"""With `[jobs] backend = "redis"` the same conversations run through a real Redis server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from deskmate.core.stack import LocalStack


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
