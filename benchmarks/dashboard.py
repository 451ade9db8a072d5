"""Dashboard pages at 100k sessions: server time per page (p50/p99) vs a bare route.

A SQLite store (a real file, migrated to head) is filled with bulk inserts: ``--sessions``
conversations spread over ``--days`` days with a realistic mix of outcomes (left alone, assisted,
answered, resolved, handed off for each reason), one kept message and one ``saw`` audit record
each, one webhook event each (a few dead), citations for the answers, plugin failures and a
knowledge sync. Then each dashboard page is requested ``--repeat`` times through Flask's test
client (logged in, in this process) and timed; a bare route of the same app, timed in the same
run, is the baseline (the test client's and Flask's own cost). The target is < 100 ms per page.

Correctness is checked while measuring: every page answers 200, the overview counts every
session of the full range and the conversations list is full; otherwise the script exits 1.
Timing is never asserted.

Run: ``.venv/bin/python benchmarks/dashboard.py`` (about a minute on 2 cores);
``--quick`` for 5,000 sessions.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, Table

from deskmate.core.app import create_app
from deskmate.core.config import Secret, Settings, WorkspaceSettings
from deskmate.core.store import db
from deskmate.core.store.models import (
    AuditRecord,
    EventRecord,
    MessageRecord,
    SessionCitation,
    SessionRecord,
    SyncState,
)

APP_ID = "bench"
TOKEN = "dashboard-benchmark-admin-token"
TARGET_MS = 100.0
CHUNK = 10_000
QUESTIONS = [
    "How do I export my invoices to CSV?",
    "Can I export invoices as a CSV file?",
    "Do you support SSO with Okta?",
    "Is there single sign-on with Okta?",
    "How do I change the billing email?",
    "Where can I download my data?",
    "How do I reset my password?",
    "I was charged twice, how do I get a refund?",
    "Can I pause my subscription?",
    "How do I add a team member?",
]
REASONS = ["no_knowledge", "low_confidence", "human_requested", "frustration", "handoff_topic"]
DOCUMENTS = [f"article-{i}" for i in range(40)]
LANGUAGES = ["en"] * 6 + ["fr", "de", "es", None]
CHANNELS = ["messenger"] * 3 + ["email"]


def session_rows(count: int, days: int, now: datetime, rng: random.Random) -> Iterator[dict]:
    """Sessions with the mix of outcomes a busy workspace has, oldest first."""
    span = days * 86_400
    for i in range(count):
        at = now - timedelta(seconds=span * (1 - i / count))
        roll = rng.random()
        row: dict[str, Any] = {
            "id": i + 1,
            "workspace_id": APP_ID,
            "conversation_id": str(10_000_000 + i),
            "channel": rng.choice(CHANNELS),
            "state": "open",
            "mode": "autopilot",
            "language": rng.choice(LANGUAGES),
            "contact_id": f"contact-{i % 5000}",
            "created_at": at,
            "updated_at": at,
            "ai_turns": 0,
            "tags": [],
            "summary": None,
            "handed_off_at": None,
            "handoff_reason": None,
            "first_answer_seconds": None,
        }
        if roll < 0.03:
            row["mode"] = "shadow"
        elif roll < 0.10:
            row["mode"] = None
        elif roll < 0.15:
            row["mode"] = "assist"
        elif roll < 0.60:
            row["ai_turns"] = rng.randint(1, 3)
            row["first_answer_seconds"] = rng.uniform(3, 300)
            row["state"] = "resolved" if roll < 0.45 else "open"
        else:
            row |= {
                "state": "handed_off",
                "handed_off_at": at + timedelta(minutes=2),
                "handoff_reason": rng.choice(REASONS),
                "summary": rng.choice(QUESTIONS),
            }
        yield row


def shadow_records(rng: random.Random, sid: int) -> list[tuple[str, dict]]:
    """A shadow decision (what the AI would have done) and what the team then did."""
    would = rng.choice(["answer", "answer", "handoff"])
    reasons = [] if would == "answer" else [{"code": rng.choice(REASONS), "detail": ""}]
    citations = [{"title": rng.choice(DOCUMENTS)}] if would == "answer" else []
    decision = {"would": would, "part": f"p{sid}", "reasons": reasons, "citations": citations}
    return [("shadow", decision), ("human", {"did": rng.choice(["replied", "closed"])})]


def fill(engine: Engine, sessions: int, days: int, now: datetime, seed: int = 5) -> None:
    """Bulk-insert the sessions and what hangs off them (messages, audit, events, citations)."""
    rng = random.Random(seed)
    batches: dict[Table, list[dict]] = {}

    def add(table: Table, row: dict) -> None:
        batches.setdefault(table, []).append(row)

    def flush() -> None:
        """Insert every batch, sessions first (the others refer to them)."""
        with engine.begin() as conn:
            for table, rows in batches.items():
                conn.execute(table.insert(), rows)
        batches.clear()

    for row in session_rows(sessions, days, now, rng):
        add(SessionRecord.__table__, row)
        sid, at, conversation = row["id"], row["created_at"], row["conversation_id"]
        question = row["summary"] or rng.choice(QUESTIONS)
        add(
            MessageRecord.__table__,
            {"session_id": sid, "workspace_id": APP_ID, "conversation_id": conversation,
             "part_id": f"p{sid}", "author_type": "user", "kind": "comment", "text": question,
             "html": "", "attachments": [], "created_at": at},
        )  # fmt: skip
        add(
            AuditRecord.__table__,
            {"session_id": sid, "workspace_id": APP_ID, "kind": "saw", "created_at": at,
             "data": {"message": question, "language": row["language"], "hits": []}},
        )  # fmt: skip
        if row["mode"] == "shadow":
            for kind, data in shadow_records(rng, sid):
                add(
                    AuditRecord.__table__,
                    {"session_id": sid, "workspace_id": APP_ID, "kind": kind, "created_at": at,
                     "data": data},
                )  # fmt: skip
        dead = sid % 500 == 0
        add(
            EventRecord.__table__,
            {"workspace_id": APP_ID, "notification_id": f"n{sid}",
             "topic": "conversation.user.replied", "conversation_id": conversation,
             "payload": "{}", "status": "dead" if dead else "done", "attempts": 5 if dead else 1,
             "reason": "HTTP 500 from Intercom" if dead else "answered", "received_at": at,
             "available_at": at},
        )  # fmt: skip
        if row["ai_turns"]:
            document = rng.choice(DOCUMENTS)
            add(
                SessionCitation.__table__,
                {"session_id": sid, "workspace_id": APP_ID, "document": document,
                 "title": document.replace("-", " ").title(), "url": None, "created_at": at},
            )  # fmt: skip
        if sid % 1000 == 0:
            add(
                AuditRecord.__table__,
                {"session_id": sid, "workspace_id": APP_ID, "kind": "plugin_failed",
                 "created_at": at, "data": {"plugin": "crm", "hook": "enrich_context",
                 "kind": "context", "error": "timeout"}},
            )  # fmt: skip
        if sid % CHUNK == 0:
            flush()
    flush()
    with engine.begin() as conn:
        conn.execute(
            SyncState.__table__.insert(),
            {"workspace_id": APP_ID, "source": "articles", "last_run_at": now,
             "last_success_at": now, "stats": {}},
        )  # fmt: skip


def make_app(url: str, base: Path) -> Flask:
    workspace = WorkspaceSettings(
        app_id=APP_ID,
        access_token=Secret("env", "X", "unused"),
        client_secret=Secret("env", "Y", "unused"),
        ai_admin_id="1",
        timezone="Europe/Paris",
    )
    settings = Settings(
        workspaces={APP_ID: workspace},
        database_url=url,
        instance_path=base / "instance",
        admin_token=Secret("env", "DESKMATE_ADMIN_TOKEN", TOKEN),
    )
    app = create_app(settings)
    app.add_url_rule("/-/bare", "bare", lambda: "ok")
    return app


def logged_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf is not None
    client.post("/login", data={"token": TOKEN, "csrf_token": csrf[1]})
    return client


def pages(days: int, now: datetime) -> dict[str, str]:
    since = (now - timedelta(days=days)).date().isoformat()
    return {
        "bare route (baseline)": "/-/bare",
        "overview, last 7 days": "/",
        "overview, last 30 days": f"/?since={(now - timedelta(days=29)).date()}",
        f"overview, all {days} days": f"/?since={since}",
        "conversations, newest": "/conversations",
        "conversations, handed off, no knowledge": "/conversations?outcome=handed_off"
        "&reason=no_knowledge",
        "conversations, language fr, email": "/conversations?language=fr&channel=email",
        "conversations, text search": "/conversations?q=okta",
        "conversations, page 20": "/conversations?page=20",
        "unanswered + content, last 7 days": "/unanswered",
        f"unanswered + content, all {days} days": f"/unanswered?since={since}",
        "shadow & replay, last 7 days": "/trials",
        "health": "/health",
        "session page": "/sessions/1",
    }


def time_page(client: FlaskClient, url: str, repeat: int) -> list[float]:
    for _ in range(3):
        response = client.get(url)
        if response.status_code != 200:
            sys.exit(f"FAIL: {url} answered {response.status_code}")
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def check(client: FlaskClient, sessions: int, days: int, now: datetime) -> None:
    """The full range counts every session; the first list page is full."""
    since = (now - timedelta(days=days + 1)).date().isoformat()
    html = client.get(f"/?since={since}").get_data(as_text=True)
    found = re.search(r"the AI took part in \d+ of (\d+) conversations", html)
    if found is None or int(found[1]) != sessions:
        sys.exit(f"FAIL: the overview counts {found and found[1]} sessions, not {sessions}")
    rows = client.get("/conversations").get_data(as_text=True).count('href="/sessions/')
    if rows < min(50, sessions // (days * 2)):
        sys.exit(f"FAIL: the conversations list shows {rows} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="5,000 sessions, 10 repeats")
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.repeat = 5_000, 10
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        url = f"sqlite:///{base / 'deskmate.db'}"
        db.upgrade(url)
        started = time.perf_counter()
        engine = db.make_engine(url)
        fill(engine, args.sessions, args.days, now)
        engine.dispose()
        print(f"filled {args.sessions} sessions in {time.perf_counter() - started:.1f} s")
        app = make_app(url, base)
        client = logged_in(app)
        check(client, args.sessions, args.days, now)
        results = {
            name: time_page(client, u, args.repeat) for name, u in pages(args.days, now).items()
        }
        base_p50 = statistics.median(results["bare route (baseline)"])
        print(f"{'page':42} {'p50 ms':>8} {'p99 ms':>8} {'x bare':>8}  target < {TARGET_MS:.0f} ms")
        for name, samples in results.items():
            p50 = statistics.median(samples)
            verdict = "ok" if p99(samples) < TARGET_MS else "OVER"
            print(f"{name:42} {p50:8.1f} {p99(samples):8.1f} {p50 / base_p50:8.1f}  {verdict}")


if __name__ == "__main__":
    main()
