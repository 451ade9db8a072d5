"""Schema migrations: fresh databases, repeat upgrades, models in step with migrations, engines."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, String, event, inspect, text
from sqlalchemy.exc import OperationalError

from deskmate.core.store import db
from deskmate.core.store.models import (
    Base,
    EventOutcome,
    EventRecord,
    KnowledgeDocument,
    KnowledgeEmbedding,
    KnowledgePassage,
    SessionCitation,
    SessionRecord,
)


def schema_diff(engine, metadata: MetaData) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_upgrade_creates_every_table_on_a_fresh_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'deskmate.db'}"
    assert db.current_revision(url) is None
    assert db.upgrade(url) == db.head_revision()
    engine = db.make_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_processes_starting_together_migrate_once(empty_url):
    """Several ``serve`` processes upgrading one fresh database at once all succeed."""
    script = "import sys; from deskmate.core.store.db import upgrade; print(upgrade(sys.argv[1]))"
    argv = [sys.executable, "-c", script, empty_url]
    starts = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=60)[0].strip() for p in starts]
    assert [p.returncode for p in starts] == [0, 0, 0]
    assert outputs == [db.head_revision()] * 3


def test_an_upgrade_reads_the_revision_and_applies_every_step_in_one_transaction(tmp_path):
    """Another process can't commit a step between this one's reading of the revision and its
    own steps (it would apply that step twice: "no such table" in the next migration)."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    committed = []
    event.listen(engine, "commit", lambda conn: committed.append(1))
    assert db.upgrade(engine) == db.head_revision()
    engine.dispose()
    assert len(committed) == 1  # alembic alone commits each of a SQLite upgrade's steps


def test_upgrade_again_changes_nothing_and_keeps_data(sqlite_url):
    engine = db.make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(
            EventRecord.__table__.insert(),
            {
                "workspace_id": "a",
                "notification_id": "n",
                "topic": "t",
                "payload": "{}",
                "status": "queued",
                "attempts": 0,
                "received_at": datetime(2026, 1, 1).astimezone(),
                "available_at": datetime(2026, 1, 1).astimezone(),
            },
        )
    assert db.upgrade(engine) == db.head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM webhook_events")).scalar() == 1
    engine.dispose()


def test_models_and_migrations_agree(engine):
    assert schema_diff(engine, Base.metadata) == []


def test_model_drift_would_be_caught(engine):
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["sessions"].append_column(Column("priority", Integer))
    drifted.tables["actions"].c.kind.type = String(40)
    # Alembic reports column changes as a list of tuples and the rest as tuples.
    kinds = {d[0] if isinstance(d, tuple) else d[0][0] for d in schema_diff(engine, drifted)}
    assert kinds == {"add_column", "modify_type"}


def test_downgrade_to_base_and_back(sqlite_url):
    engine = db.make_engine(sqlite_url)
    with engine.connect() as conn:
        command.downgrade(db._alembic_config(conn), "base")
        conn.commit()
        assert set(inspect(conn).get_table_names()) == {"alembic_version"}
    assert db.upgrade(engine) == db.head_revision()
    engine.dispose()


def _event_row(**values: object) -> dict[str, object]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    row = {"workspace_id": "a", "notification_id": "n", "topic": "t", "payload": "{}"}
    return row | {"status": "done", "attempts": 1, "received_at": at, "available_at": at} | values


def test_event_outcomes_migrate_down_and_up_keeping_the_events(empty_url):
    """0003 adds the replay history on SQLite and PostgreSQL; going back to 0002 drops only it."""
    engine = db.make_engine(empty_url)
    db.upgrade(engine)
    with engine.begin() as conn:
        event_id = conn.execute(
            EventRecord.__table__.insert().returning(EventRecord.id), _event_row()
        ).scalar_one()
        conn.execute(
            EventOutcome.__table__.insert(),
            {
                "event_id": event_id,
                "status": "dead",
                "attempts": 5,
                "replayed_at": datetime.now(UTC),
            },
        )
    with engine.connect() as conn:
        command.downgrade(db._alembic_config(conn), "0002")
        conn.commit()
        assert "webhook_event_outcomes" not in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT count(*) FROM webhook_events")).scalar() == 1
    assert db.upgrade(engine) == db.head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM webhook_event_outcomes")).scalar() == 0
    assert schema_diff(engine, Base.metadata) == []
    engine.dispose()


