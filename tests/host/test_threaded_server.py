"""A waitress server in a background thread stops, with its connections and worker threads."""

from __future__ import annotations

import os

import flask
import pytest
import requests
import waitress

from deskmate.core.threaded_server import ThreadedServer


def _served() -> ThreadedServer:
    app = flask.Flask("t")
    app.add_url_rule("/", "hello", lambda: "hello")
    running = ThreadedServer(waitress.create_server(app, port=0, threads=2), "test-http")
    running.start()
    return running


def test_stop_ends_the_loop_and_the_port_no_longer_answers() -> None:
    running = _served()
    url = f"http://127.0.0.1:{running.server.effective_port}/"
    assert requests.get(url, timeout=5).text == "hello"
    running.stop()
    assert not running._thread.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)


def test_a_server_whose_wake_up_pipe_is_gone_still_stops() -> None:
    running = _served()
    os.close(running.server.trigger.trigger)
    running.stop()
    assert not running._thread.is_alive()
