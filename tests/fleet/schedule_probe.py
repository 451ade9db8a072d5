"""A deskmate plugin whose periodic job, every minute, appends the time and its process id to
``schedule-runs.txt`` in the instance folder: the fleet test counts the runs of the fleet."""

from __future__ import annotations

import os
import time
from typing import Any

from deskmate.core.domain import PeriodicJob
from deskmate.hookspecs import hookimpl

JOB = "schedule-probe:minute"
RUNS_FILE = "schedule-runs.txt"


def record_run(settings: Any) -> None:
    with open(settings.instance_path / RUNS_FILE, "a") as runs:
        runs.write(f"{time.time():.3f} {os.getpid()}\n")


@hookimpl
def register_jobs(settings: Any) -> list[PeriodicJob]:
    return [PeriodicJob(JOB, "* * * * *", record_run)]
