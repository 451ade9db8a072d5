"""With Redis configured, a second process finds the tag ids and contact facts the first one
fetched, without asking Intercom again; nothing cached is written to the database."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from deskmate.core.config import Settings
from deskmate.core.intercom.client import IntercomClient
from deskmate.core.sandbox.server import SandboxServer
from deskmate.core.shared import forget, share_state
from deskmate.core.store.db import make_engine, upgrade
from deskmate.testing import SANDBOX_AI_ADMIN_ID, make_workspace

from .test_enrichment import Sandbox

SECOND_PROCESS = """
import json, sys
from pathlib import Path
from deskmate.core.config import Settings
from deskmate.core.intercom.client import IntercomClient
from deskmate.core.intercom.enrichment import enrich_context
from deskmate.core.shared import share_state
from deskmate.testing import make_conversation, make_turn, make_workspace

base_url, redis_url, folder, contact_id = sys.argv[1:]
share_state(Settings(instance_path=Path(folder), jobs_backend="redis", redis_url=redis_url))
workspace = make_workspace(base_url=base_url, ai_admin_id="{admin}")
client = IntercomClient(workspace)
conversation = make_conversation(contact_ids=[contact_id])
turn = make_turn(workspace=workspace, conversation=conversation, intercom=client)
facts = enrich_context(turn=turn)
print(json.dumps({{"tag": client.find_or_create_tag("vip "), "facts": facts}}))
"""


@pytest.fixture
def redis_settings(redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    settings = Settings(instance_path=tmp_path, jobs_backend="redis", redis_url=redis_url)
    share_state(settings)
    yield settings
    forget()


def test_a_second_process_finds_the_tag_id_and_contact_facts_without_calling_intercom(
    intercom_sandbox: SandboxServer, redis_settings: Settings, tmp_path: Path
) -> None:
    sandbox = Sandbox(intercom_sandbox)
    contact_id = sandbox.customer("ada@example.com")
    tag_id = sandbox.client.find_or_create_tag("VIP")
    facts = sandbox.enrich(contact_id)
    assert facts is not None and facts["contact.plan"] == "pro"
    first = sandbox.calls()
    assert first.count("POST /tags") == 1 and f"GET /contacts/{contact_id}" in first

    script = SECOND_PROCESS.format(admin=SANDBOX_AI_ADMIN_ID)
    args = [sandbox.url, str(redis_settings.redis_url), str(tmp_path), contact_id]
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"tag": tag_id, "facts": facts}
    assert sandbox.calls() == first  # the second process asked Intercom nothing


def test_without_redis_each_process_keeps_its_own_cache_and_the_database_none(
    intercom_sandbox: SandboxServer, tmp_path: Path
) -> None:
    settings = Settings(instance_path=tmp_path)
    upgrade(make_engine(settings.resolved_database_url()))
    share_state(settings)
    try:
        sandbox = Sandbox(intercom_sandbox)
        contact_id = sandbox.customer("grace@example.com")
        sandbox.enrich(contact_id)
        other = IntercomClient(
            make_workspace(base_url=sandbox.url, ai_admin_id=SANDBOX_AI_ADMIN_ID)
        )
        assert sandbox.client.find_or_create_tag("VIP") == other.find_or_create_tag("vip")
        assert sandbox.calls().count("POST /tags") == 1  # one process: one cache for its clients
    finally:
        forget()
    for database in tmp_path.glob("*.db"):
        with sqlite3.connect(database) as conn:
            dump = "\n".join(conn.iterdump())
        assert "grace@example.com" not in dump and '"plan"' not in dump and "VIP" not in dump


def test_redis_expires_cached_contact_facts_with_their_ttl(
    intercom_sandbox: SandboxServer, redis_settings: Settings
) -> None:
    sandbox = Sandbox(intercom_sandbox)
    contact_id = sandbox.customer("lin@example.com")
    sandbox.enrich(contact_id, ttl_seconds=60)
    client = redis.Redis.from_url(str(redis_settings.redis_url))
    keys = [key.decode() for key in client.keys("deskmate:cache:enrich:*")]
    assert keys and all(0 < client.pttl(key) <= 60_000 for key in keys)
