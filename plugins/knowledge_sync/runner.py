"""One run of one knowledge source for one workspace: lease, resume, pages, removal, checkpoint.

Only one run of a source per workspace at a time: a lease row in the store (``sync:<source>``)
that the run extends with every page and that expires if the run dies. The run's Intercom client
gets a share of the workspace's rate limiter, so live conversations keep their headroom. When it
fails (a revoked token, Intercom down), the saved position stays as the last finished page left
it, and the next run continues from there.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskmate.core.brain import runtime as brain_runtime
from deskmate.core.config import Settings, WorkspaceSettings
from deskmate.core.intercom.client import IntercomClient
from deskmate.core.intercom.errors import Forbidden, IntercomError, Unauthorized
from deskmate.core.intercom.ratelimit import RateLimiter, limiter_for
from deskmate.core.shared import share_state
from deskmate.core.store.db import make_engine, make_session_factory
from deskmate.core.store.knowledge import get_sync_state, record_sync_run
from deskmate.core.store.leases import acquire_lease, release_lease
from deskmate.core.store.models import ConversationLease
from deskmate.plugins.knowledge_sync import articles, conversations
from deskmate.plugins.knowledge_sync.checkpoint import Checkpoint, CheckpointUnreadable, RunState
from deskmate.plugins.knowledge_sync.context import Progress, SyncContext
from deskmate.plugins.knowledge_sync.options import SyncOptions, sync_options
from deskmate.plugins.knowledge_sync.report import SyncReport
from deskmate.plugins.knowledge_sync.writer import Batch, StoreWriter

log = logging.getLogger(__name__)

SOURCES = {"articles": articles.SOURCE, "conversations": conversations.SOURCE}
"""Command-line names of the sources → their names in the store."""
LEASE_TTL = timedelta(minutes=10)


class SyncError(RuntimeError):
    """A sync that could not run or stopped; the message says why and what to do."""


class SyncBusy(SyncError):
    """Another run of the same source holds its lease."""


def run_sync(
    settings: Settings,
    workspace_id: str,
    source: str,
    *,
    full: bool = False,
    since: int | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    client: IntercomClient | None = None,
    sessions: sessionmaker[Session] | None = None,
) -> SyncReport:
    """Sync ``source`` (``articles`` or ``conversations``) of a workspace and return the report.

    Continues an interrupted run unless ``full`` or ``since`` (unix seconds) asks for a new one.
    ``dry_run`` counts what would change and stores nothing. Raises :class:`SyncError`.
    """
    if source not in SOURCES:
        raise SyncError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    workspace = settings.workspaces[workspace_id]
    options = sync_options(settings)
    report = SyncReport(source=SOURCES[source], dry_run=dry_run)
    with ExitStack() as owned:
        if sessions is None:
            engine = make_engine(settings.resolved_database_url())
            owned.callback(engine.dispose)
            sessions = make_session_factory(engine)
        if client is None:
            share_state(settings)
            limiter = sync_limiter(workspace, options.rate_limit_share)
            client = IntercomClient(workspace, limiter=limiter, on_call=lambda *_: _count(report))
            owned.callback(client.close_session)
        _run(settings, workspace_id, source, report, client, sessions, options,
             full=full, since=since, progress=progress)  # fmt: skip
    if not dry_run:
        _invalidate(workspace_id)
    return report


def _run(
    settings: Settings,
    workspace_id: str,
    source: str,
    report: SyncReport,
    client: IntercomClient,
    sessions: sessionmaker[Session],
    options: SyncOptions,
    *,
    full: bool,
    since: int | None,
    progress: Progress | None,
) -> None:
    """The run itself, under the source's lease (none on a dry run)."""
    workspace, dry_run = settings.workspaces[workspace_id], report.dry_run
    started = time.monotonic()
    owner = lease_owner()
    with _lease(sessions, workspace_id, report.source, owner, skip=dry_run):
        checkpoint = _load_checkpoint(sessions, workspace_id, report.source, full)
        run = _run_state(checkpoint, source, options, full=full, since=since, report=report)
        writer = StoreWriter(sessions, workspace_id, dry_run=dry_run)

        def save(batch: Batch) -> None:
            _save(batch, sessions, workspace_id, report, owner, checkpoint, run, dry_run)

        ctx = SyncContext(workspace, client, writer, options, run, report, save, progress)
        try:
            _pages(ctx, source, checkpoint)
            _finish(ctx, checkpoint)
        except (Unauthorized, Forbidden) as exc:
            stopped = _stopped(sessions, workspace_id, report, exc, "the access token was refused")
            raise stopped from None
        except IntercomError as exc:
            raise _stopped(sessions, workspace_id, report, exc, "Intercom failed") from None
        finally:
            report.seconds = time.monotonic() - started


def sync_limiter(workspace: WorkspaceSettings, share: float) -> RateLimiter:
    """A limiter for ``share`` of the workspace's calls per minute, its calls counted against the
    workspace's limiter too. The share is of the limit itself: the workspace's limiter keeps the
    headroom for everyone, so a sync alone may use its whole share."""
    return limiter_for(workspace).share(share, name="sync", headroom=1.0)


def _count(report: SyncReport) -> None:
    report.api_calls += 1


