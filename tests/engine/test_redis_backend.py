"""With `[jobs] backend = "redis"` the same conversations run through a real Redis server."""

from __future__ import annotations

from collections.abc import Callable

from deskmate.core.stack import LocalStack


def test_a_conversation_is_answered_through_the_redis_job_queue(
    make_stack: Callable[..., LocalStack], redis_url: str
) -> None:
    stack = make_stack(redis_url=redis_url)
    assert type(stack.worker.queue.huey).__name__ == "RedisHuey"
    conversation = stack.start_conversation("How do I reset my password?")
    assert stack.wait_settled(30)
    assert len(stack.parts_by_ai(conversation)) == 1
