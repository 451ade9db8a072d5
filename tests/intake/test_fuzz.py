"""Property-based fuzzing of the intake and the worker with Hypothesis.

Real sample notifications are mutated (values of the wrong type, missing keys, deep nesting, huge
strings, lone surrogates, ids of every length), signed, posted to the real app, and every stored
event is run by the real engine against the sandbox. Whatever the body: no answer is a 5xx (the
store never fails here), and every stored event ends ``done``, ``skipped``, ``unprocessable`` or
``dead`` within ``max_attempts``.

The run is derandomized and bounded for every CI run. For a long run, ``DESKMATE_FUZZ_EXAMPLES``
raises the number of examples and ``DESKMATE_FUZZ_RANDOM=1`` draws new ones each time.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from deskmate.core.app import create_app, state
from deskmate.core.config import Settings
from deskmate.core.engine import Engine
from deskmate.core.intake import MAX_BODY_BYTES, intake_for
from deskmate.core.runtime import build_engine
from deskmate.core.sandbox import SandboxServer
from deskmate.core.store.db import reading, upgrade
from deskmate.core.store.events import due_conversations
from deskmate.core.store.models import EventRecord, EventStatus, utcnow
from deskmate.testing import SANDBOX_AI_ADMIN_ID, TEST_APP_ID, make_workspace

from .conftest import Intake, sample_body

EXAMPLES = int(os.environ.get("DESKMATE_FUZZ_EXAMPLES", "40"))
RANDOM = os.environ.get("DESKMATE_FUZZ_RANDOM") == "1"
MAX_ATTEMPTS = 3
SAMPLES = [
    "conversation.operator.replied.messenger.2x-shape.json",
    "conversation.admin.open.assigned.messenger.2x-shape.json",
    "conversation.user.created.messenger.legacy-1x-shape.json",
]
CUSTOMER_TOPICS = ["conversation.user.created", "conversation.user.replied"]
TOPICS = [*CUSTOMER_TOPICS, "conversation.admin.closed", "article.updated", "ping"]
ITEM = ("data", "item")
PART = (*ITEM, "conversation_parts", "conversation_parts", 0)
ID_PATHS = [
    ("id",),
    ("topic",),
    (*ITEM, "id"),
    (*ITEM, "source", "id"),
    (*ITEM, "source", "author", "id"),
    (*ITEM, "contacts", "contacts", 0, "id"),
    (*PART, "id"),
    (*PART, "author", "id"),
]
Path_ = tuple[str | int, ...]
_fresh = itertools.count(1)


@dataclass(frozen=True)
class Deep:
    """A value nested ``depth`` lists deep, written straight into the JSON text."""

    depth: int


def _paths(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every key and index path in ``value``."""
    children = (
        value.items() if isinstance(value, dict) else enumerate(value)
        if isinstance(value, list) else ()
    )  # fmt: skip
    for key, child in children:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _text() -> st.SearchStrategy[str]:
    """Text that includes lone surrogates, NUL and whitespace."""
    surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
    return st.text(st.one_of(st.characters(), surrogate, st.sampled_from(" \t\n\x00")))


ID_VALUES = st.one_of(
    st.sampled_from(["", " ", "\t", "\ud800", "\udfff", "n\ud800", "\x00", "😀"]),
    st.integers(0, 300).map(lambda n: "9" * n),
    _text(),
    st.integers(),
)
"""Values for ids (and the topic): every length, blank, not text."""

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    _text(),
    st.integers(0, 300).map(lambda n: "9" * n),
    st.sampled_from(["", " ", "\t", "0", "\ud800", "\udfff", "😀"]),
    st.integers(1000, MAX_BODY_BYTES + 1000).map(lambda n: "x" * n),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.integers(1, 5000).map(Deep),
    st.sampled_from(TOPICS),
)


def _set(doc: Any, path: Path_, value: Any, *, delete: bool = False) -> None:
    """Put ``value`` at ``path`` (or delete it) where the path still leads somewhere."""
    target = doc
    for key in path[:-1]:
        try:
            target = target[key]
        except (KeyError, IndexError, TypeError):
            return
    last = path[-1]
    if isinstance(target, dict) and isinstance(last, str):
        if delete:
            target.pop(last, None)
        else:
            target[last] = value
    elif isinstance(target, list) and isinstance(last, int) and last < len(target):
        if delete:
            del target[last]
        else:
            target[last] = value


