"""Integration health on ``/metrics`` after real runs: events by outcome, processing latency,
Intercom calls and rate-limit headroom per workspace, failing plugin hooks per plugin; and the
separate worker process's own metrics port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from deskmate.core.local_servers import free_port
from deskmate.core.stack import APP_ID, LocalStack
from deskmate.hookspecs import hookimpl

from .conftest import Commands, Deskmate, two_attempts_no_client_retries

REPLY = "/conversations/{id}/reply"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    response = requests.get(f"{url}/metrics", timeout=5)
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


class Growth:
    """How much each series grew between two scrapes (the default registry is process-wide)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.before = scrape(url)
        self.after: Samples = {}

    def measure(self) -> Growth:
        self.after = scrape(self.url)
        return self

    def __call__(self, name: str, **labels: str) -> float:
        return value(self.after, name, **labels) - value(self.before, name, **labels)


class BrokenPlugin:
    """A third-party plugin whose event hook always raises."""

    @hookimpl
    def inbound_message(self, turn: Any, message: Any) -> None:
        raise RuntimeError("this plugin is broken")


def with_broken_plugin(stack: LocalStack) -> None:
    stack.host.pm.register(BrokenPlugin(), name="broken-notifier")


def test_a_conversation_shows_in_the_health_metrics_per_workspace(
    make_deskmate: Callable[..., Deskmate],
) -> None:
    running = make_deskmate(before_start=with_broken_plugin)
    growth = Growth(running.stack.url)
    running.stack.start_conversation("How do I reset my password?")
    running.settle()
    grew = growth.measure()
    ws = {"workspace": APP_ID}

    assert grew("deskmate_webhooks_received_total", topic="conversation.user.created", **ws) >= 1
    assert grew("deskmate_events_processed_total", outcome="done", **ws) >= 1
    assert grew("deskmate_event_processing_seconds_count", **ws) >= 1
    assert grew("deskmate_event_processing_seconds_sum", **ws) > 0
    assert grew("deskmate_intercom_api_calls_total", endpoint=REPLY, status="200", **ws) == 1
    assert grew("deskmate_intercom_api_seconds_count", endpoint=REPLY, **ws) == 1
    assert 0.0 < value(grew.after, "deskmate_intercom_rate_limit_headroom", **ws) <= 1.0
    failures = {"plugin": "broken-notifier", "hook": "inbound_message"}
    assert grew("deskmate_plugin_hook_failures_total", **failures) == 1


def test_retries_and_dead_letters_are_counted(make_deskmate: Callable[..., Deskmate]) -> None:
    running = make_deskmate(before_start=two_attempts_no_client_retries)
    running.faults(status=500, rate=1.0, paths=["*/reply"])
    growth = Growth(running.stack.url)
    running.stack.start_conversation("How do I reset my password?")
    running.settle()
    grew = growth.measure()
    ws = {"workspace": APP_ID}
    assert grew("deskmate_events_processed_total", outcome="retried", **ws) == 1
    assert grew("deskmate_events_processed_total", outcome="dead", **ws) == 1
    # two attempts at the reply, then the handover's note (posted on the same endpoint)
    assert grew("deskmate_intercom_api_calls_total", endpoint=REPLY, status="500", **ws) == 3


# -- a separate worker process -------------------------------------------------------------------


@pytest.fixture
def worker_process(offline: Commands) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    deskmate = [sys.executable, "-c", "from deskmate.core.cli import main; main()"]
    command = [*deskmate, "--config", str(offline.config)]
    process = subprocess.Popen(
        [*command, "worker", "--workers", "1", "--metrics-port", str(port)],
        env={**os.environ, **offline.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process, port
    if process.poll() is None:
        process.kill()
        process.wait(5)


def test_a_separate_worker_serves_its_own_metrics(
    worker_process: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = worker_process
    deadline = time.monotonic() + 20
    while True:
        try:
            samples = scrape(f"http://127.0.0.1:{port}")
            break
        except requests.ConnectionError:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the worker's metrics port never opened"
            time.sleep(0.1)
    names = {name for name, _ in samples}
    assert "process_cpu_seconds_total" in names
    exposition = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "# TYPE deskmate_events_processed_total counter" in exposition
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    assert "deskmate worker stopped" in output
