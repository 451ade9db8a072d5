"""Operating the engine from the command line: ``worker``, ``events`` and ``sessions``."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import click
from sqlalchemy import select

from deskmate.core.brain.commands import ask
from deskmate.core.clicontext import load_config
from deskmate.core.reports import session_detail, session_summary
from deskmate.core.runtime import Worker
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.core.store.events import list_events, replay_event
from deskmate.core.store.models import EventStatus, SessionRecord


def _sessions() -> Any:
    settings, _ = load_config()
    url = settings.resolved_database_url()
    upgrade(url)
    return make_session_factory(make_engine(url))


@click.command()
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def worker(workers: int) -> None:
    """Run job consumers and the scheduler alone (no web server) until stopped."""
    settings, host = load_config()
    upgrade(settings.resolved_database_url())
    host.hook.startup(settings=settings, app=None)
    runner = Worker(settings, host, workers=workers)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runner.start()
    click.echo(f"deskmate worker running with {workers} consumer thread(s) (Ctrl-C to stop)")
    stop.wait()
    runner.stop()
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
    """Newest first: id, status, topic, conversation, attempts and why."""
    status = EventStatus.DEAD if failed else status
    with _sessions()() as db:
        rows = [
            {
                "id": e.id,
                "workspace": e.workspace_id,
                "status": e.status,
                "topic": e.topic,
                "conversation": e.conversation_id,
                "attempts": e.attempts,
                "received_at": e.received_at.isoformat(),
                "reason": e.reason,
            }
            for e in list_events(db, status=status, limit=limit)
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no events")
    for r in rows:
        why = f"  {r['reason']}" if r["reason"] else ""
        click.echo(
            f"{r['id']:>6} {r['status']:<13} {r['topic']:<30} "
            f"conv {r['conversation'] or '-':<12} tries {r['attempts']}{why}"
        )


@events.command("replay")
@click.argument("event_id", type=int)
def events_replay(event_id: int) -> None:
    """Queue an event again from scratch (a worker or `serve` picks it up)."""
    with _sessions().begin() as db:
        event = replay_event(db, event_id)
        if event is None:
            raise click.ClickException(
                f"event {event_id} does not exist or is running now; see `deskmate events list`"
            )
    click.echo(f"event {event_id} queued again")


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
@click.argument("session_id", type=int)
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
    click.echo(f"session {s['id']} · conversation {s['conversation']} · {s['state']}")
    for m in data["messages"]:
        click.echo(f"  [{m['author']}] {m['text'][:200]}")
    for a in data["audit"]:
        click.echo(f"  - {a['kind']}: {json.dumps(a['data'], default=str)[:300]}")


COMMANDS = (worker, events, sessions, ask)