@contextmanager
def _lease(
    sessions: sessionmaker[Session], workspace_id: str, source: str, owner: str, *, skip: bool
) -> Iterator[None]:
    if skip:
        yield
        return
    key = f"sync:{source}"
    with sessions.begin() as db:
        _free_if_dead(db, workspace_id, key)
        if not acquire_lease(db, workspace_id, key, owner, LEASE_TTL):
            raise SyncBusy(
                f"a sync of {source}s for {workspace_id} is already running; wait for it to end "
                f"(an abandoned one frees itself within {int(LEASE_TTL.total_seconds() // 60)} "
                "minutes)"
            )
    try:
        yield
    finally:
        with sessions.begin() as db:
            release_lease(db, workspace_id, key, owner)


def lease_owner() -> str:
    """Who holds a sync's lease: this host, this process, and a random tag for this run."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _free_if_dead(db: Session, workspace_id: str, key: str) -> None:
    """Drop a lease whose holder was a process of this host that is gone (killed with -9, say),
    so running the sync again needs no wait for the lease to expire."""
    holder = db.scalar(
        select(ConversationLease.owner).where(
            ConversationLease.workspace_id == workspace_id, ConversationLease.conversation_id == key
        )
    )
    host, _, rest = (holder or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        log.warning("the sync lease %s of %s belonged to a dead process; taking it", key, holder)
        release_lease(db, workspace_id, key, holder)
    except OSError:
        return


def _load_checkpoint(
    sessions: sessionmaker[Session], workspace_id: str, source: str, full: bool
) -> Checkpoint:
    with sessions() as db:
        state = get_sync_state(db, workspace_id, source)
        text = state.cursor if state is not None else None
    try:
        return Checkpoint.loads(text)
    except CheckpointUnreadable as exc:
        if full:
            return Checkpoint()
        raise SyncError(str(exc)) from None


def _run_state(
    checkpoint: Checkpoint,
    source: str,
    options: SyncOptions,
    *,
    full: bool,
    since: int | None,
    report: SyncReport,
) -> RunState:
    """Continue the interrupted run, or start the one asked for (a dry run always starts anew)."""
    previous = None if report.dry_run else checkpoint.run
    if previous is not None and since is None and (previous.full or not full):
        report.resumed = True
        report.restore(previous.stats)
        report.since, report.since_from = previous.since, "where the interrupted run started"
        return previous
    now = int(time.time())
    report.since_from = "--since"
    if since is None and not full:
        since, report.since_from = checkpoint.since, "where the last sync ended"
    if since is None and source == "conversations" and options.conversation_days:
        since = now - options.conversation_days * 86_400
        report.since_from = f"conversation_days = {options.conversation_days}"
    report.since = since
    return RunState(full=full, since=since, started_at=now)


def _pages(ctx: SyncContext, source: str, checkpoint: Checkpoint) -> None:
    if source == "articles":
        articles.sync_article_pages(ctx)
    else:
        done = {} if ctx.run.full else checkpoint.done
        conversations.sync_conversation_pages(ctx, done)


def _save(
    batch: Batch,
    sessions: sessionmaker[Session],
    workspace_id: str,
    report: SyncReport,
    owner: str,
    checkpoint: Checkpoint,
    run: RunState,
    dry_run: bool,
) -> None:
    """Checkpoint the run in the page's transaction and extend the lease with it."""
    run.tidy()
    run.stats = report.as_dict()
    if dry_run or batch.db is None:
        return
    if not acquire_lease(batch.db, workspace_id, f"sync:{report.source}", owner, LEASE_TTL):
        raise SyncBusy("another run took over this sync's lease; this run stops")
    saved = Checkpoint(since=checkpoint.since, run=run, done=checkpoint.done)
    batch.checkpoint(report.source, saved.dumps(), run.stats, done=False)


def _finish(ctx: SyncContext, checkpoint: Checkpoint) -> None:
    """Remove what a full run no longer found, and save the new starting point."""
    run, source = ctx.run, ctx.report.source
    with ctx.writer.batch() as batch:
        if run.full:
            kept = {tuple(key.split("\t", 1)) for key in run.seen}
            gone = [key for key in ctx.writer.versions(source) if key not in kept]
            ctx.report.removed += batch.delete(source, gone)
        run.tidy()
        done = Checkpoint(since=run.next_since(), run=None, done=dict(run.recent))
        if batch.db is not None:
            batch.checkpoint(source, done.dumps(), ctx.report.as_dict(), done=True)


def _stopped(
    sessions: sessionmaker[Session],
    workspace_id: str,
    report: SyncReport,
    exc: IntercomError,
    what: str,
) -> SyncError:
    """Record the failed run (its saved position untouched) and say what to do."""
    if not report.dry_run:
        with sessions.begin() as db:
            state = get_sync_state(db, workspace_id, report.source)
            record_sync_run(
                db, workspace_id, report.source, cursor=state.cursor if state else None,
                succeeded=False, stats={**report.as_dict(), "error": str(exc)[:300]},
            )  # fmt: skip
    fix = (
        "Fix the token (see `deskmate verify`), then run `deskmate sync` again"
        if isinstance(exc, Unauthorized | Forbidden)
        else "Run `deskmate sync` again later"
    )
    return SyncError(
        f"the {report.source} sync of {workspace_id} stopped: {what} ({exc}). "
        f"{report.items} items were looked at and the finished pages are kept. {fix}: it "
        "continues where it stopped."
    )


def _invalidate(workspace_id: str) -> None:
    """Have the brain look at the store again now rather than at its next check."""
    knowledge = brain_runtime.current().knowledge
    if knowledge is not None:
        knowledge.invalidate(workspace_id)
