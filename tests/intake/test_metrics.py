"""/metrics: Prometheus text with the intake and Intercom API series, labelled by workspace."""

from __future__ import annotations

import math
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from deskmate.core.metrics import Metrics, default_metrics
from deskmate.testing import TEST_APP_ID


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_endpoint_serves_intake_counters_by_workspace(intake: Any) -> None:
    body = intake.notification(id="notif_m")
    for _ in range(3):
        intake.post(body)
    intake.post(body, {})
    response = intake.client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    samples = _samples(response.get_data(as_text=True))
    ws = ("workspace", TEST_APP_ID)
    topic = ("topic", "conversation.user.replied")
    assert samples[("deskmate_webhooks_received_total", (topic, ws))] == 3
    assert samples[("deskmate_webhooks_duplicate_total", (ws,))] == 2
    rejected = (("reason", "bad_signature"), ("workspace", "unrouted"))
    assert samples[("deskmate_webhooks_rejected_total", rejected)] == 1
    assert samples[("deskmate_webhook_intake_seconds_count", (ws,))] == 3
    assert samples[("deskmate_outbox_batch_size_sum", ())] == 3


def test_topics_outside_the_known_set_share_one_label(intake: Any) -> None:
    for i in range(3):
        intake.post(intake.notification(id=f"n{i}", topic=f"made.up.topic.{i}"))
    text = intake.client.get("/metrics").get_data(as_text=True)
    assert "made.up" not in text
    received = _samples(text)[
        ("deskmate_webhooks_received_total", (("topic", "other"), ("workspace", TEST_APP_ID)))
    ]
    assert received == 3


def test_api_call_observer_and_headroom_are_exposed_per_workspace() -> None:
    metrics = Metrics()
    on_call = metrics.api_call_observer("ws1")
    on_call("/conversations/{id}/reply", 200, 0.12)
    on_call("/conversations/{id}/reply", 429, 0.05)
    metrics.track_headroom("ws1", lambda: 42.0)
    samples = _samples(metrics.exposition().decode())
    reply = ("endpoint", "/conversations/{id}/reply")
    ws = ("workspace", "ws1")
    assert samples[("deskmate_intercom_api_calls_total", (reply, ("status", "200"), ws))] == 1
    assert samples[("deskmate_intercom_api_calls_total", (reply, ("status", "429"), ws))] == 1
    assert samples[("deskmate_intercom_api_seconds_count", (reply, ws))] == 2
    assert samples[("deskmate_intercom_rate_limit_headroom", (ws,))] == 42.0


def test_a_headroom_that_cannot_be_read_is_unknown_and_the_scrape_still_answers() -> None:
    metrics = Metrics()

    def unreachable() -> float:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    metrics.track_headroom("ws1", unreachable)
    samples = _samples(metrics.exposition().decode())
    assert math.isnan(samples[("deskmate_intercom_rate_limit_headroom", (("workspace", "ws1"),))])


def test_testing_apps_get_their_own_registry_and_the_default_is_shared(intake: Any) -> None:
    assert intake.metrics is not default_metrics()
    assert default_metrics() is default_metrics()
    assert "process_cpu_seconds_total" in default_metrics().exposition().decode()
