"""Operating the engine from the command line: ``worker``, ``events`` and ``sessions``."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import click
from prometheus_client import start_http_server
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.clicontext import load_config, migrated_engine
from deskmate.core.jobs import JobQueue, make_huey
from deskmate.core.logs import log_options, start_logging
from deskmate.core.reports import event_summary, session_detail, session_summary
from deskmate.core.runtime import Worker
from deskmate.core.store.db import make_session_factory
from deskmate.core.store.events import (
    ReplayRefused,
    event_outcomes,
    list_events,
    replay_event,
)
from deskmate.core.store.models import EventRecord, EventStatus, SessionRecord

RECORD_ID = click.IntRange(1, 2**63 - 1)
"""Ids of stored rows: positive, and small enough for every database."""


def _sessions() -> sessionmaker[Session]:
    """Sessions on the configured database, migrated first."""
    return make_session_factory(migrated_engine())


@click.command()
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve this process's Prometheus metrics at http://HOST:PORT/metrics.",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@log_options
def worker(
    workers: int,
    metrics_port: int | None,
    metrics_host: str,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Run job consumers and the scheduler alone (no web server) until stopped."""
    start_logging(None, log_level, log_format)
    settings, host = load_config(report=True)
    start_logging(settings, log_level, log_format)
    migrated_engine().dispose()
    host.hook.startup(settings=settings, app=None)
    runner = Worker(settings, host, workers=workers)
    exporter = None
    if metrics_port is not None:
        try:
            exporter, _ = start_http_server(
                metrics_port, addr=metrics_host, registry=runner.metrics.registry
            )
        except OSError as exc:
            raise click.ClickException(
                f"can't serve metrics on {metrics_host}:{metrics_port}: {exc.strerror or exc}. "
                "Choose another --metrics-port."
            ) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runner.start()
    click.echo(f"deskmate worker running with {workers} consumer thread(s) (Ctrl-C to stop)")
    if exporter is not None:
        click.echo(f"metrics at http://{metrics_host}:{metrics_port}/metrics")
    stop.wait()
    runner.stop()
    if exporter is not None:
        exporter.shutdown()
    click.echo("deskmate worker stopped; unfinished events stay queued in the database")


@click.group()
def events() -> None:
    """List stored webhook events and replay failed ones."""


@events.command("list")
@click.option("--failed", is_flag=True, help="Only dead-lettered events (gave up after retries).")
@click.option("--status", type=click.Choice(sorted({*EventStatus.PENDING, *EventStatus.FINAL})))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True)
def events_list(failed: bool, status: str | None, limit: int, as_json: bool) -> None:
    """Newest first: id, status, topic, conversation, attempts and why (and earlier outcomes)."""
    status = EventStatus.DEAD if failed else status
    with _sessions()() as db:
        found = list_events(db, status=status, limit=limit)
        earlier = event_outcomes(db, [e.id for e in found])
        rows = [event_summary(e, earlier[e.id]) for e in found]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no events")
    for r in rows:
        why = "  " + " ".join(r["reason"].split()) if r["reason"] else ""
        click.echo(
            f"{r['id']:>6} {r['status']:<13} {r['topic']:<30} "
            f"conv {r['conversation'] or '-':<12} tries {r['attempts']}{why}"
        )
        for line in _earlier_lines(r["earlier"]):
            click.echo(f"{'':>7}{line}")


@events.command("show")
@click.argument("event_id", type=RECORD_ID)
@click.option("--json", "as_json", is_flag=True)
def events_show(event_id: int, as_json: bool) -> None:
    """One event: its status, why, and every earlier outcome replays kept."""
    with _sessions()() as db:
        record = db.get(EventRecord, event_id)
        if record is None:
            raise click.ClickException(f"no event {event_id}; see `deskmate events list`")
        data = event_summary(record, event_outcomes(db, [event_id])[event_id])
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(
        f"event {data['id']} · {data['topic']} · conversation {data['conversation'] or '-'} · "
        f"received {data['received_at'][:19]}"
    )
    click.echo(f"now: {data['status']}, tries {data['attempts']}")
    if data["reason"]:
        click.echo(f"why: {' '.join(data['reason'].split())}")
    for line in _earlier_lines(data["earlier"]) or ["no earlier outcomes (never replayed)"]:
        click.echo(line)


