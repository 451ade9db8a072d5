"""Plugins' periodic jobs fire once per period across every process and run on the job queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent

from deskmate.core.config import Settings
from deskmate.core.domain import PeriodicJob
from deskmate.core.runtime import Worker
from deskmate.core.schedules import Schedules, period_of, trigger_for
from deskmate.core.stack import LocalStack
from deskmate.hookspecs import hookimpl

HOUR = datetime(2026, 12, 4, 17, tzinfo=UTC)


class CountedJobs:
    """A plugin with an hourly job that records where it ran, and a slow one held by an event."""

    def __init__(self) -> None:
        self.runs: list[str] = []
        self.release = threading.Event()
        self.slow_started = threading.Event()

    @hookimpl
    def register_jobs(self, settings: Settings) -> list[PeriodicJob]:
        return [
            PeriodicJob(name="count", schedule="hourly", func=self.count),
            PeriodicJob(name="slow", schedule="daily", func=self.slow),
        ]

    def count(self, settings: Settings) -> None:
        self.runs.append(threading.current_thread().name)

    def slow(self, settings: Settings) -> None:
        self.slow_started.set()
        self.release.wait(30)


def wait_for(condition: Callable[[], Any], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_hourly_and_daily_name_the_same_period_in_every_process() -> None:
    hourly, cron = trigger_for("hourly"), trigger_for("*/5 * * * *")
    late = HOUR + timedelta(seconds=2)
    assert period_of(hourly, late) == (HOUR, HOUR + timedelta(hours=1))
    assert period_of(trigger_for("hourly"), HOUR + timedelta(milliseconds=5))[0] == HOUR
    assert period_of(trigger_for("daily"), HOUR.replace(hour=0) + timedelta(seconds=1))[0] == (
        HOUR.replace(hour=0)
    )
    assert period_of(cron, HOUR + timedelta(minutes=5, seconds=1)) == (
        HOUR + timedelta(minutes=5),
        HOUR + timedelta(minutes=10),
    )


def test_schedulers_of_two_processes_enqueue_each_job_once_per_period(
    store_sessions: Any,
) -> None:
    enqueued: list[str] = []
    first, second = (Schedules(store_sessions, enqueued.append) for _ in range(2))
    for schedule in ("hourly", "*/5 * * * *"):
        trigger = trigger_for(schedule)
        fired = []
        start = period_of(trigger, HOUR)[0]
        for _ in range(3):
            fired.append(first.fire(schedule, trigger, now=start + timedelta(milliseconds=200)))
            fired.append(second.fire(schedule, trigger, now=start + timedelta(seconds=2)))
            start = period_of(trigger, start)[1]
        assert fired == [True, False] * 3
    assert enqueued == ["hourly"] * 3 + ["*/5 * * * *"] * 3


def test_two_runtimes_on_one_store_run_a_job_once_per_period_on_a_queue_worker(
    make_stack: Callable[..., LocalStack],
) -> None:
    jobs = CountedJobs()
    stack = make_stack(extra_plugins=[("counted", jobs)])
    other = Worker(stack.settings, stack.host, workers=1)  # a second process's runtime
    other.start()
    try:
        ours = stack.worker
        trigger = ours.scheduler.get_job("count").trigger
        next_runs = {w.scheduler.get_job("count").next_run_time for w in (ours, other)}
        assert len(next_runs) == 1 and next_runs.pop().minute == 0  # on the hour, everywhere
        for hour in range(3):
            at = HOUR + timedelta(hours=hour, seconds=1)
            for worker in (ours, other):
                worker.schedules.fire("count", trigger, now=at)
            wait_for(lambda n=hour + 1: len(jobs.runs) >= n)
        time.sleep(0.5)  # a duplicate would have run by now
        assert len(jobs.runs) == 3
        assert all(not name.startswith("APScheduler") for name in jobs.runs)
    finally:
        other.stop()


def test_a_slow_periodic_job_does_not_delay_the_sweeper(
    make_stack: Callable[..., LocalStack],
) -> None:
    jobs = CountedJobs()
    stack = make_stack(extra_plugins=[("counted", jobs)])
    scheduler = stack.worker.scheduler
    executed: list[str] = []
    scheduler.add_listener(
        lambda event: executed.append(event.job_id) if isinstance(event, JobExecutionEvent) else 0,
        EVENT_JOB_EXECUTED,
    )
    try:
        scheduler.modify_job("slow", next_run_time=datetime.now(UTC))
        wait_for(jobs.slow_started.is_set)
        wait_for(lambda: "slow" in executed, 5)  # the scheduler's part (claim, enqueue) ended
        executed.clear()
        scheduler.modify_job("sweeper", next_run_time=datetime.now(UTC))
        wait_for(lambda: "sweeper" in executed, 5)
        assert not jobs.release.is_set()  # the slow job is still running, on a queue worker
    finally:
        jobs.release.set()
