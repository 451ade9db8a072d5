"""Webhook intake vs a bare Flask route on the same server, in one run.

Starts three servers as subprocesses on loopback, all waitress with the same thread count:

* **intake**: ``deskmate serve --workers 0`` on a fresh instance folder (SQLite database and
  SQLite job queue), one workspace whose client secret signs every request; every accepted event
  is committed and its conversation enqueued, as in production (no consumer runs, so the
  figures are the intake's alone);
* **bare**: a Flask app whose ``POST /webhooks/intercom`` returns an empty 200;
* **no-store**: a Flask route that does the intake's checks with deskmate's own functions
  (signature, JSON, envelope and conversation parse) and answers 200 without storing anything:
  the ceiling any durable intake on this server and machine can reach.

All get byte-identical requests: a real Intercom notification (the 2.x sample, as a
``conversation.user.replied``) with a unique notification id and conversation id each, signed
``X-Hub-Signature: sha1=…``. An asyncio
HTTP/1.1 keep-alive client drives them open-loop at fixed rates (latency counted from each
request's scheduled time, so a slow server cannot hide its queue) and closed-loop at saturation
(``--rounds`` rounds, each starting with another target; the median is reported).
At the end every intake row is counted: rows stored must equal requests answered 200 (no
accepted event lost).

Run: ``.venv/bin/python benchmarks/webhook_intake.py`` (about three minutes; ``--quick`` for
less; ``--smoke`` only checks that it works). It exits 1 when an accepted event was not stored.
The load generator shares the machine's cores with the servers, so absolute rates are low
bounds; the ratio intake/bare, measured in the same run, is the figure to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import hmac
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from deskmate.core.config import Secret, WorkspaceSettings
from deskmate.core.intake import SignatureKeys
from deskmate.core.intercom.webhooks import (
    WEBHOOK_PATH,
    load_notification,
    notification_key,
    parse_envelope,
)
from deskmate.core.local_servers import free_port

SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "data"
    / "intercom"
    / "samples"
    / "conversation.operator.replied.messenger.2x-shape.json"
)
SECRET = "bench-client-secret"
POOL = 32  # keep-alive connections of the open-loop client (waitress accepts up to 100)


# -- servers (run in subprocesses) ------------------------------------------------------------


CONFIG = """\
instance_path = "{instance}"

[workspaces.{app_id}]
access_token = {{ env = "BENCH_INTERCOM_TOKEN" }}
client_secret = {{ env = "BENCH_INTERCOM_CLIENT_SECRET" }}
ai_admin_id = "1"
base_url = "http://127.0.0.1:9"
"""


def serve_intake_command(port: int, threads: int, instance: Path, app_id: str) -> list[str]:
    """``deskmate serve`` on a fresh instance folder with one workspace; no job consumer runs
    (``--workers 0``: runs are enqueued to the SQLite job queue, as in production, and wait)."""
    config = instance / "deskmate.toml"
    config.write_text(CONFIG.format(instance=instance, app_id=app_id))
    launcher = "from deskmate.core.cli import main; main()"
    return [
        sys.executable,
        "-c",
        launcher,
        "--config",
        str(config),
        "serve",
        f"--port={port}",
        f"--threads={threads}",
        "--workers=0",
    ]


def bare_view() -> tuple[str, int]:
    """The bare route: an empty 200."""
    return "", 200


@functools.cache
def signature_keys() -> SignatureKeys:
    """The intake's signature check, for the one workspace the benchmark's requests name."""
    secret = Secret("env", "BENCH_INTERCOM_CLIENT_SECRET", SECRET)
    app_id = json.loads(SAMPLE.read_text())["app_id"]
    workspace = WorkspaceSettings(
        app_id=app_id, access_token=secret, client_secret=secret, ai_admin_id="1"
    )
    return SignatureKeys([workspace])


def no_store_view() -> tuple[str, int]:
    """The intake's own checks, with its functions: the signature, the JSON, the outbox key, the
    envelope and conversation parse. Left out: metrics, the channel-delay hooks, the store."""
    import flask

    body = flask.request.get_data()
    if not signature_keys().signers(body, flask.request.headers.get("X-Hub-Signature")):
        return "bad signature", 401
    doc = load_notification(body)
    notification_key(doc, body)
    parse_envelope(doc)
    return "", 200


BASELINES = {"bare": bare_view, "no-store": no_store_view}


def serve_baseline(kind: str, port: int, threads: int) -> None:
    """Serve a baseline route (``bare`` or ``no-store``) on the server ``deskmate serve`` makes
    (:func:`deskmate.core.server.bind`: the same waitress settings and log throttling)."""
    import flask

    from deskmate.core.server import bind

    app = flask.Flask(kind)
    app.add_url_rule(WEBHOOK_PATH, kind, BASELINES[kind], methods=["POST"])
    bind(app, port=port, threads=threads).run()


# -- requests -----------------------------------------------------------------------------------


def build_requests(
    template: dict, tag: str, start: int, count: int, port: int, secret: str = SECRET
) -> list[bytes]:
    """Signed POSTs (``secret`` is the client secret), each with a unique notification id, as raw
    HTTP/1.1 bytes."""
    requests = []
    for i in range(start, start + count):
        doc = dict(template, id=f"notif_bench_{tag}_{i}", topic="conversation.user.replied")
        doc["data"] = {
            **template["data"],
            "item": {**template["data"]["item"], "id": str(10**12 + i)},
        }
        body = json.dumps(doc, separators=(",", ":")).encode()
        signature = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        head = (
            f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "User-Agent: intercom-parrot-service-client/1.0\r\n"
            "Content-Type: application/json\r\n"
            f"X-Hub-Signature: sha1={signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    return requests


# -- load generator -----------------------------------------------------------------------------


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection that has at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        marker = head.find(b"content-length:")
        length = int(head[marker + 15 :].split(b"\r\n", 1)[0]) if marker >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        status = int(self.buffer[9:12])
        del self.buffer[: end + 4 + length]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(0)

    async def request(self, raw: bytes) -> int:
        self.waiter = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        self.transport.write(raw)
        return await self.waiter


@dataclass
class Run:
    """What one load phase measured."""

    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: float = 0.0

    @property
    def throughput(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _connect(port: int) -> Connection:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(Connection, "127.0.0.1", port)
    conn.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


async def open_loop(port: int, requests: list[bytes], rate: float) -> Run:
    """Send ``requests`` at ``rate`` per second whatever the answers, over a fixed pool of
    keep-alive connections; latency runs from each request's scheduled time."""
    loop = asyncio.get_running_loop()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    pool = [await _connect(port) for _ in range(POOL)]
    for conn in pool:
        idle.put_nowait(conn)
    run = Run()

    async def one(raw: bytes, scheduled: float) -> None:
        conn = await idle.get()
        status = await conn.request(raw)
        run.latencies.append(loop.time() - scheduled)
        run.statuses[status] = run.statuses.get(status, 0) + 1
        idle.put_nowait(conn)

    tasks = []
    start = loop.time() + 0.01
    for i, raw in enumerate(requests):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(raw, scheduled)))
    await asyncio.gather(*tasks)
    run.elapsed = loop.time() - start
    run.sent = len(requests)
    for conn in pool:
        conn.transport.close()
    return run


