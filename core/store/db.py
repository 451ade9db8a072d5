"""Engines, sessions and schema migrations for deskmate's database.

SQLite (the default, a file in the instance folder) is tuned for one writer and many readers:
WAL journal, ``synchronous=NORMAL``, a busy timeout, foreign keys on, and every transaction opened
with ``BEGIN IMMEDIATE`` so a transaction that reads and then writes waits for the write lock
instead of failing with "database is locked"; read-only sessions (:func:`reading`, or a
``read_only`` factory) use a deferred ``BEGIN`` and never hold that lock, so a long read can't make
a writer wait past the busy timeout. PostgreSQL is used when ``database_url`` says so.

The schema is managed by the Alembic migrations shipped in ``deskmate.core.store.migrations``;
:func:`upgrade` applies them (``deskmate db upgrade``, and ``serve`` at start-up).
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
SQLITE_BUSY_TIMEOUT_MS = 5000
READ_ONLY = "deskmate_read_only"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
MIGRATION_LOCK_ID = 0x6465736B6D617465  # "deskmate"


class DatabaseError(Exception):
    """The database can't be used; the message says which one (password masked) and what to do."""


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against the migrations shipped with this deskmate."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.up_to_date:
            return f"schema at {self.head} (latest)"
        current = f"at {self.current}" if self.current else "empty"
        return f"schema {current}, latest is {self.head}: run `deskmate db upgrade`"


def masked(url: str | URL) -> str:
    """The URL with any password replaced by ``***``, safe for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a database URL>"


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite tuned as described above, PostgreSQL with pre-ping."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        return _create(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    if database in ("", ":memory:"):
        engine = _create(parsed, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        _make_parent(Path(database), parsed)
        engine = _create(parsed, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _tune_sqlite)
    event.listen(engine, "begin", _begin_immediate)
    if database not in ("", ":memory:"):
        _switch_to_wal(database)
    return engine


_wal_lock = threading.Lock()


def _switch_to_wal(database: str) -> None:
    """Put a new SQLite file in WAL mode now, one thread at a time.

    The switch needs the file to itself, and SQLite answers "database is locked" at once, without
    waiting, to a connection that meets a switch in progress (two engines opening one new file,
    say the host and the brain's index warm-up). WAL mode is kept in the file, so once it is
    switched every later connection only confirms it.
    """
    with _wal_lock:
        try:
            with contextlib.closing(sqlite3.connect(database, timeout=5)) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error:
            return  # the engine's first connection reports the problem, with what to check


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (repository results outlive them).

    ``read_only`` sessions (long reads such as building a search index, or pages) open a
    deferred transaction on SQLite, so they never hold the write lock that intake needs.
    """
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind, expire_on_commit=False)


def reading(sessions: sessionmaker[Session]) -> Session:
    """A session of ``sessions`` for reads only: on SQLite its transaction is deferred, so it
    never holds the write lock (a sweep, however many rows it reads, can't delay a lease)."""
    bind = sessions.kw["bind"]
    return sessions(bind=bind.execution_options(**{READ_ONLY: True}))


def upgrade(target: str | Engine, revision: str = "head") -> str | None:
    """Apply the shipped migrations up to ``revision``; return the revision the database is at.

    Safe when several processes start at once: they take turns, and the later ones find the
    schema up to date (SQLite's write lock, a PostgreSQL advisory lock). The revision is read and
    every step applied in one transaction: alembic would otherwise commit each step of a SQLite
    upgrade on its own, and a process that read the revision between another's steps would
    apply a step twice.
    """
    with _connection(target) as conn:
        conn.begin()
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        command.upgrade(_alembic_config(conn), revision)
        conn.commit()
        return _current(conn)


def current_revision(target: str | Engine) -> str | None:
    """The revision the database is at, ``None`` for an empty database."""
    with _connection(target) as conn:
        return _current(conn)


@functools.cache
def head_revision() -> str:
    """The newest revision shipped with this deskmate (read once: it can't change)."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "deskmate ships at least one migration"
    return head


def check_schema(target: str | Engine) -> SchemaStatus:
    """Compare the database's revision with the newest shipped one (for health and ``serve``)."""
    return SchemaStatus(current=current_revision(target), head=head_revision())


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        parsed = None
    if parsed is None or parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise DatabaseError(
            f"{masked(url)}: deskmate stores its data in SQLite or PostgreSQL; database_url must "
            "look like sqlite:///path/to/deskmate.db or postgresql+psycopg://user:password@host/db"
        )
    return parsed


def _create(url: URL, **kwargs: Any) -> Engine:
    try:
        return create_engine(url, **kwargs)
    except NoSuchModuleError:
        hint = _driver_hint(url)
        raise DatabaseError(f"{masked(url)}: unknown database driver; {hint}") from None
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"{masked(url)}: the driver module {exc.name!r} is not installed; {_driver_hint(url)}"
        ) from None


def _driver_hint(url: URL) -> str:
    if url.get_backend_name() == "postgresql":
        return "install psycopg with `pip install 'deskmate[postgres]'`, use postgresql+psycopg://"
    return "use sqlite:///path/to/deskmate.db"


def _make_parent(path: Path, url: URL) -> None:
    try:
        path.expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocked = isinstance(exc, FileExistsError | NotADirectoryError)
        why = "a file is in the way" if blocked else exc.strerror
        raise DatabaseError(
            f"Can't create the folder for the database {masked(url)}: {why}. "
            "Check the instance folder's path and permissions."
        ) from None


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN (pysqlite would defer and weaken it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _begin_immediate(conn: Connection) -> None:
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@contextmanager
def _connection(target: str | Engine) -> Iterator[Connection]:
    """A connection to ``target``; failures to reach it become a helpful :class:`DatabaseError`."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        try:
            conn = engine.connect()
        except OperationalError as exc:
            raise DatabaseError(_unreachable(engine.url, exc)) from None
        with conn:
            yield conn
    finally:
        if isinstance(target, str):
            engine.dispose()


def _unreachable(url: URL, exc: OperationalError) -> str:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
    if url.password:
        reason = reason.replace(str(url.password), "***")
    what = (
        "that the file's folder exists and is writable, and that no other program holds it"
        if url.get_backend_name() == "sqlite"
        else "that the server is running and reachable, and the user, password and database name"
    )
    return (
        f"Can't use the database {masked(url)}: {reason}. "
        f"Check database_url in your configuration, {what}."
    )


def _alembic_config(conn: Connection | None = None) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    config.attributes["connection"] = conn
    return config


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()
