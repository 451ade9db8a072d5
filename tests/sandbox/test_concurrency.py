"""Many clients at once over real HTTP: state stays consistent and webhooks keep their order."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import requests

from deskmate.core.sandbox import SandboxServer
from deskmate.core.sandbox.guards import RequestLog

AUTH = {"Authorization": "Bearer sandbox-test-token"}


def _customer_story(base_url: str, worker: int) -> list[str]:
    session, ids = requests.Session(), []
    for n in range(5):
        created = session.post(
            f"{base_url}/_sandbox/conversations",
            json={"channel": "messenger", "body": f"question {worker}-{n}",
                  "contact": {"name": f"C{worker}", "email": f"c{worker}@example.com"}},
            timeout=10,
        )  # fmt: skip
        conversation_id = created.json()["id"]
        reply = {"message_type": "comment", "type": "admin", "admin_id": "1000001", "body": "hi"}
        answered = session.post(
            f"{base_url}/conversations/{conversation_id}/reply",
            json=reply,
            headers=AUTH,
            timeout=10,
        )
        followed = session.post(
            f"{base_url}/_sandbox/conversations/{conversation_id}/reply",
            json={"body": "thanks"},
            timeout=10,
        )
        assert (created.status_code, answered.status_code, followed.status_code) == (201, 200, 200)
        ids.append(conversation_id)
    return ids


def test_parallel_clients_keep_state_and_webhook_order(make_app, receiver):
    app = make_app(webhook_url=receiver.url)
    with SandboxServer(app) as server:
        with ThreadPoolExecutor(8) as pool:
            ids = [i for batch in pool.map(lambda w: _customer_story(server.base_url, w), range(8))
                   for i in batch]  # fmt: skip
        assert server.sandbox.webhooks.wait_idle(20)
        for conversation_id in ids:
            conv = requests.get(
                f"{server.base_url}/conversations/{conversation_id}", headers=AUTH, timeout=10
            ).json()
            parts = conv["conversation_parts"]["conversation_parts"]
            assert [(p["part_type"], p["author"]["type"]) for p in parts] == [
                ("comment", "admin"),
                ("comment", "user"),
            ]
    assert len(set(ids)) == 40
    topics = defaultdict(list)
    for received in receiver.received:
        envelope = json.loads(received.body)
        topics[envelope["data"]["item"]["id"]].append(envelope["topic"])
    assert set(topics) == set(ids)
    assert all(
        t
        == ["conversation.user.created", "conversation.admin.replied", "conversation.user.replied"]
        for t in topics.values()
    )


def test_server_closes_promptly_with_keep_alive_connections_open(make_app):
    server = SandboxServer(make_app()).__enter__()
    session = requests.Session()
    assert session.get(f"{server.base_url}/me", headers=AUTH, timeout=5).status_code == 200
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 3  # a server that missed the close waits 5 s


def test_taking_the_request_log_while_calls_arrive_counts_each_call_exactly_once() -> None:
    log = RequestLog(threading.RLock())

    def calls(first: int) -> None:
        for n in range(first, first + 5_000):
            log.add("GET", f"/contacts/{n}", "", 200)

    callers = [threading.Thread(target=calls, args=(first,)) for first in range(0, 20_000, 5_000)]
    for caller in callers:
        caller.start()
    taken: list[dict[str, object]] = []
    while any(caller.is_alive() for caller in callers):
        taken += log.take()
    taken += log.take()
    assert sorted(int(str(e["path"]).rsplit("/", 1)[1]) for e in taken) == list(range(20_000))
