"""Article and past-conversation sync against the sandbox: what is stored, what it costs."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from deskmate.core.sandbox.records import ArticleContent
from deskmate.core.store.knowledge import get_sync_state, record_sync_run
from deskmate.core.store.leases import acquire_lease
from deskmate.plugins.knowledge_sync import articles, conversations
from deskmate.plugins.knowledge_sync.runner import SyncBusy, SyncError, run_sync
from deskmate.testing import TEST_APP_ID

Start = Callable[..., Any]


def sync(env: Any, source: str, **kwargs) -> object:
    return run_sync(env.settings, TEST_APP_ID, source, sessions=env.sessions, **kwargs)


def listed_locales(env: Any) -> int:
    return sum(len(a.contents) for a in env.state.articles.values())


def test_full_article_sync_stores_each_locale_public_with_its_url(synced: Start) -> None:
    env = synced(articles=12)
    report = sync(env, "articles")
    docs = env.documents("article")
    assert report.added == len(docs) == listed_locales(env)
    assert {key[2] for key in docs} >= {"en", "de", "fr", "es"}
    assert all(doc[1].startswith("https://help.example.com/") for doc in docs.values())
    state = {a.id: a.state for a in env.state.articles.values()}
    assert {key[1]: doc[2] == "public" for key, doc in docs.items()} == {
        article_id: published == "published" for article_id, published in state.items()
    }
    assert report.api_calls == 1


def test_a_resync_without_changes_costs_only_listing_calls(synced: Start) -> None:
    env = synced(articles=12, conversations=20)
    sync(env, "articles"), sync(env, "conversations")
    env.control("DELETE", "/requests")
    again = [sync(env, "articles"), sync(env, "conversations")]
    calls = [(r["method"], r["path"]) for r in env.requests()]
    assert calls == [("GET", "/articles"), ("POST", "/conversations/search")]
    assert [r.added + r.updated + r.removed for r in again] == [0, 0]


def test_an_incremental_sync_stores_only_what_changed(synced: Start) -> None:
    env = synced(articles=12)
    sync(env, "articles")
    with env.state.lock:
        changed = next(iter(env.state.articles.values()))
        changed.contents["en"] = ArticleContent("Changed title", "<p>New body text.</p>")
        changed.updated_at = int(time.time())
    env.control("POST", "/articles", title="Brand new", body="<p>Fresh article.</p>",
                state="published")  # fmt: skip
    report = sync(env, "articles")
    assert (report.added, report.updated) == (1, 1)
    assert report.unchanged <= listed_locales(env)
    assert env.documents("article")[("article", changed.id, "en")][0] == "Changed title"


def test_unpublished_articles_leave_public_knowledge_and_full_removes_deleted(
    synced: Start,
) -> None:
    env = synced(articles=6)
    sync(env, "articles")
    with env.state.lock:
        gone, drafted = list(env.state.articles)[:2]
        del env.state.articles[gone]
        env.state.articles[drafted].state = "draft"
        env.state.articles[drafted].updated_at = int(time.time())
    sync(env, "articles")
    docs = env.documents("article")
    assert {docs[k][2] for k in docs if k[1] == drafted} == {"internal"}
    assert any(k[1] == gone for k in docs), "an incremental run does not list old articles"
    report = sync(env, "articles", full=True)
    assert report.removed > 0
    assert not any(k[1] == gone for k in env.documents("article"))


def test_without_drafts_an_unpublished_article_leaves_the_store(synced: Start) -> None:
    env = synced(articles=3, drafts=False)
    sync(env, "articles")
    with env.state.lock:
        drafted = next(iter(env.state.articles.values()))
        drafted.state, drafted.updated_at = "draft", int(time.time())
    report = sync(env, "articles")
    assert report.removed == len(drafted.contents)
    assert not any(k[1] == drafted.id for k in env.documents("article"))


def test_bad_articles_are_skipped_with_reasons_and_the_rest_stored(synced: Start) -> None:
    env = synced(help_center=False)
    state = env.state
    state.add_article("Broken", "<h2>Set up<p>unclosed <b>tags <div><h3>Next</h2>", "published",
                      "en", {"xx-klingon-dialect-1": ("Bad", "<p>body</p>")})  # fmt: skip
    state.add_article("Empty", "<p> </p>", "published", "en", {})
    state.add_article("Huge", "<p>" + "word " * 300_000 + "</p>", "published", "en", {})
    state.add_article("Unknown locale", "<p>Klingon text</p>", "published", "tlh", {})
    report = sync(env, "articles")
    docs = env.documents("article")
    assert report.skipped == {"no body": 1, "unreadable locale": 1}
    assert {k[2] for k in docs} == {"en", "tlh"}
    huge = next(v for k, v in docs.items() if v[0] == "Huge")
    assert len(huge[4]) > 500, "a huge article is cut into many passages"


def test_learned_answers_are_merged_internal_and_skips_are_counted(synced: Start) -> None:
    env = synced(conversations=60)
    report = sync(env, "conversations")
    docs = env.documents("conversation")
    assert report.added == len(docs) < 60
    assert report.skipped.get("near-duplicate, merged", 0) == 60 - len(docs)
    assert {doc[2] for doc in docs.values()} == {"internal"}
    assert all("@" not in doc[3] for doc in docs.values())
    public = synced(conversations=5, folder="public", learned_answers_in_autopilot=True)
    sync(public, "conversations")
    assert {doc[2] for doc in public.documents("conversation").values()} == {"public"}


def test_a_conversation_deleted_between_search_and_fetch_is_skipped(synced: Start) -> None:
    env = synced(conversations=10)
    victim = sorted(env.state.conversations)[3]
    env.fault(404, paths=(f"/conversations/{victim}",))
    report = sync(env, "conversations")
    assert report.skipped["deleted before it was fetched"] == 1
    assert report.added > 0


def test_429_and_5xx_in_the_middle_of_pages_change_nothing(
    synced: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversations, "PER_PAGE", 7)
    clean = synced(conversations=30, folder="clean")
    sync(clean, "conversations")
    env = synced(conversations=30)
    env.fault(429, rate=0.2, paths=("/conversations/*",))
    env.fault(503, rate=0.2)
    sync(env, "conversations", client=env.client())
    assert {429, 503} <= {r["status"] for r in env.requests()}
    assert env.documents() == clean.documents()


def test_a_token_revoked_mid_sync_stops_clearly_and_keeps_the_position(
    synced: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversations, "PER_PAGE", 10)
    clean = synced(conversations=35, folder="clean")
    sync(clean, "conversations")
    env = synced(conversations=35)

    def revoke(report) -> None:
        if report.items == 15:
            env.fault(401)

    with pytest.raises(SyncError, match=r"access token was refused.*deskmate verify") as stopped:
        sync(env, "conversations", progress=revoke)
    assert "test-token" not in str(stopped.value)
    with env.sessions() as db:
        state = get_sync_state(db, TEST_APP_ID, "conversation")
        assert state.last_success_at is None
        assert '"cursor":' in state.cursor and "error" in state.stats
    env.control("DELETE", "/faults")
    report = sync(env, "conversations")
    assert report.resumed
    assert env.documents() == clean.documents()


@pytest.mark.parametrize("source", ["articles", "conversations"])
def test_a_sync_killed_halfway_and_run_again_ends_like_an_uninterrupted_one(
    synced: Start, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    monkeypatch.setattr(conversations, "PER_PAGE", 9)
    monkeypatch.setattr(articles, "PER_PAGE", 4)
    clean = synced(articles=10, conversations=40, folder="clean")
    sync(clean, source)
    env = synced(articles=10, conversations=40)

    def kill(report) -> None:
        if report.items == (9 if source == "articles" else 22):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(env, source, progress=kill)
    assert 0 < len(env.documents()) < len(clean.documents())
    report = sync(env, source)
    assert report.resumed
    assert env.documents() == clean.documents()


def test_two_runs_of_one_source_never_overlap(synced: Start) -> None:
    env = synced(articles=2)
    with env.sessions.begin() as db:
        acquire_lease(db, TEST_APP_ID, "sync:article", "other-worker", timedelta(minutes=5))
    with pytest.raises(SyncBusy, match="already running"):
        sync(env, "articles")
    assert env.documents() == {}


def test_a_dry_run_counts_changes_and_stores_nothing(synced: Start) -> None:
    env = synced(articles=5, conversations=12)
    dry = [sync(env, s, dry_run=True) for s in ("articles", "conversations")]
    assert env.documents() == {}
    real = [sync(env, s) for s in ("articles", "conversations")]
    assert [r.added for r in dry] == [r.added for r in real]


def test_an_unreadable_saved_position_needs_a_full_sync(synced: Start) -> None:
    env = synced(articles=2)
    with env.sessions.begin() as db:
        record_sync_run(db, TEST_APP_ID, "article", cursor="{not json", succeeded=True, stats={})
    with pytest.raises(SyncError, match="--full"):
        sync(env, "articles")
    assert sync(env, "articles", full=True).added > 0


def test_a_lease_left_by_a_killed_process_of_this_host_is_taken_over(synced: Start) -> None:
    env = synced(articles=2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    holder = f"{socket.gethostname()}:{dead.pid}:deadbeef"
    with env.sessions.begin() as db:
        acquire_lease(db, TEST_APP_ID, "sync:article", holder, timedelta(minutes=5))
    assert sync(env, "articles").added > 0


def test_a_thread_longer_than_intercom_returns_is_skipped(synced: Start) -> None:
    env = synced(help_center=False)
    state = env.state
    with state.lock:
        contact = state.upsert_contact("Ada Lovelace", "ada@example.com", {})
        conv = state.start_conversation(contact, "messenger", "<p>How do I export?</p>", "",
                                        "customer_initiated")  # fmt: skip
        for number in range(520):
            state.customer_reply(conv.id, f"<p>detail {number}</p>")
        state.admin_message(conv.id, state.human_admin_id, "<p>" + "Use Export. " * 10 + "</p>",
                            "comment", via_api=False)  # fmt: skip
        state.close(conv.id, state.human_admin_id, None, via_api=False)
    report = sync(env, "conversations")
    assert report.skipped == {"over 500 parts (the start is missing)": 1}
    assert env.documents() == {}


def _adds_up(report: Any) -> bool:
    outcomes = report.added + report.updated + report.unchanged + sum(report.skipped.values())
    return report.looked_at == outcomes


def test_every_article_version_looked_at_is_counted_once(synced: Start) -> None:
    env = synced(articles=8, drafts=False)
    env.state.add_article("Empty", "<p> </p>", "published", "en", {"fr": ("Vide", "<p>x</p>")})
    env.state.add_article("Draft", "<p>Not yet</p>", "draft", "en", {})
    first = sync(env, "articles")
    assert _adds_up(first)
    assert first.looked_at == listed_locales(env)
    drafts = sum(len(a.contents) for a in env.state.articles.values() if a.state == "draft")
    assert first.skipped == {"no body": 1, "draft (drafts = false)": drafts}
    again = sync(env, "articles", full=True)
    assert _adds_up(again) and again.looked_at == listed_locales(env)
    assert again.unchanged == first.added


def test_every_conversation_looked_at_is_counted_once_even_when_learned_before(
    synced: Start,
) -> None:
    env = synced(conversations=30)
    first = sync(env, "conversations")
    assert _adds_up(first) and first.looked_at == first.items == 30
    again = sync(env, "conversations", since=0)
    assert _adds_up(again) and again.looked_at == again.items == 30
    assert again.added == 0
