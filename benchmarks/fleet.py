"""A fleet of deskmate processes on PostgreSQL and Redis: backlog drain, capacity and intake.

Every phase runs a fresh :class:`deskmate.core.fleet.Fleet` (separate ``deskmate serve
--workers 0`` and ``deskmate worker`` OS processes on one config, a new PostgreSQL database and a
new Redis) against the sandbox on loopback:

* **drain** at the configured limit, with 1, 2 and 3 workers: a backlog of conversations opened
  at once, more calls than a minute's limit. The rate is the sandbox's windows (every window but
  the last, in which the backlog ran dry; see ``conversations.py``), compared with the limit
  (target >= 0.9) and with the budget the shared limiter allows itself; no answer may be a 429;
* **capacity**, the same backlog with no effective limit (100,000 calls a minute), with 1, 2 and
  3 workers: calls a minute from the first call to the last, and the scaling ratio to 1 worker;
* **intake** on PostgreSQL with 1 and 2 ``serve`` processes (no worker: the queue only fills),
  closed-loop, against the bare route of ``webhook_intake.py`` on the same waitress settings
  with 1 and 2 processes, and the SQLite intake of that benchmark for comparison. Rows stored
  must equal requests answered 200.

Run: ``.venv/bin/python benchmarks/fleet.py`` (about 12 minutes on 2 cores), ``--quick`` (a
1,200-a-minute limit: shorter drains), ``--smoke`` (does it work). Exits 1 when a check fails.
The load generator and the sandbox share the machine's cores with the fleet, so absolute rates
are low bounds; the ratios measured in the same run are the figures to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import webhook_intake as intake
from conversations import DRAIN_TARGET, QUESTIONS, UNTHROTTLED, calls_per_minute, drain_rate
from sqlalchemy import func, select

from deskmate.core.fleet import APP_ID, Fleet, FleetOptions
from deskmate.core.intercom.ratelimit import DEFAULT_HEADROOM
from deskmate.core.local_servers import fresh_database, local_postgres, local_redis
from deskmate.core.store.models import EventRecord


class Failed(Exception):
    """A correctness check failed: the figures of this run cannot be trusted."""


@dataclass(frozen=True)
class Plan:
    """The sizes of one run."""

    limit: int  # calls a minute for the drain phases
    backlog: int  # conversations opened at once in each drain and capacity phase
    workers: tuple[int, ...]
    serves: tuple[int, ...]
    saturation: float  # seconds per closed-loop intake round
    rounds: int


PLANS = {
    "full": Plan(600, 400, (1, 2, 3), (1, 2), 5.0, 3),
    "quick": Plan(1200, 400, (1, 2, 3), (1, 2), 3.0, 2),
    "smoke": Plan(600, 8, (2,), (2,), 0.5, 1),
}


@contextmanager
def servers(postgres: str, folder: Path) -> Iterator[tuple[str, str]]:
    """A fresh database on the run's PostgreSQL server and a Redis of its own, for one phase."""
    folder.mkdir(parents=True, exist_ok=True)
    with fresh_database(postgres) as database, local_redis(folder) as redis_url:
        yield database, redis_url


# -- drain and capacity ---------------------------------------------------------------------


@dataclass
class Backlog:
    """What one backlog phase measured."""

    workers: int
    limit: int
    conversations: int
    calls: list[dict]
    seconds: float


def run_backlog(
    postgres: str, folder: Path, workers: int, limit: int, conversations: int
) -> Backlog:
    """Open ``conversations`` at once on a fleet of ``workers`` worker processes; wait until
    every one is answered; return the sandbox's request log of the phase."""
    with servers(postgres, folder) as (database, redis_url):
        options = FleetOptions(
            database, redis_url, serves=1, workers=workers, rate_limit=limit, duplicate_webhooks=1
        )
        with Fleet(folder / "fleet", options) as fleet:
            fleet.wait_for(fleet.has_knowledge, 120, "the first knowledge sync")
            fleet.sandbox.requests.clear()
            start = time.time()
            ids = [
                fleet.start_conversation(QUESTIONS[i % len(QUESTIONS)], f"B {i}", f"b{i}@x.example")
                for i in range(conversations)
            ]
            fleet.wait_settled(120 + conversations * 2 / limit * 60 * 3)
            seconds = time.time() - start
            check_backlog(fleet, ids)
            return Backlog(workers, limit, conversations, fleet.sandbox.requests.take(), seconds)