def _earlier_lines(earlier: list[dict[str, Any]]) -> list[str]:
    """One line per earlier outcome, oldest first: what it was, and when a replay replaced it."""
    lines = []
    for o in earlier:
        why = "  " + " ".join(o["reason"].split()) if o["reason"] else ""
        lines.append(
            f"earlier: {o['status']}, tries {o['attempts']}, replayed {o['replayed_at'][:19]}{why}"
        )
    return lines


@events.command("replay")
@click.argument("event_id", type=RECORD_ID)
@click.option(
    "--force",
    is_flag=True,
    help="Also replay an event that ended done or skipped (its outcome is kept in its history).",
)
def events_replay(event_id: int, force: bool) -> None:
    """Queue an event again from scratch; a running worker or `serve` picks it up.

    An event that ended done or skipped is refused unless --force; the earlier outcome is kept
    and shown by `deskmate events show`.
    """
    with _sessions().begin() as db:
        try:
            event = replay_event(db, event_id, force=force)
        except ReplayRefused as refused:
            raise click.ClickException(
                f"{refused}; replaying it runs the conversation again. Nothing was changed. "
                f"Pass --force to replay it anyway (its outcome is kept: "
                f"`deskmate events show {event_id}`)"
            ) from None
        if event is None:
            raise click.ClickException(
                f"event {event_id} does not exist or is running now; see `deskmate events list`"
            )
        workspace_id, conversation_id = event.workspace_id, event.conversation_id
    when = "now" if conversation_id and _enqueue(workspace_id, conversation_id) else "shortly"
    click.echo(f"event {event_id} queued again; a running worker or `serve` handles it {when}")


def _enqueue(workspace_id: str, conversation_id: str) -> bool:
    """Ask the job queue to run the conversation at once; False if the queue can't be reached
    (harmless: the sweeper re-enqueues due events within seconds)."""
    settings, _ = load_config()
    try:
        JobQueue(make_huey(settings), _run_elsewhere).dispatch(workspace_id, conversation_id)
    except Exception as exc:  # any queue failure leaves the job to the sweeper
        click.echo(f"(could not reach the job queue: {type(exc).__name__})", err=True)
        return False
    return True


def _run_elsewhere(workspace_id: str, conversation_id: str) -> None:
    """This process only enqueues; the consumers of `serve` or `worker` run the job."""


@click.group()
def sessions() -> None:
    """What the AI saw, decided and did, per conversation."""


@sessions.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True)
def sessions_list(limit: int, as_json: bool) -> None:
    """Newest first: id, conversation, channel, state, language, sentiment."""
    with _sessions()() as db:
        stmt = select(SessionRecord).order_by(SessionRecord.id.desc()).limit(limit)
        rows = [session_summary(s) for s in db.scalars(stmt)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no sessions yet")
    for r in rows:
        click.echo(
            f"{r['id']:>5} conv {r['conversation']:<14} {r['channel'] or '-':<10} "
            f"{r['state']:<11} {r['language'] or '-':<3} {r['sentiment'] or '-'}"
        )


@sessions.command("show")
@click.argument("session_id", type=RECORD_ID)
@click.option("--json", "as_json", is_flag=True)
def sessions_show(session_id: int, as_json: bool) -> None:
    """The session's messages and its audit trail."""
    with _sessions()() as db:
        record = db.get(SessionRecord, session_id)
        if record is None:
            raise click.ClickException(f"no session {session_id}; see `deskmate sessions list`")
        data = session_detail(db, record)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    s = data["session"]
    click.echo(
        f"session {s['id']} · conversation {s['conversation']} · {s['channel'] or '-'} · "
        f"{s['state']} · language {s['language'] or '-'} · sentiment {s['sentiment'] or '-'}"
    )
    if s["summary"]:
        click.echo(f"summary: {s['summary']}")
    click.echo("messages:")
    for m in data["messages"]:
        click.echo(f"  [{m['author']}] {' '.join(m['text'].split())[:200]}")
    click.echo("audit:")
    for a in data["audit"]:
        click.echo(f"  {a['at'][:19]} {a['kind']:<8} {a['headline'][:300]}")
