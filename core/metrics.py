"""Integration health metrics in Prometheus' text format, labelled by workspace.

One :class:`Metrics` owns its own ``CollectorRegistry`` so that several apps in one process (tests,
embedding) never share counters. The web host serves it on ``/metrics``; the webhook intake and
the Intercom client report into it. Label values come from configuration (workspace app ids,
endpoint templates) or from a short fixed list (reasons), never from raw request input, so a
hostile sender cannot blow up the number of series.
"""

from __future__ import annotations

from collections.abc import Callable

import flask
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

UNROUTED = "unrouted"
"""Workspace label of requests that could not be tied to a configured workspace."""

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
API_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)

ApiCallObserver = Callable[[str, int, float], None]


class Metrics:
    """The metric objects deskmate exposes; create one per app (or share the default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.webhooks_received = Counter(
            "deskmate_webhooks_received",
            "Signed webhook notifications received for a configured workspace, by topic.",
            ["workspace", "topic"],
            registry=r,
        )
        self.webhooks_rejected = Counter(
            "deskmate_webhooks_rejected",
            "Webhook requests answered with an error status, by reason.",
            ["workspace", "reason"],
            registry=r,
        )
        self.webhooks_ignored = Counter(
            "deskmate_webhooks_ignored",
            "Webhook notifications answered 200 and not stored, by reason.",
            ["workspace", "reason"],
            registry=r,
        )
        self.webhooks_duplicate = Counter(
            "deskmate_webhooks_duplicate",
            "Webhook notifications already in the outbox (redeliveries), suppressed.",
            ["workspace"],
            registry=r,
        )
        self.webhooks_unprocessable = Counter(
            "deskmate_webhooks_unprocessable",
            "Webhook notifications stored as unprocessable (unexpected shape, API 1.x).",
            ["workspace"],
            registry=r,
        )
        self.intake_seconds = Histogram(
            "deskmate_webhook_intake_seconds",
            "Time from reading a webhook request to its answer, durable write included.",
            ["workspace"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_batch_size = Histogram(
            "deskmate_outbox_batch_size",
            "Webhook events committed per outbox transaction (group commit).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.api_calls = Counter(
            "deskmate_intercom_api_calls",
            "Intercom API calls by endpoint template and HTTP status (0: no response).",
            ["workspace", "endpoint", "status"],
            registry=r,
        )
        self.api_seconds = Histogram(
            "deskmate_intercom_api_seconds",
            "Duration of Intercom API calls by endpoint template.",
            ["workspace", "endpoint"],
            buckets=API_BUCKETS,
            registry=r,
        )
        self.rate_limit_headroom = Gauge(
            "deskmate_intercom_rate_limit_headroom",
            "Intercom API calls still allowed in the current rate-limit window.",
            ["workspace"],
            registry=r,
        )

    def api_call_observer(self, workspace: str) -> ApiCallObserver:
        """Return the ``on_call(endpoint, status, seconds)`` callback for one workspace's client."""

        def on_call(endpoint: str, status: int, seconds: float) -> None:
            self.api_calls.labels(workspace, endpoint, str(status)).inc()
            self.api_seconds.labels(workspace, endpoint).observe(seconds)

        return on_call

    def track_headroom(self, workspace: str, headroom: Callable[[], float]) -> None:
        """Read the workspace's rate-limit headroom from ``headroom()`` at every scrape."""
        self.rate_limit_headroom.labels(workspace).set_function(headroom)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


def metrics_blueprint(metrics: Metrics) -> flask.Blueprint:
    """A blueprint serving ``GET /metrics`` from ``metrics``."""
    bp = flask.Blueprint("deskmate_metrics", __name__)

    @bp.get("/metrics")
    def scrape() -> flask.Response:
        return flask.Response(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)

    return bp
