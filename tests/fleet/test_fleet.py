"""A fleet on one machine: 2 servers and 3 workers as separate processes, on PostgreSQL and Redis.

The sandbox allows 600 calls a minute and delivers every webhook twice, each copy to the other
server. 300 customers open conversations at once (a tenth ask for a human), more work than a
minute's limit, and one worker is killed with SIGKILL in the middle and started again. Whatever
process handled what, each conversation ends with one outcome, nothing is posted twice, Intercom
never answers 429, and each schedule runs once per period across the fleet: the knowledge
sync's (every minute here) and a probe plugin's, whose job records each run.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskmate.core.fleet import NO_DELAY, Fleet, FleetOptions

from .schedule_probe import JOB

CONVERSATIONS = 300
HANDOFF_EVERY = 10  # every tenth customer asks for a human
KILL_AFTER = CONVERSATIONS // 3  # outcomes posted before a worker is killed
RATE_LIMIT = 600
QUESTIONS = (
    "How do I reset my password?",
    "What is your refund policy?",
    "How do I change my plan?",
    "How long does shipping take?",
    "How do I export my data?",
)
HUMAN = "I want to talk to a human please"
ENQUEUED = re.compile(r"(?P<minute>\S{16}).* periodic job (?P<job>\S+) enqueued$")
SETTLE_TIMEOUT = 420.0  # about 700 calls at 570 a minute, with room for a loaded machine


def _outcomes(parts: Counter[tuple[str, str]]) -> int:
    return sum(n for (_, kind), n in parts.items() if kind in ("comment", "note"))


PROBE = Path(__file__).with_name("schedule_probe.py")


def install_probe(site: Path) -> None:
    """The schedule probe as an installed plugin distribution in ``site`` (for ``PYTHONPATH``)."""
    site.mkdir()
    shutil.copy(PROBE, site / "deskmate_schedule_probe.py")
    info = site / "deskmate_schedule_probe-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: deskmate-schedule-probe\n")
    (info / "entry_points.txt").write_text("[deskmate]\nschedule_probe = deskmate_schedule_probe\n")


@pytest.fixture
def fleet(tmp_path: Path, fleet_database: str, fleet_redis: str) -> Iterator[Fleet]:
    install_probe(tmp_path / "site")
    path = os.pathsep.join(filter(None, [str(tmp_path / "site"), os.environ.get("PYTHONPATH")]))
    options = FleetOptions(
        fleet_database,
        fleet_redis,
        serves=2,
        workers=3,
        rate_limit=RATE_LIMIT,
        plugins={**NO_DELAY, "knowledge_sync": {"schedule": "* * * * *"}},
        env={"PYTHONPATH": path},
    )
    with Fleet(tmp_path / "fleet", options) as running:
        yield running


def _minutes_begun(start: float, end: float) -> int:
    """How many whole minutes of the clock begin between ``start`` and ``end``."""
    return max(0, math.floor(end / 60) - math.floor(start / 60))


def test_a_fleet_gives_each_conversation_one_outcome_within_one_rate_limit(fleet: Fleet) -> None:
    fleet.wait_for(fleet.has_knowledge, 120, "the first knowledge sync")
    asks_for_human = {}
    for i in range(CONVERSATIONS):
        human = i % HANDOFF_EVERY == 0
        body = HUMAN if human else QUESTIONS[i % len(QUESTIONS)]
        conversation = fleet.start_conversation(body, f"Customer {i}", f"c{i}@example.com")
        asks_for_human[conversation] = human

    fleet.wait_for(lambda: _outcomes(fleet.ai_parts()) >= KILL_AFTER, 300, "a third answered")
    victim = fleet.workers[0]
    fleet.kill(victim, signal.SIGKILL)
    assert victim.popen is not None and victim.popen.returncode == -signal.SIGKILL
    assert _outcomes(fleet.ai_parts()) < CONVERSATIONS, "the kill came after the work was done"
    fleet.launch(victim)
    fleet.wait_settled(SETTLE_TIMEOUT)

    parts = fleet.ai_parts()
    for conversation, human in asks_for_human.items():
        comments, notes = parts[(conversation, "comment")], parts[(conversation, "note")]
        assert comments + notes == 1, (conversation, comments, notes)
        if human:
            assert notes == 1, conversation
    repeated = {key: n for key, n in parts.items() if n > 1}
    assert repeated == {}, "the AI posted a part twice"

    statuses = Counter(call["status"] for call in fleet.calls())
    assert statuses[429] == 0, statuses
    assert set(statuses) == {200}, statuses

    events = fleet.event_statuses()
    assert set(events) <= {"done", "skipped"}, events
    deliveries = fleet.sandbox.webhooks.deliveries()
    assert {d["url"] for d in deliveries} == {p.url + "/webhooks/intercom" for p in fleet.serves}
    assert {d["status"] for d in deliveries} == {200}

    fleet.wait_for(lambda: fleet.queued_jobs() == 0, 60, "an empty job queue")
    time.sleep(3)  # a periodic job taken from the queue has finished
    end = time.time()
    runs = (fleet.instance_path / "schedule-runs.txt").read_text().split()[::2]
    least = _minutes_begun(fleet.workers_ready_at, end - 3)
    most = _minutes_begun(fleet.workers_started_at, end)
    assert least >= 1, "the run was too short to see a period begin"
    assert least <= len(runs) <= most, (runs, fleet.workers_started_at, end)
    enqueued = _enqueued_by_period(fleet)
    assert {name for name, _ in enqueued} >= {JOB, "knowledge_sync:articles:fleet"}, enqueued
    assert {key: n for key, n in enqueued.items() if n != 1} == {}, "a period fired twice"


def _enqueued_by_period(fleet: Fleet) -> Counter[tuple[str, str]]:
    """(periodic job, minute) -> how many workers enqueued it then, from the workers' logs."""
    found = Counter()
    for worker in fleet.workers:
        for line in worker.output().splitlines():
            if match := ENQUEUED.match(line):
                found[(match["job"], match["minute"])] += 1
    return found
