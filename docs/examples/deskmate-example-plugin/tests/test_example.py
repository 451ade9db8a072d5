"""The example plugin, tested the way any deskmate plugin can be: with deskmate.testing."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import deskmate_example
import marshmallow
import pytest

from deskmate.core.config import Settings
from deskmate.core.domain import Author, EscalationReason, Handoff, Route, Sentiment
from deskmate.core.plugins import PluginHost
from deskmate.testing import make_conversation, make_turn

HANDOFF = Handoff(
    reasons=[EscalationReason("human_requested", "the customer asked for a human")],
    summary="Wants a refund for order 42",
    sentiment=Sentiment("negative", -0.6),
    language="en",
    route=Route(),
    session_url="http://127.0.0.1:8080/sessions/7",
)


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A Slack-style incoming webhook on loopback that records what it receives."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def configured(settings: Settings, **section: object) -> Settings:
    return dataclasses.replace(settings, plugins={"example": section})


def test_plugin_loads_with_its_hooks(plugin_host: Callable[..., PluginHost]) -> None:
    host = plugin_host(("example", deskmate_example))

    info = host.infos["example"]
    assert info.status == "loaded"
    assert info.hooks == ["config_schema", "enrich_context", "handed_off"]


def test_config_schema_accepts_a_section_and_refuses_a_bad_url() -> None:
    schema = deskmate_example.config_schema()()

    assert schema.load({})["vip_domains"] == []
    with pytest.raises(marshmallow.ValidationError, match="webhook_url"):
        schema.load({"webhook_url": "not a url"})


def test_vip_customer_is_marked(plugin_host: Callable[..., PluginHost], settings: Settings) -> None:
    host = plugin_host(("example", deskmate_example))
    vip = Author("user", "contact-9", "Ann", "ann@BigCustomer.com")
    turn = make_turn(
        settings=configured(settings, vip_domains=["bigcustomer.com"]),
        conversation=make_conversation(author=vip),
    )

    assert {"VIP customer": "yes"} in host.hook.enrich_context(turn=turn)


def test_other_customers_are_not_marked(
    plugin_host: Callable[..., PluginHost], settings: Settings
) -> None:
    host = plugin_host(("example", deskmate_example))
    turn = make_turn(settings=configured(settings, vip_domains=["bigcustomer.com"]))

    assert host.hook.enrich_context(turn=turn) == []


def test_handoff_is_posted_to_the_webhook(
    plugin_host: Callable[..., PluginHost],
    settings: Settings,
    webhook: tuple[str, list[dict]],
) -> None:
    url, received = webhook
    host = plugin_host(("example", deskmate_example))
    turn = make_turn(settings=configured(settings, webhook_url=url))

    host.hook.handed_off(turn=turn, handoff=HANDOFF, results=[])

    assert len(received) == 1
    text = received[0]["text"]
    assert "the customer asked for a human" in text
    assert "Wants a refund for order 42" in text
    assert "http://127.0.0.1:8080/sessions/7" in text


def test_unreachable_webhook_is_logged_not_raised(
    plugin_host: Callable[..., PluginHost],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = plugin_host(("example", deskmate_example))
    turn = make_turn(settings=configured(settings, webhook_url="http://127.0.0.1:9/closed"))

    with caplog.at_level(logging.ERROR):
        host.hook.handed_off(turn=turn, handoff=HANDOFF, results=[])

    assert "plugin 'example' failed in handed_off" in caplog.text
