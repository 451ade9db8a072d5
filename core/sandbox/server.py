"""The sandbox's Flask app factory and its waitress servers (blocking, or in a thread)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, request
from waitress.server import create_server
from werkzeug.exceptions import HTTPException

from deskmate.core.sandbox import api, control, model_api, shapes
from deskmate.core.sandbox.control import ControlInputError
from deskmate.core.sandbox.guards import (
    Fault,
    FaultInjector,
    RateLimiter,
    RequestLog,
    window_limit,
)
from deskmate.core.sandbox.runtime import EXTENSION, Sandbox, current_sandbox
from deskmate.core.sandbox.seed import SeedOptions
from deskmate.core.sandbox.state import SandboxError, SandboxState
from deskmate.core.sandbox.webhooks import WebhookDispatcher
from deskmate.core.threaded_server import ThreadedServer

log = logging.getLogger(__name__)

DEFAULT_RATE_LIMIT = 10_000  # calls per minute: Intercom's default for a private app
MAX_REQUEST_BYTES = 1024 * 1024
CONTROL_PREFIX = "/_sandbox"
MODEL_PREFIX = "/v1/"
_ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "request_too_large",
    429: "rate_limit_exceeded", 500: "server_error", 502: "bad_gateway",
    503: "service_unavailable", 504: "gateway_timeout",
}  # fmt: skip


def create_sandbox_app(
    token: str,
    client_secret: str,
    app_id: str = "sandbox",
    webhook_url: str | None = None,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    seed: SeedOptions | None = None,
    *,
    webhook_retries: int = 1,
    webhook_retry_delay: float = 1.0,
    admin_webhooks: bool = True,
    clock: Callable[[], float] = time.time,
) -> Flask:
    """A fake Intercom: the REST subset (bearer ``token``), the ``/_sandbox`` control API, and
    webhooks signed with ``client_secret`` sent to ``webhook_url`` from a background thread.

    ``rate_limit`` is calls per minute, enforced as Intercom does: per 10-second window, a sixth
    of it rounded up (10,000/min → 1,667 per window). Call ``close_sandbox(app)`` when done.
    """
    if not token or not client_secret:
        raise ValueError("the sandbox needs a token and a client secret")
    if rate_limit < 1:
        raise ValueError("rate_limit must be at least 1 call per minute")
    state = SandboxState(app_id, seed, clock=clock)
    state.admin_webhooks = admin_webhooks
    webhooks = WebhookDispatcher(
        client_secret, app_id, webhook_url, retries=webhook_retries, retry_delay=webhook_retry_delay
    )
    state.listener = webhooks.emit
    sandbox = Sandbox(
        state=state,
        webhooks=webhooks,
        limiter=RateLimiter(window_limit(rate_limit), state.lock, clock),
        faults=FaultInjector(state.lock),
        requests=RequestLog(state.lock),
        token=token,
    )
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.json.sort_keys = False
    app.extensions[EXTENSION] = sandbox
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)
    model_api.install(app)
    app.before_request(_guard)
    app.after_request(_finish)
    app.register_error_handler(SandboxError, _sandbox_error)
    app.register_error_handler(ControlInputError, control.control_error)
    app.register_error_handler(HTTPException, _http_error)
    webhooks.start()
    return app


def close_sandbox(app: Flask) -> None:
    """Stop the app's webhook delivery thread."""
    app.extensions[EXTENSION].close()


def _is_control() -> bool:
    return request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/")


def _is_intercom() -> bool:
    """A call to the fake Intercom REST API (not the control API, not the model's ``/v1``)."""
    return not _is_control() and not request.path.startswith(MODEL_PREFIX)


def _error(status: int, code: str, message: str) -> tuple[dict[str, Any], int]:
    return shapes.error_body(code, message), status