def test_dashboard_columns_migrate_down_and_up_keeping_the_sessions(empty_url):
    """0005_dashboard adds the outcome columns and citations; going back to 0004 drops only them."""
    engine = db.make_engine(empty_url)
    db.upgrade(engine)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        session_id = conn.execute(
            SessionRecord.__table__.insert().returning(SessionRecord.id),
            {
                "workspace_id": "a",
                "conversation_id": "c1",
                "state": "handed_off",
                "created_at": at,
                "updated_at": at,
                "ai_turns": 0,
                "tags": [],
                "handoff_reason": "no_knowledge",
            },
        ).scalar_one()
        conn.execute(
            SessionCitation.__table__.insert(),
            {
                "session_id": session_id,
                "workspace_id": "a",
                "document": "d",
                "title": "T",
                "created_at": at,
            },
        )
    with engine.connect() as conn:
        command.downgrade(db._alembic_config(conn), "0004_embeddings")
        conn.commit()
        assert "session_citations" not in inspect(conn).get_table_names()
        assert "handoff_reason" not in {c["name"] for c in inspect(conn).get_columns("sessions")}
        assert conn.execute(text("SELECT count(*) FROM sessions")).scalar() == 1
    assert db.upgrade(engine) == db.head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT handoff_reason FROM sessions")).scalar() is None
    assert schema_diff(engine, Base.metadata) == []
    engine.dispose()


def test_an_events_outcomes_go_with_it(engine):
    with engine.begin() as conn:
        event_id = conn.execute(
            EventRecord.__table__.insert().returning(EventRecord.id), _event_row()
        ).scalar_one()
        conn.execute(
            EventOutcome.__table__.insert(),
            {
                "event_id": event_id,
                "status": "dead",
                "attempts": 5,
                "replayed_at": datetime.now(UTC),
            },
        )
        conn.execute(EventRecord.__table__.delete())
        assert conn.execute(text("SELECT count(*) FROM webhook_event_outcomes")).scalar() == 0


def test_check_schema_tells_an_empty_database_from_an_upgraded_one(tmp_path, sqlite_url):
    empty = db.check_schema(f"sqlite:///{tmp_path / 'empty.db'}")
    assert not empty.up_to_date
    assert "run `deskmate db upgrade`" in empty.describe()
    ready = db.check_schema(sqlite_url)
    assert ready.up_to_date and ready.current == db.head_revision()


def test_sqlite_engine_is_tuned_for_concurrent_use(sqlite_url):
    engine = db.make_engine(sqlite_url)
    with engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }
    engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": db.SQLITE_BUSY_TIMEOUT_MS,
        "foreign_keys": 1,
    }


def test_in_memory_sqlite_shares_one_database_across_sessions():
    engine = db.make_engine("sqlite://")
    db.upgrade(engine)
    assert db.check_schema(engine).up_to_date
    engine.dispose()


def test_password_is_masked_in_urls_shown_to_people():
    assert db.masked("postgresql+psycopg://deskmate:hunter2@db/deskmate") == (
        "postgresql+psycopg://deskmate:***@db/deskmate"
    )
    assert db.masked("::not a url::") == "<not a database URL>"


def unreachable_postgres() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql+psycopg://deskmate:hunter2@127.0.0.1:{port}/deskmate"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            unreachable_postgres(),
            "Can't use the database postgresql+psycopg://deskmate:***@127.0.0.1",
        ),
        ("not a url", "database_url must look like sqlite:///"),
        ("mysql+pymysql://u:hunter2@h/d", "deskmate stores its data in SQLite or PostgreSQL"),
        ("postgresql+nodriver://u:hunter2@h/d", "unknown database driver; install psycopg"),
    ],
)
def test_unusable_database_gives_a_helpful_error_without_the_password(url, expected):
    with pytest.raises(db.DatabaseError) as info:
        db.upgrade(url)
    assert expected in str(info.value)
    assert "hunter2" not in str(info.value)


