"""``deskmate serve``: migrate, then serve the host with waitress until SIGTERM or SIGINT.

Work that lives beside the web server is started before it and stopped after it, such as the
embedded job consumer and scheduler (:func:`embedded_worker`, which the intake hands new
conversations to) and the plugins' jobs that run once at start (:func:`start_jobs`). A service
factory is called with the settings, the plugin host and the app, and returns a
:class:`Service`, or ``None`` when it isn't needed.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import click
import waitress
from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer

from deskmate.core.app import create_app
from deskmate.core.clicontext import load_config
from deskmate.core.config import Settings
from deskmate.core.domain import PeriodicJob
from deskmate.core.intake import MAX_BODY_BYTES, set_dispatcher
from deskmate.core.logs import log_options, start_logging
from deskmate.core.plugins import PluginHost
from deskmate.core.runtime import QueueDispatcher, Worker
from deskmate.core.store import db

log = logging.getLogger(__name__)

DEFAULT_THREADS = 8
QUEUE_LOGGER = "waitress.queue"
QUEUE_WARNING_INTERVAL = 10.0
"""At most one of waitress's ``Task queue depth is N`` warnings per this many seconds."""
MAX_REQUEST_BODY = MAX_BODY_BYTES + (64 << 10)
"""waitress refuses a body from this size on with 413, before the app runs: on the
``Content-Length`` header at once, or while a chunked body arrives. It reads each body in full
before the app sees it, so this (not the intake's own check) bounds what a sender can make it
spool; the slack over :data:`MAX_BODY_BYTES` covers the chunks' framing, which it counts."""


class Throttle(logging.Filter):
    """Lets one record through per ``interval`` seconds; the next one says how many were held.

    waitress warns ``Task queue depth is N`` for every request that waits for a free thread, so
    a burst would write one warning per request; the first still says the server is saturated.
    """

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._next = float("-inf")
        self._held = 0
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            now = self.clock()
            if now < self._next:
                self._held += 1
                return False
            held, self._held = self._held, 0
            self._next = now + self.interval
        if held:
            record.msg = f"{record.msg} ({held} more since the last one shown)"
        return True


def throttle_queue_warnings(interval: float = QUEUE_WARNING_INTERVAL) -> None:
    """Throttle waitress's per-request queue-depth warnings (once per process)."""
    queue_log = logging.getLogger(QUEUE_LOGGER)
    if not any(isinstance(f, Throttle) for f in queue_log.filters):
        queue_log.addFilter(Throttle(interval))


