"""The log of the long-running commands: level, text or JSON lines, UTC timestamps, no secrets.

``deskmate serve`` and ``deskmate worker`` call :func:`configure_logging` once, with the level
and format from their options or the ``[logging]`` section. Each line carries a UTC timestamp;
JSON lines add the structured fields a record was logged with (``extra={...}``: workspace,
notification, conversation, outcome…), so a log pipeline can filter on them.

Secrets never reach the log: deskmate's own lines name secrets by reference only, and as a last
guard every configured secret value (tokens, client secrets, the admin token, the database
password) is replaced by ``[redacted]`` in whatever a handler writes, a plugin's line included.
Message bodies are logged at DEBUG only, redacted (:func:`body_for_log`).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

import click
from sqlalchemy.engine import make_url

from deskmate.core.config import Settings
from deskmate.plugins.knowledge_sync.redact import redact

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
DEFAULT_LEVEL = "info"
DEFAULT_FORMAT = "text"
REDACTED = "[redacted]"
BODY_LIMIT = 500
"""Characters of a message body a DEBUG line shows at most."""

_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def timestamp(record: logging.LogRecord) -> str:
    """The record's time in UTC, ISO 8601 with milliseconds (``2026-12-04T17:02:03.123Z``)."""
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record was logged with (its ``extra``)."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class Scrubbing(logging.Formatter):
    """A formatter that replaces every known secret value in what it writes."""

    def __init__(self, secrets: Iterable[str] = (), fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return timestamp(record)


class TextFormatter(Scrubbing):
    """``2026-12-04T17:02:03.123Z INFO deskmate.core.intake: webhook stored …``"""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(secrets, "%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return self.scrub(super().format(record))


class JsonFormatter(Scrubbing):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message``, the record's
    structured fields, and ``exception`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(fields_of(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return self.scrub(json.dumps(line, default=str, ensure_ascii=False))


class DeskmateHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`configure_logging` installs (and replaces when called again)."""


def configure_logging(
    level: str = DEFAULT_LEVEL,
    fmt: str = DEFAULT_FORMAT,
    *,
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send every log record at ``level`` or above to ``stream`` (stderr) as ``fmt`` lines.

    :raises ValueError: an unknown level or format.
    """
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, DeskmateHandler)]:
        root.removeHandler(old)
    handler = DeskmateHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(secrets) if fmt == "json" else TextFormatter(secrets))
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


def secret_values(settings: Settings) -> list[str]:
    """Every secret value the settings hold, for the formatters to scrub."""
    values = [settings.admin_token.reveal()] if settings.admin_token else []
    for workspace in settings.workspaces.values():
        values += [workspace.access_token.reveal(), workspace.client_secret.reveal()]
    for url in (settings.database_url, settings.redis_url):
        if url:
            try:
                password = make_url(url).password
            except Exception:  # an unusual URL: nothing to scrub from it
                password = None
            if password:
                values.append(str(password))
    return [v for v in values if v]


def body_for_log(text: str) -> str:
    """A message body fit for a DEBUG line: personal data redacted, cut to :data:`BODY_LIMIT`."""
    return redact(" ".join(text.split()))[:BODY_LIMIT]


def log_options(command: Any) -> Any:
    """Add ``--log-level`` and ``--log-format`` (default: ``[logging]``) to a command."""
    command = click.option(
        "--log-format",
        type=click.Choice(FORMATS),
        help="text for people, json for a log pipeline (default: [logging] format, else text).",
    )(command)
    return click.option(
        "--log-level",
        type=click.Choice(LEVELS),
        help="Lowest level logged (default: [logging] level, else info).",
    )(command)


def start_logging(settings: Settings | None, level: str | None, fmt: str | None) -> None:
    """Configure the log from the command's options, else the settings (before they are loaded:
    the options, else the defaults, so problems met while loading are logged the same way)."""
    if settings is None:
        configure_logging(level or DEFAULT_LEVEL, fmt or DEFAULT_FORMAT)
        return
    configure_logging(
        level or settings.log_level,
        fmt or settings.log_format,
        secrets=secret_values(settings),
    )
