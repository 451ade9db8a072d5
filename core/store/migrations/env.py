"""Alembic environment for deskmate's schema.

``deskmate.core.store.db.upgrade`` hands over an open connection in ``config.attributes``; the
alembic command line (for contributors) names the database with ``-x url=...``.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from deskmate.core.store.db import make_engine
from deskmate.core.store.models import Base

config = context.config


def _configure(**kwargs: object) -> None:
    # Batch mode lets future migrations alter SQLite tables (copy-and-move under the hood).
    context.configure(
        target_metadata=Base.metadata, render_as_batch=True, compare_type=True, **kwargs
    )


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def _url_from_command_line() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("Name the database: alembic -c core/store/alembic.ini -x url=sqlite:///…")
    return url


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    if config.config_file_name:
        fileConfig(config.config_file_name)
    url = _url_from_command_line()
    if context.is_offline_mode():
        _configure(url=url, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


main()