class Service(Protocol):
    """Something that runs beside the web server, started before it and stopped after it."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


ServiceFactory = Callable[[Settings, PluginHost, Flask | None], Service | None]


def embedded_worker(workers: int) -> ServiceFactory:
    """A factory of the job consumer (``workers`` threads) and scheduler that serve embeds.

    The app's intake enqueues new conversations on the worker's queue either way; with
    ``workers=0`` nothing runs here and separate ``deskmate worker`` processes consume the queue.
    """

    def start_worker(settings: Settings, host: PluginHost, app: Flask | None) -> Service | None:
        worker = Worker(settings, host, workers=max(workers, 1))
        if app is not None:
            set_dispatcher(app, QueueDispatcher(worker.queue))
        return worker if workers else None

    return start_worker


class StartJobs:
    """The plugins' ``at_start`` jobs, run one after another in a background thread.

    The server answers webhooks meanwhile; a job that raises is logged and the next one runs.
    Stopping does not wait: a job cut short (a sync) continues from its checkpoint next time.
    """

    name = "start-jobs"

    def __init__(self, settings: Settings, jobs: Sequence[PeriodicJob]) -> None:
        self.settings = settings
        self.jobs = list(jobs)
        self.thread = threading.Thread(target=self._run, name="deskmate-start-jobs", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        return None

    def _run(self) -> None:
        for job in self.jobs:
            try:
                job.func(self.settings)
            except Exception:
                log.exception("the start-up job %s failed", job.name)


def start_jobs(settings: Settings, host: PluginHost, app: Flask | None) -> Service | None:
    """A :class:`StartJobs` service for the jobs plugins want run at start; ``None`` if none."""
    jobs = [
        job
        for contributed in host.hook.register_jobs(settings=settings)
        for job in contributed or []
        if job.at_start
    ]
    return StartJobs(settings, jobs) if jobs else None


def prepare_app(settings: Settings, host: PluginHost) -> Flask:
    """Migrate the database, then build the app (its plugins start on a current schema).

    :raises deskmate.core.store.db.DatabaseError: the database can't be reached or migrated.
    """
    db.upgrade(settings.resolved_database_url())
    return create_app(settings, host)


def bind(
    app: Flask, *, listen: str = "127.0.0.1", port: int = 8080, threads: int = DEFAULT_THREADS
) -> BaseWSGIServer | MultiSocketServer:
    """A waitress server for ``app``, bound to ``listen:port`` but not yet serving.

    :raises OSError: the address can't be bound (in use, not permitted).
    """
    throttle_queue_warnings()
    return waitress.create_server(
        app,
        host=listen,
        port=port,
        threads=threads,
        ident="deskmate",
        clear_untrusted_proxy_headers=True,
        max_request_body_size=MAX_REQUEST_BODY,
    )


def run(
    server: BaseWSGIServer | MultiSocketServer,
    settings: Settings,
    host: PluginHost,
    factories: Sequence[ServiceFactory] = (),
    *,
    app: Flask | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, with the services of ``factories`` running around the
    server (started in that order, stopped in reverse).

    ``app`` is the Flask app ``server`` serves (waitress may wrap it), for the factories; it is
    required when any factory needs it.
    """
    with _stop_on_signals(), _services(settings, host, app, factories):
        server.run()
    server.close()


@contextmanager
def _services(
    settings: Settings, host: PluginHost, app: Flask | None, factories: Sequence[ServiceFactory]
) -> Iterator[None]:
    started: list[Service] = []
    try:
        for factory in factories:
            service = factory(settings, host, app)
            if service is not None:
                service.start()
                started.append(service)
        yield
    finally:
        for service in reversed(started):
            try:
                service.stop()
            except Exception:
                log.exception("background service %r did not stop cleanly", service.name)


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into ``SystemExit``, which ends waitress's loop gracefully."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, _exit)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit(signum: int, _frame: Any) -> None:
    log.info("received %s, stopping", signal.Signals(signum).name)
    raise SystemExit(0)


def listen_url(server: BaseWSGIServer | MultiSocketServer) -> str:
    """The ``http://host:port`` a bound server answers on (the real port when 0 was asked)."""
    if isinstance(server, MultiSocketServer):
        host, port = server.effective_listen[0][:2]
    else:
        host, port = server.effective_host, server.effective_port
    return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"


@click.command()
@click.option("--host", "listen", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=click.IntRange(1, 256))
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Job consumer threads in this process; 0 when `deskmate worker` processes do the work.",
)
@log_options
@click.pass_context
def serve(
    ctx: click.Context,
    listen: str,
    port: int,
    threads: int,
    workers: int,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Apply database migrations, then serve webhooks and pages with waitress until stopped."""
    start_logging(None, log_level, log_format)
    settings, host = load_config(ctx, report=True)
    start_logging(settings, log_level, log_format)
    try:
        app = prepare_app(settings, host)
        server = bind(app, listen=listen, port=port, threads=threads)
    except db.DatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"can't listen on {listen}:{port}: {exc.strerror or exc}. "
            "Choose another --port or stop the program using it."
        ) from None
    click.echo(f"deskmate serving on {listen_url(server)} (Ctrl-C to stop)")
    run(server, settings, host, [embedded_worker(workers), start_jobs], app=app)
    click.echo("deskmate stopped")
