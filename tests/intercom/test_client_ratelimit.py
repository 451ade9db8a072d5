"""The per-workspace rate limiter: window budgets, server feedback, shares, threads."""

from __future__ import annotations

import threading
import time

import pytest

from deskmate.core.intercom.errors import RateLimited
from deskmate.core.intercom.ratelimit import RESET_SLACK, RateLimiter, limiter_for, limiters
from deskmate.testing import FakeTime, make_workspace


def limiter(fake_time: FakeTime, per_minute: int, **options: float) -> RateLimiter:
    """A limiter on fake time; 90 % headroom unless told, so the tests' numbers stay round."""
    options.setdefault("headroom", 0.9)
    return RateLimiter(per_minute, clock=fake_time.clock, sleep=fake_time.sleep, **options)


def test_default_budget_is_95_percent_of_the_limit() -> None:
    rl = RateLimiter(1200)
    assert (rl.per_window, rl.per_minute_budget) == (190, 1140)


def test_budget_is_the_headroom_share_of_the_limit_spread_over_10_second_windows() -> None:
    rl = RateLimiter(1000, headroom=0.9)
    assert (rl.per_window, rl.per_minute_budget) == (150, 900)


def test_a_full_window_waits_for_the_window_to_slide(fake_time: FakeTime) -> None:
    rl = limiter(fake_time, 600)  # 90 per 10 s
    for _ in range(90):
        assert rl.acquire() == 0.0
    assert rl.headroom() == 0.0
    waited = rl.acquire()
    assert 10.0 <= waited <= 10.01
    assert fake_time.sleeps == [waited]


def test_never_more_than_the_budget_in_any_10_second_window(fake_time: FakeTime) -> None:
    rl = limiter(fake_time, 600)
    stamps = []
    for _ in range(400):
        rl.acquire()
        stamps.append(fake_time.now)
        fake_time.now += 0.01
    for i, start in enumerate(stamps):
        in_window = sum(1 for t in stamps[i:] if t < start + 10)
        assert in_window <= 90
    per_minute = sum(1 for t in stamps if t < stamps[0] + 60)
    assert per_minute <= 540


def test_headroom_falls_as_calls_are_made(fake_time: FakeTime) -> None:
    rl = limiter(fake_time, 600)
    assert rl.headroom() == 1.0
    for _ in range(45):
        rl.acquire()
    assert rl.headroom() == pytest.approx(0.5)
    fake_time.now += 10.001
    assert rl.headroom() == 1.0


def test_max_wait_raises_rate_limited_without_sleeping(fake_time: FakeTime) -> None:
    rl = limiter(fake_time, 6)  # 1 per 10 s
    rl.acquire()
    with pytest.raises(RateLimited) as caught:
        rl.acquire(max_wait=1.0)
    assert caught.value.retry_after == pytest.approx(10.0, abs=0.01)
    assert fake_time.sleeps == []


def test_server_reporting_less_left_than_our_reserve_pauses_until_reset(
    fake_time: FakeTime,
) -> None:
    rl = limiter(fake_time, 10000)
    reset = fake_time.now + 6
    rl.observe(
        {"X-RateLimit-Limit": "167", "X-RateLimit-Remaining": "16", "X-RateLimit-Reset": str(reset)}
    )
    assert rl.headroom() == 0.0
    assert rl.acquire() == pytest.approx(6.0 + RESET_SLACK)


def test_reaching_the_reserve_with_our_own_calls_does_not_pause(fake_time: FakeTime) -> None:
    rl = limiter(fake_time, 1000)
    for _ in range(rl.per_window - 1):
        rl.acquire()
    rl.observe(
        {
            "X-RateLimit-Limit": "160",
            "X-RateLimit-Remaining": str(160 - (rl.per_window - 1)),
            "X-RateLimit-Reset": str(fake_time.now + 6),
        }
    )
    assert rl.acquire() == 0.0, "the last call of our budget goes out at once"


def test_server_reporting_plenty_left_changes_nothing(fake_time: FakeTime) -> None:
    rl = limiter(fake_time, 10000)
    rl.observe(
        {
            "X-RateLimit-Limit": "167",
            "X-RateLimit-Remaining": "100",
            "X-RateLimit-Reset": str(fake_time.now + 6),
        }
    )
    assert rl.acquire() == 0.0
    assert rl.headroom() == pytest.approx(100 / 167)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-RateLimit-Limit": "x", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"},
        {"X-RateLimit-Limit": "0", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9e99"},
        {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "-1", "X-RateLimit-Reset": "inf"},
        {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "nan"},
    ],
)
def test_malformed_server_headers_are_ignored(fake_time: FakeTime, headers: dict) -> None:
    rl = limiter(fake_time, 10000)
    rl.observe(headers)
    assert rl.acquire() == 0.0


def test_a_share_uses_only_its_fraction_and_counts_against_the_parent(
    fake_time: FakeTime,
) -> None:
    parent = limiter(fake_time, 1200)  # 180 per 10 s
    sync = parent.share(0.5)  # 90 per 10 s
    for _ in range(90):
        assert sync.acquire() == 0.0
    assert parent.headroom() == pytest.approx(0.5)
    assert sync.headroom() == 0.0
    with pytest.raises(RateLimited):
        sync.acquire(max_wait=0)
    for _ in range(90):
        assert parent.acquire() == 0.0
    assert parent.headroom() == 0.0


def test_a_share_waits_for_a_paused_parent(fake_time: FakeTime) -> None:
    parent = limiter(fake_time, 1200)
    sync = parent.share(0.25)
    parent.pause_until(fake_time.now + 3)
    assert sync.acquire() == pytest.approx(3.0)


def test_registry_shares_one_limiter_per_app_id() -> None:
    limiters.clear()
    try:
        a = limiter_for(make_workspace(app_id="a", rate_limit=1000))
        assert limiter_for(make_workspace(app_id="a")) is a
        assert limiter_for(make_workspace(app_id="b")) is not a
        assert a.per_minute == 1000
    finally:
        limiters.clear()


@pytest.mark.parametrize(("per_minute", "headroom"), [(0, 0.9), (10, 0.0), (10, 1.5)])
def test_invalid_limits_are_refused(per_minute: int, headroom: float) -> None:
    with pytest.raises(ValueError):
        RateLimiter(per_minute, headroom=headroom)


@pytest.mark.parametrize("per_minute", [1, 5, 7, 12, 13, 1000, 25000])
def test_tiny_and_large_limits_build_valid_windows(per_minute: int) -> None:
    rl = RateLimiter(per_minute)
    assert 1 <= rl.per_window <= rl.per_minute_budget <= max(1, per_minute)


def test_threads_together_never_exceed_the_window_budget() -> None:
    rl = RateLimiter(600, headroom=0.9)  # real clock: 90 per 10 s; the test uses at most 90
    admitted = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(30):
            try:
                rl.acquire(max_wait=0)
            except RateLimited:
                continue
            with lock:
                admitted.append(time.time())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 90
