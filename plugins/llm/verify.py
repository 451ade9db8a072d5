"""``deskmate verify`` for the model endpoint: reachable, the key accepted, the model there.

The model is looked up in ``GET /v1/models``; a server that lists nothing (or not that model) is
asked for a one-token answer instead. A circuit breaker that opened recently (recorded in the
session audit) is reported with the problem that opened it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from deskmate.core.config import Settings, WorkspaceSettings
from deskmate.core.store.db import DatabaseError, make_engine
from deskmate.core.store.models import AuditRecord, utcnow
from deskmate.core.verify import Check
from deskmate.plugins.llm.brain import AUDIT_KIND
from deskmate.plugins.llm.client import ModelClient, ModelError
from deskmate.plugins.llm.options import NAME, LlmOptions, options_for

VERIFY_TIMEOUT = 15.0
BREAKER_LOOKBACK = timedelta(hours=1)
RECENT_RECORDS = 200

FIXES = {
    "unauthorized": "the endpoint refused the key: put a valid key where api_key points "
    '(api_key = { env = "LLM_API_KEY" }); Ollama and vLLM without --api-key need none',
    "unreachable": "nothing answers at base_url: check the address and that the server runs "
    "(Ollama: http://localhost:11434/v1, vLLM: http://HOST:8000/v1)",
    "timeout": "the endpoint did not answer in time: check the server's load, or raise timeout",
    "rate_limited": "the endpoint rate-limits this key (HTTP 429): raise the key's quota or "
    "wait; deskmate honours Retry-After",
    "server_error": "the endpoint fails (HTTP 5xx): check the server's logs or status page",
    "not_found": "base_url must be the OpenAI-compatible root, usually ending in /v1 (Azure: "
    "https://RESOURCE.openai.azure.com/openai/v1)",
    "bad_request": "the endpoint refused the request: check model and base_url",
    "malformed": "the endpoint does not answer in OpenAI's shape: check base_url",
    "not_installed": "pip install 'deskmate[llm]'",
}


def model_checks(settings: Settings, workspace: WorkspaceSettings) -> list[Check]:
    """The model endpoint's checks for ``workspace``; none when the plugin is off for it."""
    options = options_for(settings.plugin_config(NAME), workspace.app_id)
    if not options.configured:
        return []
    checks = [_check_endpoint(options)]
    breaker = _recent_breaker(settings, workspace.app_id)
    if breaker is not None:
        checks.append(breaker)
    return checks


def _check_endpoint(options: LlmOptions) -> Check:
    where = f"{options.model} at {options.endpoint}"
    client = ModelClient(replace(options, timeout=min(options.timeout, VERIFY_TIMEOUT)))
    try:
        try:
            listed = client.models()
        except ModelError as exc:
            if exc.kind not in ("not_found", "bad_request", "malformed"):
                raise
            listed = []
        if options.model in listed:
            return Check("model", "ok", f"Model {where} is listed")
        client.ping()
        return Check("model", "ok", f"Model {where} answered a one-token call")
    except ModelError as exc:
        summary = f"Model {where}: {exc.kind.replace('_', ' ')} ({exc.detail})"
        fix = FIXES.get(exc.kind, "check base_url and model")
        if exc.kind == "not_found" and listed:
            fix = f"set model to one the endpoint lists: {', '.join(sorted(listed)[:10])}"
        return Check("model", "fail", summary, fix)
    finally:
        client.close()


def _recent_breaker(settings: Settings, workspace_id: str) -> Check | None:
    """A warning when the circuit breaker stopped model calls within the last hour."""
    since = utcnow() - BREAKER_LOOKBACK
    url = settings.resolved_database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return None
    try:
        engine = make_engine(url)
        try:
            with engine.connect() as db:
                rows = db.execute(
                    select(AuditRecord.data, AuditRecord.created_at, AuditRecord.session_id)
                    .where(
                        AuditRecord.workspace_id == workspace_id,
                        AuditRecord.kind == AUDIT_KIND,
                        AuditRecord.created_at >= since,
                    )
                    .order_by(AuditRecord.id.desc())
                    .limit(RECENT_RECORDS)
                ).all()
        finally:
            engine.dispose()
    except (SQLAlchemyError, DatabaseError):
        return None
    for data, created_at, session_id in rows:
        if isinstance(data, dict) and data.get("circuit_open"):
            problem = data.get("problem") or "repeated failures"
            return Check(
                "model_breaker",
                "warn",
                f"The circuit breaker stopped model calls at {created_at:%H:%M:%S} UTC "
                f"(session {session_id}): {problem}",
                "fix the endpoint problem above; calls resume on their own once it answers",
            )
    return None