def _dumps(doc: Any) -> bytes:
    deep: dict[str, int] = {}

    def placeholder(value: Any) -> Any:
        if isinstance(value, Deep):
            key = f"__deep_{len(deep)}__"
            deep[key] = value.depth
            return key
        raise TypeError(type(value).__name__)

    text = json.dumps(doc, default=placeholder)
    for key, depth in deep.items():
        text = text.replace(f'"{key}"', "[" * depth + "]" * depth)
    return text.encode()


@st.composite
def mutated_bodies(draw: st.DrawFn) -> bytes:
    """A real sample under a new notification and conversation id, with a few values replaced
    or removed, as the bytes to sign."""
    doc = json.loads(sample_body(draw(st.sampled_from(SAMPLES))))
    number = next(_fresh)
    doc["id"] = f"notif_fuzz_{number}"
    doc["topic"] = draw(st.sampled_from([doc["topic"], *CUSTOMER_TOPICS]))
    _set(doc, (*ITEM, "id"), str(215_000_000_000_000 + number))
    anywhere = st.sampled_from(list(_paths(doc)))
    for _ in range(draw(st.integers(1, 4))):
        at_id = draw(st.booleans())
        path = draw(st.sampled_from(ID_PATHS) if at_id else anywhere)
        if draw(st.booleans()) and draw(st.booleans()):
            _set(doc, path, None, delete=True)
        else:
            _set(doc, path, draw(ID_VALUES if at_id else VALUES))
    return _dumps(doc)


@pytest.fixture
def fuzzed(tmp_path: Path, intercom_sandbox: SandboxServer) -> Iterator[tuple[Intake, Engine]]:
    """The intake app and an engine on one SQLite file, talking to the sandbox; the knowledge
    sync is off, so every stored event is the engine's to settle."""
    workspace = make_workspace(
        base_url=intercom_sandbox.base_url,
        ai_admin_id=SANDBOX_AI_ADMIN_ID,
        process_unassigned=True,
    )
    config = Settings(
        workspaces={TEST_APP_ID: workspace},
        instance_path=tmp_path / "instance",
        plugins={"knowledge_sync": {"enabled": False}},
        jobs_max_attempts=MAX_ATTEMPTS,
    )
    upgrade(config.resolved_database_url())
    app = create_app(config, testing=True)
    database = state(app).engine
    assert database is not None
    engine = build_engine(config, state(app).host)
    yield Intake(app, app.test_client(), database), engine
    intake_for(app).writer.stop()
    engine.sessions.kw["bind"].dispose()
    database.dispose()


def _let_time_pass(intake: Intake) -> None:
    """Make every unsettled event due now, as if its delay, backoff or lease had run out."""
    past = utcnow() - timedelta(seconds=1)
    with intake.engine.begin() as conn:
        conn.execute(
            update(EventRecord)
            .where(EventRecord.status.not_in(EventStatus.FINAL))
            .values(available_at=past, lease_until=past)
        )


def _run_worker(intake: Intake, engine: Engine) -> None:
    """What the workers and the sweeper do, for as many rounds as an event may be attempted."""
    for _ in range(MAX_ATTEMPTS + 1):
        _let_time_pass(intake)
        with reading(engine.sessions) as db:
            due = due_conversations(db)
        if not due:
            return
        for workspace_id, conversation_id in due:
            engine.run_conversation(workspace_id, conversation_id)


def test_fuzzed_deliveries_get_no_5xx_and_every_stored_event_settles(
    fuzzed: tuple[Intake, Engine],
) -> None:
    intake, engine = fuzzed

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=mutated_bodies())
    def deliver_and_run(body: bytes) -> None:
        response = intake.post(body)
        expected = {413} if len(body) > MAX_BODY_BYTES else {200, 400}
        assert response.status_code in expected, response.get_data(as_text=True)
        _run_worker(intake, engine)
        for row in intake.rows():
            assert row.status in EventStatus.FINAL, (row.id, row.status, row.reason)
            assert row.attempts <= MAX_ATTEMPTS, (row.id, row.attempts, row.reason)

    deliver_and_run()
    assert intake.rows(), "some fuzzed deliveries were stored"