def _guard() -> tuple[dict[str, Any], int] | None:
    """Auth, rate limit and injected faults, in Intercom's order, for REST calls only."""
    if not _is_intercom():
        return None
    sandbox = current_sandbox()
    if not sandbox.authorized(request.headers.get("Authorization")):
        return _error(401, "unauthorized", "Access Token Invalid")
    decision = sandbox.limiter.check()
    g.rate = decision
    if not decision.allowed:
        limit = f"Exceeded rate limit of {decision.limit} in 10_seconds"
        return _error(429, "rate_limit_exceeded", limit)
    fault = sandbox.faults.roll(request.path)
    if fault is None:
        return None
    if fault.effect_first:
        g.late_fault = fault  # the call takes effect now; _finish holds and maybe fails the answer
        return None
    time.sleep(fault.latency_ms / 1000)
    return None if fault.is_timeout else _fault_answer(fault)


def _fault_answer(fault: Fault) -> tuple[dict[str, Any], int]:
    """The error answer of a failing fault, with ``Retry-After`` when the fault gives one."""
    code = _ERROR_CODES.get(fault.status, "sandbox_fault")
    body, status = _error(fault.status, code, f"Injected fault ({fault.status})")
    if fault.retry_after is not None:
        g.retry_after = fault.retry_after
    return body, status


def _finish(response: Response) -> Response:
    """Rate-limit headers on authenticated REST answers; every REST call is logged."""
    if not _is_intercom():
        return response
    late = g.get("late_fault")
    if late is not None:  # an effect_first fault: the call took effect; the answer waits
        time.sleep(late.latency_ms / 1000)
        if not late.is_timeout:
            response = current_app.make_response(_fault_answer(late))
    rate = g.get("rate")
    if rate is not None:
        response.headers.update(rate.headers())
    if g.get("retry_after") is not None:
        response.headers["Retry-After"] = str(g.retry_after)
    sandbox = current_sandbox()
    query = request.query_string.decode("latin-1")[:500]
    sandbox.requests.add(request.method, request.path[:500], query, response.status_code)
    return response


def _sandbox_error(exc: SandboxError) -> tuple[dict[str, Any], int]:
    if _is_control():
        return control.control_error(exc)
    body = shapes.error_body(exc.code, exc.message, exc.field)
    return body, exc.status


def _http_error(exc: HTTPException) -> tuple[dict[str, Any], int]:
    status = exc.code or 500
    message = {
        404: "Resource Not Found",
        413: f"The request body is larger than {MAX_REQUEST_BYTES} bytes",
    }.get(status, exc.description or exc.name)
    if _is_control():
        return {"error": _ERROR_CODES.get(status, "error"), "message": message}, status
    return _error(status, _ERROR_CODES.get(status, "error"), message)


class SandboxServer:
    """A sandbox served by waitress on loopback in a background thread (tests, demos).

    ``port=0`` picks a free port; ``base_url`` is where to point an Intercom client.
    """

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        server = create_server(
            app, host=host, port=port, threads=8, ident="sandbox", asyncore_use_poll=True
        )
        self.base_url = f"http://{host}:{server.effective_port}"
        self._running = ThreadedServer(server, "sandbox-http")

    @property
    def sandbox(self) -> Sandbox:
        return self.app.extensions[EXTENSION]

    def __enter__(self) -> SandboxServer:
        self._running.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving (see :class:`ThreadedServer`), then the sandbox's webhook sender."""
        self._running.stop()
        close_sandbox(self.app)


def run_sandbox(
    token: str,
    client_secret: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    on_ready: Callable[[str], None] | None = None,
    **options: Any,
) -> None:
    """Serve a sandbox with waitress until Ctrl-C or SIGTERM; ``options`` go to
    ``create_sandbox_app``. ``on_ready`` gets the base URL once the port is bound."""
    app = create_sandbox_app(token, client_secret, **options)
    server = create_server(
        app, host=host, port=port, threads=8, ident="sandbox", asyncore_use_poll=True
    )
    in_main = threading.current_thread() is threading.main_thread()
    stops = (signal.SIGTERM, signal.SIGINT) if in_main else ()
    previous = {sig: signal.signal(sig, _interrupt) for sig in stops}
    if on_ready is not None:
        on_ready(f"http://{host}:{server.effective_port}")
    try:
        server.run()  # returns on KeyboardInterrupt
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        server.close()
        close_sandbox(app)
        log.info("sandbox stopped")


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM and SIGINT stop the sandbox the way Ctrl-C does, even when a shell started it in
    the background (``deskmate sandbox &``), which leaves SIGINT ignored."""
    raise KeyboardInterrupt
