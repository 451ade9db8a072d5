"""Signed webhook delivery from a background thread, in Intercom's notification envelope.

Each event becomes one envelope (``notif_…`` id, topic, app_id, first_sent_at…). It is POSTed
with ``X-Hub-Signature: sha1=<hex HMAC-SHA1 of the exact body bytes, keyed by the client
secret>``. A non-2xx answer or a connection error is retried after ``retry_delay`` seconds,
doubling each time, ``retries`` times (Intercom retries once, about a minute later); a retry says
``delivery_status: "retry"`` and counts ``delivery_attempts``. ``duplicate`` sends every later
notification that many times (same id), as Intercom's at-least-once delivery can; ``also_as``
sends a topic's notifications again under another topic (the same item, a new id). Several
receiver URLs take the deliveries in turn (each attempt goes to the next one), as a load balancer
in front of several deskmate servers would spread them: the copies of a notification land on
different servers.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

log = logging.getLogger(__name__)

USER_AGENT = "intercom-parrot-service-client/1.0"
MAX_DUPLICATE = 10
MAX_RECEIVERS = 10
TOPICS = (
    "conversation.user.created", "conversation.user.replied", "conversation.admin.replied",
    "conversation.admin.noted", "conversation.admin.assigned", "conversation.admin.closed",
    "conversation.admin.opened", "conversation.admin.snoozed",
)  # fmt: skip
"""The topics the sandbox announces."""
DELIVERY_LOG_SIZE = 10_000


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature`` value for these exact body bytes."""
    return "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest()


@dataclass
class _Job:
    envelope: dict[str, Any]
    copy: int
    attempt: int = 1


@dataclass(order=True)
class _Slot:
    due: float
    seq: int
    job: _Job = field(compare=False)


class WebhookDispatcher:
    """Queues notifications and delivers them from one worker thread, never in a request."""

    def __init__(
        self,
        client_secret: str,
        app_id: str,
        url: str | None = None,
        *,
        retries: int = 1,
        retry_delay: float = 1.0,
        timeout: float = 5.0,
    ) -> None:
        self._secret = client_secret.encode()
        self.app_id = app_id
        self.urls: tuple[str, ...] = (url,) if url else ()
        self.duplicate = 1
        self.also_as: dict[str, str] = {}
        self.retries, self.retry_delay, self.timeout = retries, retry_delay, timeout
        self._heap: list[_Slot] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self._log: deque[dict[str, Any]] = deque(maxlen=DELIVERY_LOG_SIZE)
        self._turn = itertools.count()

    @property
    def url(self) -> str | None:
        """The first receiver URL (the only one unless several were configured)."""
        return self.urls[0] if self.urls else None

    def __repr__(self) -> str:
        return f"WebhookDispatcher(app_id={self.app_id!r}, url={self.url!r})"

    def emit(self, topic: str, item: dict[str, Any]) -> str:
        """Queue a notification for ``item`` under ``topic`` (and again under the topic
        ``also_as`` names for it, with an id of its own); returns the first notification id."""
        with self._cond:
            echo = self.also_as.get(topic)
        first = self._emit_one(topic, item)
        if echo is not None:
            self._emit_one(echo, item)
        return first

    def _emit_one(self, topic: str, item: dict[str, Any]) -> str:
        now = int(time.time())
        envelope = {
            "type": "notification_event",
            "app_id": self.app_id,
            "data": {"type": "notification_event_data", "item": item},
            "links": {},
            "id": f"notif_{uuid.uuid4()}",
            "topic": topic,
            "delivery_status": "pending",
            "delivery_attempts": 1,
            "delivered_at": 0,
            "first_sent_at": now,
            "created_at": now,
            "self": None,
        }
        with self._cond:
            for copy in range(1, self.duplicate + 1):
                self._push(time.monotonic(), _Job(envelope, copy))
            self._cond.notify()
        return envelope["id"]

    def configure(
        self,
        *,
        url: str | None = None,
        urls: Sequence[str] | None = None,
        duplicate: int | None = None,
        also_as: dict[str, str] | None = None,
    ) -> None:
        """Change the receiver (one ``url``, or several ``urls`` taking deliveries in turn), the
        duplicate count or the topics announced twice (``{}`` for none) for later notifications."""
        with self._cond:
            if url is not None:
                self.urls = (url,)
            if urls:
                self.urls = tuple(urls)
            if duplicate is not None:
                self.duplicate = duplicate
            if also_as is not None:
                self.also_as = dict(also_as)

    def deliveries(self) -> list[dict[str, Any]]:
        """Every delivery attempt so far: id, topic, copy, attempt, status or error, time."""
        with self._cond:
            return list(self._log)

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + self._in_flight

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued or in flight (retries included); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker; notifications still queued are dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._session.close()

    def _push(self, due: float, job: _Job) -> None:
        heapq.heappush(self._heap, _Slot(due, next(self._seq), job))

    def _next_job(self) -> _Job | None:
        with self._cond:
            while not self._stopping:
                if self._heap and self._heap[0].due <= time.monotonic():
                    self._in_flight += 1
                    return heapq.heappop(self._heap).job
                wait = self._heap[0].due - time.monotonic() if self._heap else None
                self._cond.wait(wait)
            return None

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            try:
                self._deliver(job)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _deliver(self, job: _Job) -> None:
        envelope = dict(job.envelope)
        envelope["delivery_attempts"] = job.attempt
        envelope["delivery_status"] = "pending" if job.attempt == 1 else "retry"
        body = json.dumps(envelope, separators=(",", ":")).encode()
        record: dict[str, Any] = {
            "id": envelope["id"],
            "topic": envelope["topic"],
            "copy": job.copy,
            "attempt": job.attempt,
            "status": None,
            "error": None,
            "time": time.time(),
        }
        url = self._next_url()
        if url is None:
            record["error"] = "no webhook URL configured"
        else:
            record["url"] = url
            record["status"], record["error"] = self._post(url, body)
        failed = record["error"] is not None or not 200 <= record["status"] < 300
        with self._cond:
            self._log.append(record)
            if failed and url is not None and job.attempt <= self.retries:
                delay = self.retry_delay * 2 ** (job.attempt - 1)
                self._push(time.monotonic() + delay, _Job(job.envelope, job.copy, job.attempt + 1))

    def _next_url(self) -> str | None:
        with self._cond:
            urls = self.urls
        return urls[next(self._turn) % len(urls)] if urls else None

    def _post(self, url: str, body: bytes) -> tuple[int | None, str | None]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Hub-Signature": sign(self._secret, body),
        }
        try:
            response = self._session.post(url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            log.info("webhook delivery to %s failed: %s", url, type(exc).__name__)
            return None, type(exc).__name__
        return response.status_code, None
