"""Integration health metrics in Prometheus' text format, labelled by workspace.

One :class:`Metrics` owns its own ``CollectorRegistry``. A process normally uses one,
:func:`default_metrics` (with the process, platform and GC collectors), so the web host, the
embedded job consumer and the Intercom clients report into what ``/metrics`` serves; an app made
with ``create_app(testing=True)`` gets a fresh one, so tests never share counters.

Label values come from configuration (workspace app ids, endpoint templates) or from short fixed
lists (reasons, topics), never from raw request input, so a hostile sender cannot blow up the
number of series.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import flask
from flask.blueprints import BlueprintSetupState
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from deskmate.core.outcomes import CLOSED, HANDED_OFF, SKIPPED, ConversationOutcome
from deskmate.core.store.models import SyncState

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from deskmate.core.plugins import HookFailure

log = logging.getLogger(__name__)

EXTENSION = "deskmate_metrics"
UNROUTED = "unrouted"
"""Workspace label of requests that could not be tied to a configured workspace."""

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
API_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
MODEL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
PROCESSING_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
FIRST_ANSWER_BUCKETS = (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0, 14400.0)
FINAL_OUTCOMES = frozenset({"done", "skipped", "unprocessable", "dead"})
RETRIED = "retried"
"""Outcome label of an attempt that failed and will be retried (event status ``failed``)."""

ApiCallObserver = Callable[[str, int | None, float], None]


class Metrics:
    """The metric objects deskmate exposes; create one per app (or share the default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], Any] = {}
        self._collectors: list[Collector] = []
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
            "Fraction (0-1) of the current rate-limit window's budget still free.",
            ["workspace"],
            registry=r,
        )
        self.events_processed = Counter(
            "deskmate_events_processed",
            "Attempts at stored events by outcome: done, skipped, unprocessable, dead, retried.",
            ["workspace", "outcome"],
            registry=r,
        )
        self.processing_seconds = Histogram(
            "deskmate_event_processing_seconds",
            "Time from receiving a webhook to settling its event, channel delay included.",
            ["workspace"],
            buckets=PROCESSING_BUCKETS,
            registry=r,
        )
        self.hook_failures = Counter(
            "deskmate_plugin_hook_failures",
            "Plugin hook implementations that raised and were isolated, by plugin and hook.",
            ["plugin", "hook"],
            registry=r,
        )
        self.conversation_outcomes = Counter(
            "deskmate_conversation_outcomes",
            "Decisions on customer messages: answered, handed_off, assisted, skipped, with the "
            "main reason code (handed_off, skipped).",
            ["workspace", "channel", "outcome", "reason"],
            registry=r,
        )
        self.handoff_reasons = Counter(
            "deskmate_handoff_reasons",
            "Handoffs by reason code; a handoff with several reasons counts under each.",
            ["workspace", "reason"],
            registry=r,
        )
        self.decisions_by_brain = Counter(
            "deskmate_decisions_by_brain",
            "Decisions that asked for a draft, by the plugin whose draft was used (none: none).",
            ["workspace", "brain", "outcome"],
            registry=r,
        )
        self.conversations_closed = Counter(
            "deskmate_conversations_closed",
            "Conversations closed, by who resolved them: ai (answered, never handed off) or human.",
            ["workspace", "resolved_by"],
            registry=r,
        )
        self.first_answer_seconds = Histogram(
            "deskmate_time_to_first_answer_seconds",
            "From the conversation's start to the AI's first answer in it.",
            ["workspace", "channel"],
            buckets=FIRST_ANSWER_BUCKETS,
            registry=r,
        )

        self.model_calls = Counter(
            "deskmate_model_calls",
            "Calls to the language model endpoint by outcome (ok, timeout, rate_limited, "
            "server_error, malformed, refused, breaker_open, ...).",
            ["workspace", "endpoint", "outcome"],
            registry=r,
        )
        self.model_tokens = Counter(
            "deskmate_model_tokens",
            "Tokens the language model read (input) and wrote (output), as it reported them.",
            ["workspace", "direction"],
            registry=r,
        )
        self.model_seconds = Histogram(
            "deskmate_model_seconds",
            "Duration of calls to the language model endpoint.",
            ["workspace", "endpoint"],
            buckets=MODEL_BUCKETS,
            registry=r,
        )
        self.model_cost = Counter(
            "deskmate_model_cost",
            "Estimated price of the model calls, from the configured price per token.",
            ["workspace"],
            registry=r,
        )
        self.model_breaker_open = Gauge(
            "deskmate_model_breaker_open",
            "1 while the circuit breaker of a model endpoint stops calls to it, else 0.",
            ["endpoint"],
            registry=r,
        )

    def child(self, metric: MetricWrapperBase, *labels: str) -> Any:
        """``metric.labels(*labels)``, cached: the hot paths skip prometheus-client's label
        checks after the first call (label values come from bounded sets, see above)."""
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def api_call_observer(self, workspace: str) -> ApiCallObserver:
        """Return the ``on_call(endpoint, status, seconds)`` callback for one workspace's client."""

        def on_call(endpoint: str, status: int | None, seconds: float) -> None:
            self.api_calls.labels(workspace, endpoint, str(status or 0)).inc()
            self.api_seconds.labels(workspace, endpoint).observe(seconds)

        return on_call

    def track_headroom(self, workspace: str, headroom: Callable[[], float]) -> None:
        """Read the workspace's rate-limit headroom from ``headroom()`` at every scrape.

        The limiter's window may live in Redis or a database: when that can't be read, the
        gauge is NaN (unknown) and the scrape still answers.
        """

        def read() -> float:
            try:
                return headroom()
            except Exception as exc:
                log.warning("rate-limit headroom of %s unreadable: %s", workspace, exc)
                return math.nan

        self.rate_limit_headroom.labels(workspace).set_function(read)

    def event_settled(
        self, workspace: str, status: str, received_at: datetime | None, now: datetime
    ) -> None:
        """Count one attempt at an event by its new ``status``; time the ones that are final."""
        outcome = status if status in FINAL_OUTCOMES else RETRIED
        self.events_processed.labels(workspace, outcome).inc()
        if outcome != RETRIED and received_at is not None:
            seconds = max(0.0, (now - received_at).total_seconds())
            self.processing_seconds.labels(workspace).observe(seconds)

    def outcome(self, record: ConversationOutcome) -> None:
        """Count what the AI did with a conversation (an ``Engine.on_outcome`` listener)."""
        if record.outcome == CLOSED:
            self.conversations_closed.labels(record.workspace, record.resolved_by or "").inc()
            return
        workspace, channel = record.workspace, record.channel
        self.conversation_outcomes.labels(workspace, channel, record.outcome, record.reason).inc()
        if record.outcome == HANDED_OFF:
            for reason in dict.fromkeys(record.reasons):
                self.handoff_reasons.labels(workspace, reason).inc()
        if record.outcome != SKIPPED:
            self.decisions_by_brain.labels(workspace, record.brain, record.outcome).inc()
        if record.first_answer_seconds is not None:
            seconds = max(0.0, record.first_answer_seconds)
            self.first_answer_seconds.labels(workspace, channel).observe(seconds)

    def track_knowledge(self, engine: Engine) -> None:
        """Report each knowledge source's age (seconds since its last successful sync) read from
        ``engine``'s database at every scrape, so every process shows what any process synced."""
        if not any(isinstance(c, KnowledgeFreshness) for c in self._collectors):
            collector = KnowledgeFreshness(engine)
            self.registry.register(collector)
            self._collectors.append(collector)

    def hook_failed(self, failure: HookFailure) -> None:
        """Count a plugin's hook that raised (a ``PluginHost.on_hook_failure`` listener)."""
        self.hook_failures.labels(failure.plugin, failure.hook).inc()

    def model_call(
        self,
        workspace: str,
        endpoint: str,
        outcome: str,
        seconds: float | None = None,
        usage: tuple[int, int] = (0, 0),
        cost: float = 0.0,
    ) -> None:
        """Count one attempt at a model call with its duration, tokens and estimated cost."""
        self.child(self.model_calls, workspace, endpoint, outcome).inc()
        if seconds is not None:
            self.child(self.model_seconds, workspace, endpoint).observe(seconds)
        tokens_in, tokens_out = usage
        if tokens_in:
            self.child(self.model_tokens, workspace, "input").inc(tokens_in)
        if tokens_out:
            self.child(self.model_tokens, workspace, "output").inc(tokens_out)
        if cost:
            self.child(self.model_cost, workspace).inc(cost)

    def track_breaker(self, endpoint: str, is_open: Callable[[], bool]) -> None:
        """Read whether ``endpoint``'s circuit is open from ``is_open()`` at every scrape."""
        self.model_breaker_open.labels(endpoint).set_function(lambda: float(is_open()))

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class KnowledgeFreshness(Collector):
    """``deskmate_knowledge_sync_age_seconds`` and ``deskmate_knowledge_last_sync_timestamp``
    per workspace and source, read from ``sync_state`` at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        age = GaugeMetricFamily(
            "deskmate_knowledge_sync_age_seconds",
            "Seconds since the last successful sync of each knowledge source.",
            labels=["workspace", "source"],
        )
        last = GaugeMetricFamily(
            "deskmate_knowledge_last_sync_timestamp",
            "When each knowledge source last synced successfully (Unix time).",
            labels=["workspace", "source"],
        )
        now = time.time()
        for workspace, source, at in self._last_successes():
            stamp = (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
            age.add_metric([workspace, source], max(0.0, now - stamp))
            last.add_metric([workspace, source], stamp)
        yield age
        yield last

    def _last_successes(self) -> list[tuple[str, str, datetime]]:
        stmt = select(SyncState.workspace_id, SyncState.source, SyncState.last_success_at).where(
            SyncState.last_success_at.is_not(None)
        )
        try:
            with self.engine.connect() as connection:
                return [tuple(row) for row in connection.execute(stmt)]  # type: ignore[misc]
        except SQLAlchemyError as exc:
            log.warning("knowledge freshness not reported: %s", type(exc).__name__)
            return []


_default: Metrics | None = None
_default_lock = threading.Lock()


def default_metrics() -> Metrics:
    """The process-wide metrics, created on first use with the process and runtime collectors."""
    global _default
    with _default_lock:
        if _default is None:
            registry = CollectorRegistry()
            for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                registry.register(collector)
            _default = Metrics(registry)
        return _default


def metrics_for(app: flask.Flask) -> Metrics:
    """The metrics ``app`` reports into: the process default, or a fresh one when testing."""
    if EXTENSION not in app.extensions:
        app.extensions[EXTENSION] = Metrics() if app.testing else default_metrics()
    return app.extensions[EXTENSION]


bp = flask.Blueprint("deskmate_metrics", __name__)


@bp.record_once
def _install(setup: BlueprintSetupState) -> None:
    """Report the knowledge freshness of the app's database."""
    engine = setup.app.extensions["deskmate"].engine
    if engine is not None:
        metrics_for(setup.app).track_knowledge(engine)


@bp.get("/metrics")
def scrape() -> flask.Response:
    """Serve the app's metrics in Prometheus' text format."""
    body = metrics_for(flask.current_app).exposition()
    return flask.Response(body, content_type=CONTENT_TYPE_LATEST)