def test_sqlite_path_that_cannot_be_opened_says_what_to_check(tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    for path in (tmp_path / "blocker" / "deskmate.db", tmp_path / "blocker" / "sub" / "x.db"):
        with pytest.raises(db.DatabaseError, match=r"a file is in the way\. Check the instance"):
            db.upgrade(f"sqlite:///{path}")
    with pytest.raises(db.DatabaseError, match="that the file's folder exists and is writable"):
        db.upgrade(f"sqlite:///{tmp_path}")


def test_naive_datetime_is_refused_by_the_column_type():
    with pytest.raises(ValueError, match="naive datetime"):
        EventRecord.__table__.c.received_at.type.process_bind_param(datetime(2026, 1, 1), None)


def impatient_engine(url: str):
    """An engine that gives up on a locked SQLite database after 50 ms instead of 5 s."""
    engine = db.make_engine(url)
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout=50"))
    return engine


def test_a_read_only_session_in_progress_does_not_block_writers(sqlite_url):
    readers = db.make_session_factory(db.make_engine(sqlite_url), read_only=True)
    writer = impatient_engine(sqlite_url)
    with readers() as reading:
        reading.execute(text("SELECT count(*) FROM sessions")).scalar()
        with writer.begin() as conn:
            conn.execute(text("DELETE FROM sessions"))
    writer.dispose()


def test_a_write_session_takes_the_write_lock_when_it_begins(sqlite_url):
    """A second writer waits at BEGIN rather than failing half-way through its transaction."""
    writers = db.make_session_factory(db.make_engine(sqlite_url))
    other = impatient_engine(sqlite_url)
    with writers() as writing:
        writing.execute(text("SELECT count(*) FROM sessions")).scalar()
        with pytest.raises(OperationalError, match="database is locked"), other.begin():
            pass
    with other.begin() as conn:
        conn.execute(text("DELETE FROM sessions"))
    other.dispose()


def test_missing_postgresql_driver_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(db.DatabaseError, match=r"pip install 'deskmate\[postgres\]'") as info:
        db.make_engine("postgresql+psycopg://deskmate:hunter2@db/deskmate")
    assert "driver module 'psycopg' is not installed" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_passage_embeddings_migrate_down_and_up_and_go_with_their_passage(empty_url):
    """0004_embeddings adds the vectors table on SQLite and PostgreSQL; a passage's vectors are
    deleted with it; going back to 0003 drops only the vectors."""
    engine = db.make_engine(empty_url)
    db.upgrade(engine)
    with engine.begin() as conn:
        doc_id = conn.execute(
            KnowledgeDocument.__table__.insert().returning(KnowledgeDocument.id),
            {"workspace_id": "a", "source": "article", "external_id": "1", "locale": "en",
             "content_hash": "x", "synced_at": datetime.now(UTC)},
        ).scalar_one()  # fmt: skip
        ids = [
            conn.execute(
                KnowledgePassage.__table__.insert().returning(KnowledgePassage.id),
                {"document_id": doc_id, "workspace_id": "a", "position": n, "text": "t"},
            ).scalar_one()
            for n in range(2)
        ]
        conn.execute(
            KnowledgeEmbedding.__table__.insert(),
            [
                {"passage_id": i, "model": "m", "workspace_id": "a", "vector": b"\0" * 8}
                for i in ids
            ],
        )
        conn.execute(KnowledgePassage.__table__.delete().where(KnowledgePassage.id == ids[0]))
        assert conn.execute(text("SELECT count(*) FROM knowledge_embeddings")).scalar() == 1
    with engine.connect() as conn:
        command.downgrade(db._alembic_config(conn), "0003")
        conn.commit()
        assert "knowledge_embeddings" not in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT count(*) FROM knowledge_passages")).scalar() == 1
    assert db.upgrade(engine) == db.head_revision()
    assert schema_diff(engine, Base.metadata) == []
    engine.dispose()