def check_backlog(fleet: Fleet, ids: Sequence[str]) -> None:
    """Each conversation answered once, every event settled, Intercom never said other than 200."""
    parts = fleet.ai_parts()
    wrong = [cid for cid in ids if parts[(cid, "comment")] + parts[(cid, "note")] != 1]
    if wrong:
        raise Failed(f"{len(wrong)} conversation(s) without exactly one outcome: {wrong[:5]}")
    events = fleet.event_statuses()
    if set(events) - {"done", "skipped"}:
        raise Failed(f"events not all settled: {dict(events)}")
    statuses = Counter(call["status"] for call in fleet.calls())
    if set(statuses) != {200}:
        raise Failed(f"Intercom answered other than 200: {dict(statuses)}")


def print_drains(drains: Sequence[Backlog]) -> bool:
    budget = drains[0].limit * DEFAULT_HEADROOM
    limit = drains[0].limit
    print(f"\n== Backlog drain at the configured limit ({limit}/min; shared budget {budget:.0f})")
    print(f"{'workers':>7} {'convs':>6} {'calls':>6} {'calls/min':>10} {'vs limit':>9} "
          f"{'vs budget':>10} {'windows':>8} {'429s':>5}")  # fmt: skip
    met = True
    for run in drains:
        rate, windows, _ = drain_rate(run.calls)
        statuses = Counter(c["status"] for c in run.calls)
        met &= rate / run.limit >= DRAIN_TARGET
        print(
            f"{run.workers:>7} {run.conversations:>6} {len(run.calls):>6} {rate:>10.0f} "
            f"{rate / run.limit:>9.3f} {rate / budget:>10.3f} {windows:>8} {statuses[429]:>5}"
        )
    verdict = "MET" if met else "MISS"
    print(f"target >= {DRAIN_TARGET} of the limit at every size, no 429: {verdict}")
    return met


def print_capacity(runs: Sequence[Backlog]) -> None:
    print(f"\n== Engine capacity, same backlog, no effective limit ({UNTHROTTLED}/min)")
    print(f"{'workers':>7} {'convs':>6} {'calls':>6} {'calls/min':>10} {'convs/s':>8} "
          f"{'x 1 worker':>11}")  # fmt: skip
    base = calls_per_minute(runs[0].calls)
    for run in runs:
        rate = calls_per_minute(run.calls)
        print(
            f"{run.workers:>7} {run.conversations:>6} {len(run.calls):>6} {rate:>10.0f} "
            f"{run.conversations / run.seconds:>8.1f} {rate / base:>11.2f}"
        )


# -- intake -----------------------------------------------------------------------------------


@dataclass
class Intake:
    """Closed-loop saturation of one set of servers."""

    name: str
    throughputs: list[float]
    sent: int = 0
    ok: int = 0
    stored: int = -1

    @property
    def median(self) -> float:
        return statistics.median(self.throughputs)


class Load:
    """Builds the signed requests and drives several servers at once, closed-loop."""

    def __init__(self, app_id: str, secret: str) -> None:
        template = json.loads(intake.SAMPLE.read_text())
        self.template = dict(template, app_id=app_id)
        self.secret = secret
        self.tag = uuid.uuid4().hex[:8]
        self.counter = 0

    def saturate(
        self, ports: Sequence[int], seconds: float, result: Intake, *, measured: bool = True
    ) -> None:
        """16 connections spread over ``ports`` for ``seconds``; counts the requests in
        ``result``, and the round's throughput too when ``measured`` (not a warm-up)."""
        per = intake.CLOSED_LOOP_CAP * seconds
        batches = []
        for port in ports:
            batches.append(self._requests(int(per), port))

        async def all_ports() -> list[intake.Run]:
            connections = 16 // len(ports)
            pairs = zip(ports, batches, strict=True)
            return await asyncio.gather(
                *(intake.closed_loop(port, batch, connections, seconds) for port, batch in pairs)
            )

        runs = asyncio.run(all_ports())
        sent = sum(r.sent for r in runs)
        if measured:
            result.throughputs.append(sent / max(r.elapsed for r in runs))
        result.sent += sent
        result.ok += sum(r.statuses.get(200, 0) for r in runs)

    def _requests(self, count: int, port: int) -> list[bytes]:
        start, self.counter = self.counter, self.counter + count
        return intake.build_requests(self.template, self.tag, start, count, port, self.secret)


