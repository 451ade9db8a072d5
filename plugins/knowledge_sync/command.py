"""``deskmate sync``: run the knowledge sync now, with a progress bar and a summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TextIO

import click

from deskmate.core.config import Settings
from deskmate.plugins.knowledge_sync.options import NAME, SOURCE_NAMES, sync_options
from deskmate.plugins.knowledge_sync.report import SyncReport

BAR_WIDTH = 24
REDRAW_EVERY = 0.2
LOG_EVERY = 5.0
"""Without a terminal (a log, a pipe), one progress line per this many seconds."""


class ProgressLine:
    """Progress (items, rate, ETA): one line redrawn in place on a terminal; elsewhere, a plain
    line every :data:`LOG_EVERY` seconds, so a long sync in a log is never silent."""

    def __init__(
        self,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        log_every: float = LOG_EVERY,
    ) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self._clock = clock
        self._started = clock()
        self._drawn = self._started if not self.live else 0.0
        self._every = REDRAW_EVERY if self.live else log_every

    def __call__(self, report: SyncReport) -> None:
        now = self._clock()
        if now - self._drawn < self._every:
            return
        self._drawn = now
        line = render_progress(report, now - self._started)
        self.stream.write("\r" + line + "\x1b[K" if self.live else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def render_progress(report: SyncReport, elapsed: float) -> str:
    """``articles [#####-----] 1200/6000 · 40.0/s · ETA 2m00s``."""
    rate = report.items / elapsed if elapsed > 0 else 0.0
    total = report.total
    if total:
        done = min(report.items, total)
        filled = BAR_WIDTH * done // total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        eta = _duration((total - done) / rate) if rate > 0 else "?"
        return f"{report.source}s [{bar}] {done}/{total} · {rate:.1f}/s · ETA {eta}"
    return f"{report.source}s {report.items} · {rate:.1f}/s"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _since(value: date | None) -> int | None:
    if value is None:
        return None
    return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())


@click.command("sync")
@click.option(
    "--source",
    type=click.Choice(SOURCE_NAMES),
    help="Only this source (default: every source enabled in the config).",
)
@click.option("--full", is_flag=True, help="Re-list everything and remove what is gone.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Look at items updated since this day (YYYY-MM-DD, UTC) instead of the saved position.",
)
@click.option("--dry-run", is_flag=True, help="Count what would change; store nothing.")
@click.option("--workspace", "workspace_id", help="Only this workspace (app id).")
@click.pass_context
def sync_command(
    ctx: click.Context,
    source: str | None,
    full: bool,
    since: datetime | None,
    dry_run: bool,
    workspace_id: str | None,
) -> None:
    """Sync the Help Center and past conversations into the knowledge store now.

    An interrupted sync continues where it stopped; Ctrl-C keeps every finished page.
    """
    from deskmate.core.clicontext import load_config, migrated_engine

    settings, host = load_config(ctx)
    if NAME not in host.loaded():
        raise click.ClickException(
            f"the {NAME} plugin is not enabled: remove `enabled = false` from "
            f"[plugins.{NAME}] (or DESKMATE_DISABLE_PLUGINS) and try again"
        )
    if workspace_id is not None and workspace_id not in settings.workspaces:
        known = ", ".join(settings.workspaces) or "none"
        raise click.BadParameter(f"no workspace {workspace_id!r} (configured: {known})")
    migrated_engine(ctx).dispose()
    options = sync_options(settings)
    sources = [source] if source else [s for s in SOURCE_NAMES if options.enabled(s)]
    failed = False
    for ws in [workspace_id] if workspace_id else list(settings.workspaces):
        for name in sources:
            failed |= not _run_one(settings, ws, name, full, _since(since), dry_run)
    if failed:
        ctx.exit(1)


def _run_one(
    settings: Settings, workspace_id: str, source: str, full: bool, since: int | None, dry_run: bool
) -> bool:
    from deskmate.plugins.knowledge_sync.runner import SyncError, run_sync

    progress = ProgressLine()
    try:
        report = run_sync(
            settings, workspace_id, source, full=full, since=since, dry_run=dry_run,
            progress=progress,
        )  # fmt: skip
    except SyncError as exc:
        progress.close()
        click.echo(f"{workspace_id}: {exc}", err=True)
        return False
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"{workspace_id}: interrupted; run `deskmate sync` to continue.", err=True)
        raise SystemExit(130) from None
    progress.close()
    click.echo(f"{workspace_id}: {report.summary()}")
    return True
