"""Fixtures for the sandbox's tests: an app, an authorised client, a webhook receiver on
loopback, and the Intercom OpenAPI spec (loaded once per session)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from deskmate.core.sandbox import close_sandbox, create_sandbox_app

TOKEN = "sandbox-test-token"
SECRET = "sandbox-test-secret"
APP_ID = "testapp"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SPEC_PATH = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "intercom"
    / "openapi"
    / "api.intercom.io.subset.yaml"
)


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """A factory for sandbox apps (fast webhook retries); every app it made is closed after."""
    made: list[Flask] = []

    def make(**options: Any) -> Flask:
        options.setdefault("webhook_retry_delay", 0.05)
        app = create_sandbox_app(TOKEN, SECRET, APP_ID, **options)
        made.append(app)
        return app

    yield make
    for app in made:
        close_sandbox(app)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client that sends the sandbox's bearer token on every call."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = AUTH["Authorization"]
    return client


@pytest.fixture
def open_conversation(client: FlaskClient) -> Callable[..., str]:
    """``open_conversation(**overrides)`` opens a Messenger conversation; returns its id."""

    def open_(**overrides: Any) -> str:
        body = {
            "channel": "messenger",
            "body": "Hi, I was charged twice",
            "contact": {"name": "Ada Lovelace", "email": "ada@example.com"},
        } | overrides
        response = client.post("/_sandbox/conversations", json=body)
        assert response.status_code == 201, response.json
        return response.json["id"]

    return open_


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str = ""


@dataclass
class Receiver:
    """A webhook endpoint on loopback; ``statuses`` are answered in turn, then 200."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.arrived:
                state.received.append(Received(dict(self.headers), body, self.path))
                status = state.statuses.pop(0) if state.statuses else 200
                state.arrived.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/webhooks/intercom"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


class Spec:
    """Validators for Intercom's OpenAPI schemas, resolving ``$ref`` inside the spec."""

    def __init__(self, document: dict[str, Any]) -> None:
        resource = Resource.from_contents(document, default_specification=DRAFT4)
        self._registry = Registry().with_resource("urn:intercom", resource)

    def _validator(self, pointer: str) -> OAS30Validator:
        return OAS30Validator({"$ref": f"urn:intercom#{pointer}"}, registry=self._registry)

    def response(self, path: str, method: str) -> OAS30Validator:
        """The validator for that operation's 200 JSON body."""
        escaped = path.replace("~", "~0").replace("/", "~1")
        return self._validator(
            f"/paths/{escaped}/{method}/responses/200/content/application~1json/schema"
        )

    def component(self, name: str) -> OAS30Validator:
        return self._validator(f"/components/schemas/{name}")


@pytest.fixture(scope="session")
def spec() -> Spec:
    """The part of Intercom's OpenAPI 2.16 spec the tests check, parsed once per session."""
    with SPEC_PATH.open("rb") as handle:
        return Spec(yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
