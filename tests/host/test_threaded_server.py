"""A waitress server in a background thread stops, with its connections and worker threads."""

from __future__ import annotations

import os

import flask
import pytest
import requests
import waitress

from deskmate.core.server import bind
from deskmate.core.threaded_server import ThreadedServer


def _served() -> ThreadedServer:
    app = flask.Flask("t")
    app.add_url_rule("/", "hello", lambda: "hello")
    running = ThreadedServer(
        waitress.create_server(app, port=0, threads=2, asyncore_use_poll=True), "test-http"
    )
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


def test_deskmates_server_answers_when_the_process_holds_over_1024_descriptors() -> None:
    """select() can't watch a descriptor numbered 1024 or more; deskmate's server polls instead,
    so a process with many open files (database connections, sockets) keeps answering."""
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        app = flask.Flask("t")
        app.add_url_rule("/", "hello", lambda: "hello")
        server = bind(app, port=0)
        assert server.socket.fileno() >= 1024
        running = ThreadedServer(server, "many-files-http")
        running.start()
        try:
            answer = requests.get(f"http://127.0.0.1:{server.effective_port}/", timeout=5)
        finally:
            running.stop()
        assert answer.text == "hello"
    finally:
        for fd in held:
            os.close(fd)