def run_intake(postgres: str, folder: Path, plan: Plan) -> list[Intake]:
    """The PostgreSQL intake with 1 and 2 servers, the SQLite intake, and the bare route with
    as many processes, each warmed up then saturated ``plan.rounds`` times."""
    from deskmate.core.server import DEFAULT_THREADS

    results = []
    for serves in plan.serves:
        place = folder / f"intake-{serves}"
        with servers(postgres, place) as (database, redis_url):
            options = FleetOptions(database, redis_url, serves=serves, workers=0)
            with Fleet(place / "fleet", options) as fleet:
                result = Intake(f"PostgreSQL intake x{serves}", [])
                saturate(Load(APP_ID, fleet.secret), [p.port for p in fleet.serves], plan, result)
                with fleet.sessions() as db:
                    count = select(func.count()).select_from(EventRecord)
                    result.stored = db.execute(count).scalar_one()
                results.append(result)
    results.append(_sqlite_intake(folder / "intake-sqlite", plan, DEFAULT_THREADS))
    for processes in sorted({1, *plan.serves}):  # 1: the SQLite intake's baseline
        results.append(_bare(folder, plan, processes, DEFAULT_THREADS))
    return results


def saturate(load: Load, ports: Sequence[int], plan: Plan, result: Intake) -> None:
    """A warm-up (imports, connections, pages), then ``plan.rounds`` measured rounds."""
    load.saturate(ports, plan.saturation / 2, result, measured=False)
    for _ in range(plan.rounds):
        load.saturate(ports, plan.saturation, result)


def _bare(folder: Path, plan: Plan, processes: int, threads: int) -> Intake:
    targets = [intake.start_baseline("bare", threads, folder) for _ in range(processes)]
    try:
        result = Intake(f"bare route x{processes}", [])
        saturate(Load("bare", intake.SECRET), [t.port for t in targets], plan, result)
        return result
    finally:
        for target in targets:
            target.proc.terminate()
            target.proc.wait(10)


def _sqlite_intake(instance: Path, plan: Plan, threads: int) -> Intake:
    """``webhook_intake.py``'s intake: one server on a SQLite database and job queue."""
    instance.mkdir(parents=True)
    port = intake.free_port()
    app_id = json.loads(intake.SAMPLE.read_text())["app_id"]
    command = intake.serve_intake_command(port, threads, instance, app_id)
    proc = intake.start_server(command, port, instance / "serve.log")
    try:
        result = Intake("SQLite intake x1", [])
        saturate(Load(app_id, intake.SECRET), [port], plan, result)
    finally:
        proc.terminate()
        proc.wait(10)
    with sqlite3.connect(instance / "deskmate.db") as conn:
        result.stored = conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0]
    return result


def print_intake(results: Sequence[Intake]) -> bool:
    bare = {r.name.rpartition("x")[2]: r.median for r in results if r.name.startswith("bare")}
    print("\n== Webhook intake, closed-loop (16 connections spread over the servers)")
    print(f"{'target':>22} {'req/s (median)':>15} {'vs bare, same processes':>24} {'rounds':>30}")
    for r in results:
        same = bare.get(r.name.rpartition("x")[2], float("nan"))
        rounds = ", ".join(f"{t:.0f}" for t in r.throughputs)
        print(f"{r.name:>22} {r.median:>15.0f} {r.median / same:>24.2f} {rounds:>30}")
    lost = False
    for r in results:
        if r.stored >= 0:
            print(f"{r.name}: requests answered 200 {r.ok}, rows stored {r.stored}")
            lost |= r.stored != r.ok
    return not lost


# -- orchestration --------------------------------------------------------------------------------


def describe_machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), Linux {platform.release()}, "
        f"Python {platform.python_version()}, load average {load}"
    )


def benchmark(plan: Plan) -> int:
    print(describe_machine())
    root = Path(tempfile.mkdtemp(prefix="deskmate-fleet-bench-"))
    print(f"data in {root}")
    started = time.monotonic()
    with local_postgres() as postgres:
        try:
            drains = [
                run_backlog(postgres, root / f"drain-{w}", w, plan.limit, plan.backlog)
                for w in plan.workers
            ]
            capacity = [
                run_backlog(postgres, root / f"capacity-{w}", w, UNTHROTTLED, plan.backlog)
                for w in plan.workers
            ]
            intakes = run_intake(postgres, root, plan)
        except Failed as exc:
            print(f"FAILED: {exc}")
            return 1
    met = print_drains(drains)
    print_capacity(capacity)
    kept = print_intake(intakes)
    elapsed = time.monotonic() - started
    print(f"\nwhole run {elapsed:.0f} s; drain target {'met' if met else 'MISSED'}")
    zero_429 = all(c["status"] != 429 for run in drains for c in run.calls)
    return 0 if kept and zero_429 else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a 1,200/min limit: shorter drains")
    size.add_argument("--smoke", action="store_true", help="tiny phases: does it work")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the fleet, PostgreSQL and Redis are stopped on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(benchmark(PLANS["smoke" if args.smoke else "quick" if args.quick else "full"]))


if __name__ == "__main__":
    main()
