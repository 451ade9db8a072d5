"""Rate limiters of different processes on one store (a SQLite file, PostgreSQL, Redis) share
one budget: together they never exceed the limit in any window, and a pause holds them all."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyrate_limiter import Duration, Rate, RateItem

from deskmate.core.config import Settings
from deskmate.core.intercom.ratelimit import RESET_SLACK, RateLimiter, limiter_for
from deskmate.core.local_servers import fresh_database
from deskmate.core.shared import forget, share_state, state_location, windows_for
from deskmate.testing import FakeTime, make_workspace

PER_MINUTE = 120  # 95 %: 19 calls per 10 s, 114 per minute
PLACES = ["sqlite", "postgresql", "redis"]


@pytest.fixture(params=PLACES)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where the windows live: a SQLite file, a PostgreSQL database or a Redis server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ratelimit.db'}"
    elif request.param == "redis":
        yield request.getfixturevalue("redis_url")
    else:
        with fresh_database(request.getfixturevalue("postgres_url")) as url:
            yield url


@pytest.fixture
def key() -> str:
    return f"app-{uuid.uuid4().hex[:8]}"


def most_in_any_window(times: list[float], seconds: float) -> int:
    """The most calls in any ``seconds``-long window starting at a call."""
    ordered = sorted(times)
    return max(bisect_left(ordered, t + seconds) - i for i, t in enumerate(ordered))


def two_limiters(place: str, key: str, clock: FakeTime, per_minute: int = PER_MINUTE):
    """Two limiters as two processes would hold them: each with its own connection."""
    return [
        RateLimiter(
            per_minute, key=key, windows=windows_for(place), clock=clock.clock, sleep=clock.sleep
        )
        for _ in range(2)
    ]


def test_two_limiters_on_one_store_never_exceed_the_limit_in_any_window(
    place: str, key: str, fake_time: FakeTime
) -> None:
    limiters = two_limiters(place, key, fake_time)
    admitted = []
    for i in range(90):
        limiters[i % 2].acquire()
        admitted.append(fake_time.now)
    per_window, per_minute = limiters[0].per_window, limiters[0].per_minute_budget
    assert (per_window, per_minute) == (19, 114)
    assert most_in_any_window(admitted, 10) == per_window
    assert most_in_any_window(admitted, 60) <= per_minute
    assert fake_time.sleeps  # the budget ran out and both waited for it


def test_a_pause_one_process_takes_holds_every_process(
    place: str, key: str, fake_time: FakeTime
) -> None:
    first, second = two_limiters(place, key, fake_time)
    first.pause_until(fake_time.now + 30)
    assert second.acquire() == pytest.approx(30, abs=0.01)
    assert second.headroom() > 0


def test_intercom_saying_others_spend_the_budget_slows_every_process(
    place: str, key: str, fake_time: FakeTime
) -> None:
    first, second = two_limiters(place, key, fake_time)
    first.acquire()
    reset = fake_time.now + 8
    first.observe(
        {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": f"{reset}"}
    )
    assert second.acquire() == pytest.approx(8 + RESET_SLACK, abs=0.01)


def test_the_sync_share_is_honoured_across_processes(
    place: str, key: str, fake_time: FakeTime
) -> None:
    shares = [
        limiter.share(0.5, name="sync", headroom=1.0)
        for limiter in two_limiters(place, key, fake_time)
    ]
    admitted = []
    for i in range(40):
        shares[i % 2].acquire()
        admitted.append(fake_time.now)
    assert shares[0].per_window == 10  # 60 a minute, all of it: 10 per 10 s
    assert most_in_any_window(admitted, 10) == 10


LIMITED_CALLS = """
import json, sys, time
from deskmate.core.intercom.ratelimit import RateLimiter
from deskmate.core.shared import windows_for

place, key, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
limiter = RateLimiter({per_minute}, key=key, windows=windows_for(place))
print("ready", flush=True)
sys.stdin.readline()
times = []
for _ in range(calls):
    limiter.acquire()
    times.append(time.time())
print(json.dumps(times), flush=True)
"""


def test_two_os_processes_on_one_store_never_exceed_the_limit(place: str, key: str) -> None:
    script = textwrap.dedent(LIMITED_CALLS.format(per_minute=PER_MINUTE))
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, place, key, "14"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in processes:  # both connected before either calls
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [process.communicate(timeout=60)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes)
    times = [t for output in results for t in json.loads(output.strip().splitlines()[-1])]
    assert len(times) == 28
    # 28 calls wanted at once, 19 a window: 9 waited (9.9 s: each time is read just after the
    # call was counted, a few milliseconds late)
    assert most_in_any_window(times, 9.9) <= 19
    assert max(times) - min(times) >= 9.5


def test_a_deployment_shares_its_limit_where_all_its_processes_meet(
    tmp_path: Path, redis_url: str
) -> None:
    sqlite = Settings(instance_path=tmp_path)
    postgres = Settings(instance_path=tmp_path, database_url="postgresql://db.example/deskmate")
    redis = Settings(instance_path=tmp_path, jobs_backend="redis", redis_url=redis_url)
    assert state_location(sqlite) == f"sqlite:///{tmp_path / 'ratelimit.db'}"
    assert state_location(postgres) == "postgresql://db.example/deskmate"
    assert state_location(redis) == redis_url
    workspace = make_workspace(rate_limit=PER_MINUTE)
    try:
        share_state(redis)
        for _ in range(3):
            limiter_for(workspace).acquire()
        forget()  # as a second process starts: nothing in its memory
        share_state(redis)
        assert limiter_for(workspace).headroom() == pytest.approx(1 - 3 / 19)
    finally:
        forget()


@pytest.mark.parametrize("place", ["sqlite", "postgresql"], indirect=True)  # Redis: one script
def test_a_call_that_waited_for_the_lock_is_dated_when_it_got_it(place: str, key: str) -> None:
    now = [1_800_000_005.0]
    bucket = windows_for(place).bucket(key, [Rate(5, Duration.MINUTE)], lambda: now[0])
    assert bucket.put(RateItem("call", 1_800_000_000_000))  # asked at :00, lock held until :05
    now[0] += 1
    assert bucket.admitted_since(1_800_000_004_000) == 1  # filed at :05, not :00