async def closed_loop(port: int, requests: list[bytes], connections: int, seconds: float) -> Run:
    """Keep ``connections`` requests in flight for ``seconds``; latency from send."""
    loop = asyncio.get_running_loop()
    run = Run()
    feed = iter(requests)
    deadline = loop.time() + seconds

    async def worker() -> None:
        conn = await _connect(port)
        for raw in feed:
            if loop.time() >= deadline:
                break
            sent = loop.time()
            status = await conn.request(raw)
            run.latencies.append(loop.time() - sent)
            run.statuses[status] = run.statuses.get(status, 0) + 1
            run.sent += 1
        conn.transport.close()

    start = loop.time()
    await asyncio.gather(*(worker() for _ in range(connections)))
    run.elapsed = loop.time() - start
    return run


# -- orchestration ------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its threads, from /proc."""
    fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


def start_server(command: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start a server subprocess (output to ``log``, never a pipe that could fill and block)."""
    env = dict(os.environ, BENCH_INTERCOM_TOKEN="unused", BENCH_INTERCOM_CLIENT_SECRET=SECRET)
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=out, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server {command[-4:]} exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server {command[-4:]} did not start")


def start_baseline(kind: str, threads: int, instance: Path) -> Target:
    """Start the baseline server ``kind`` (a key of :data:`BASELINES`) in a subprocess."""
    port = free_port()
    command = [sys.executable, __file__, f"--serve={kind}", f"--port={port}"]
    command.append(f"--threads={threads}")
    return Target(kind, port, start_server(command, port, instance / f"{kind}.log"))


@dataclass
class Target:
    name: str
    port: int
    proc: subprocess.Popen[bytes]


class Bench:
    """Runs the phases against every target and keeps the per-target request counters."""

    def __init__(self, targets: list[Target], template: dict) -> None:
        self.targets = targets
        self.template = template
        self.sent = {t.name: 0 for t in targets}
        self.ok = {t.name: 0 for t in targets}
        self.tag = uuid.uuid4().hex[:8]
        self.counter = 0

    def _requests(self, target: Target, count: int) -> list[bytes]:
        reqs = build_requests(self.template, self.tag, self.counter, count, target.port)
        self.counter += count
        return reqs

    def measure(self, target: Target, count: int, rate: float | None, seconds: float = 0) -> Run:
        """Send ``count`` requests open-loop at ``rate``, or closed-loop for ``seconds`` when
        ``rate`` is ``None``."""
        requests = self._requests(target, count)
        cpu = _cpu_seconds(target.proc.pid)
        if rate is None:
            run = asyncio.run(closed_loop(target.port, requests, 16, seconds))
        else:
            run = asyncio.run(open_loop(target.port, requests, rate))
        run.cpu = _cpu_seconds(target.proc.pid) - cpu
        self.sent[target.name] += run.sent
        self.ok[target.name] += run.statuses.get(200, 0)
        return run


@dataclass(frozen=True)
class Plan:
    """How long each phase runs."""

    rates: tuple[int, ...]  # open-loop rates, requests per second
    seconds: float  # at each rate
    saturation: float  # seconds per closed-loop round
    warm_up: int  # requests per target at 200/s before measuring


CLOSED_LOOP_CAP = 10000  # requests prepared per second of a closed-loop round (it stops on time)

PLANS = {
    "full": Plan((200, 500, 1000), 4.0, 5.0, 400),
    "quick": Plan((200, 500, 1000), 2.0, 2.0, 400),
    "smoke": Plan((100,), 1.0, 0.5, 50),
}


def _row(name: str, phase: str, run: Run) -> str:
    bad = {k: v for k, v in run.statuses.items() if k != 200}
    cpu_us = run.cpu / run.sent * 1e6 if run.sent else float("nan")
    return (
        f"{phase:>12} {name:>7} {run.throughput:9.0f} {run.percentile(0.5):8.2f} "
        f"{run.percentile(0.99):8.2f} {max(run.latencies) * 1000:8.2f} {cpu_us:8.0f}  "
        f"{bad or ''}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="waitress threads (all)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--quick", action="store_true", help="shorter phases")
    length.add_argument("--smoke", action="store_true", help="tiny phases: does it work")
    parser.add_argument(
        "--rounds", type=int, default=2, help="saturation rounds per target (median reported)"
    )
    parser.add_argument("--serve", choices=sorted(BASELINES), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve_baseline(args.serve, args.port, args.threads)
    plan = PLANS["smoke" if args.smoke else "quick" if args.quick else "full"]
    sys.exit(benchmark(args.threads, plan, max(args.rounds, 1)))


def benchmark(threads: int | None, plan: Plan, rounds: int = 2) -> int:
    """Run every phase of ``plan``, print the figures; return 1 if an accepted event was lost."""
    from deskmate.core.server import DEFAULT_THREADS

    threads = threads or DEFAULT_THREADS
    template = json.loads(SAMPLE.read_text())
    app_id = template["app_id"]
    instance = Path(tempfile.mkdtemp(prefix="deskmate-bench-"))
    intake_port = free_port()
    targets = [
        Target(
            "intake",
            intake_port,
            start_server(
                serve_intake_command(intake_port, threads, instance, app_id),
                intake_port,
                instance / "intake.log",
            ),
        ),
        *(start_baseline(kind, threads, instance) for kind in BASELINES),
    ]
    bench = Bench(targets, template)
    print(f"waitress threads={threads}; payload {len(SAMPLE.read_bytes())} B; db {instance}")
    print(
        f"{'phase':>12} {'target':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'cpu µs':>8}"
    )
    try:
        for target in targets:  # warm-up: imports, connections, SQLite pages
            bench.measure(target, plan.warm_up, 200.0)
        for rate in plan.rates:
            for target in targets:
                run = bench.measure(target, int(rate * plan.seconds), float(rate))
                print(_row(target.name, f"{rate}/s", run))
        saturation: dict[str, list[float]] = {t.name: [] for t in targets}
        for round_ in range(1, rounds + 1):
            turn = round_ % len(targets)  # each round starts with another target
            for target in targets[turn:] + targets[:turn]:
                count = int(CLOSED_LOOP_CAP * plan.saturation)
                run = bench.measure(target, count, None, plan.saturation)
                saturation[target.name].append(run.throughput)
                print(_row(target.name, f"saturate #{round_}", run))
        batches = _mean_batch(intake_port)
    finally:
        for target in targets:
            target.proc.terminate()
            target.proc.wait(10)
    print(f"mean outbox batch (rows per commit, whole run): {batches:.2f}")
    return _summary(bench, saturation, instance)


def _mean_batch(port: int) -> float:
    """Rows per outbox commit over the run, from the intake's own /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("deskmate_outbox_batch_size_")
    }
    count = values.get("deskmate_outbox_batch_size_count", 0.0)
    return values.get("deskmate_outbox_batch_size_sum", 0.0) / count if count else float("nan")


def _summary(bench: Bench, saturation: dict[str, list[float]], instance: Path) -> int:
    median = {name: statistics.median(values) for name, values in saturation.items()}
    intake, bare, no_store = median["intake"], median["bare"], median["no-store"]
    with sqlite3.connect(instance / "deskmate.db") as conn:
        rows = conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0]
    print(
        f"\nsaturation (median of {len(saturation['intake'])} rounds): intake {intake:.0f} req/s, "
        f"bare {bare:.0f} req/s, ratio {intake / bare:.2f} (target >= 0.60)"
    )
    print(
        f"no-store ceiling (checks and parse, nothing stored) {no_store:.0f} req/s: "
        f"{no_store / bare:.2f} of bare; the intake reaches {intake / no_store:.2f} of it"
    )
    print(
        f"intake requests sent {bench.sent['intake']}, answered 200 {bench.ok['intake']}, "
        f"rows stored {rows}, lost {bench.ok['intake'] - rows}"
    )
    return 1 if rows != bench.ok["intake"] else 0


if __name__ == "__main__":
    main()
