"""``deskmate serve``: migrate, then serve the host with waitress until SIGTERM or SIGINT.

Work that lives beside the web server (the job consumer, the scheduler) is started and stopped
around it through :data:`BACKGROUND_SERVICES`: factories called with the settings and the plugin
host that return a :class:`Service`, or ``None`` when the configuration doesn't need one.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import waitress
from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer

from deskmate.core.app import create_app
from deskmate.core.config import Settings
from deskmate.core.plugins import PluginHost
from deskmate.core.store import db

log = logging.getLogger(__name__)

DEFAULT_THREADS = 8


class Service(Protocol):
    """Something that runs beside the web server, started before it and stopped after it."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


ServiceFactory = Callable[[Settings, PluginHost], Service | None]

BACKGROUND_SERVICES: list[ServiceFactory] = []
"""Factories of the services ``serve`` runs beside the web server, started in this order."""


def make_server(
    settings: Settings,
    host: PluginHost,
    *,
    listen: str = "127.0.0.1",
    port: int = 8080,
    threads: int = DEFAULT_THREADS,
    app: Flask | None = None,
) -> BaseWSGIServer | MultiSocketServer:
    """Migrate the database, build the app (unless given) and bind a waitress server (not yet
    serving).

    :raises deskmate.core.store.db.DatabaseError: the database can't be reached or migrated.
    :raises OSError: the address can't be bound (in use, not permitted).
    """
    db.upgrade(settings.resolved_database_url())
    app = app or create_app(settings, host)
    return waitress.create_server(
        app,
        host=listen,
        port=port,
        threads=threads,
        ident="deskmate",
        clear_untrusted_proxy_headers=True,
    )


def run(
    server: BaseWSGIServer | MultiSocketServer,
    settings: Settings,
    host: PluginHost,
    factories: list[ServiceFactory] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, with the background services running around the server."""
    factories = BACKGROUND_SERVICES if factories is None else factories
    with _stop_on_signals(), _services(settings, host, factories):
        server.run()
    server.close()


@contextmanager
def _services(
    settings: Settings, host: PluginHost, factories: list[ServiceFactory]
) -> Iterator[None]:
    started: list[Service] = []
    try:
        for factory in factories:
            service = factory(settings, host)
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
