"""The brain answers from synced knowledge: articles with citations, learned answers in assist."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from deskmate.core.brain import runtime as brain_runtime
from deskmate.core.plugins import make_plugin_manager
from deskmate.plugins.knowledge_sync.runner import run_sync
from deskmate.testing import TEST_APP_ID, make_turn


@pytest.fixture
def brain() -> Iterator[Callable[[Any], Any]]:
    """Point the default brain at a synced store; the previous brain comes back after."""
    previous = brain_runtime.current()

    def configure(env: Any) -> Any:
        brain_runtime.configure(env.settings, warm=False)
        return make_plugin_manager({}, env={}, entry_points=()).hook

    yield configure
    brain_runtime.install(previous)


def answer(hook: Any, env: Any, question: str, mode: str) -> tuple[list[Any], Any]:
    turn = make_turn(question, mode=mode, workspace=env.settings.workspaces[TEST_APP_ID])
    found = hook.search_knowledge(query=question, turn=turn, limit=5, language=None)
    hits = sorted((h for group in found if group for h in group), key=lambda h: -h.score)
    return hits, hook.generate_reply(turn=turn, hits=hits)


def test_a_synced_article_answers_with_its_citation(synced: Callable[..., Any], brain) -> None:
    env = synced()
    run_sync(env.settings, TEST_APP_ID, "articles", sessions=env.sessions)
    _, draft = answer(brain(env), env, "How do I reset my password?", "autopilot")
    assert draft is not None and "password" in draft.text.lower()
    cited = draft.citations[0]
    assert cited.source == "article" and cited.url.startswith("https://help.example.com/")


def test_a_learned_answer_helps_assist_drafts_only(synced: Callable[..., Any], brain) -> None:
    env = synced(help_center=False, conversations=30)
    run_sync(env.settings, TEST_APP_ID, "conversations", sessions=env.sessions)
    question = next(iter(env.documents("conversation").values()))[0]
    hook = brain(env)
    _, autopilot = answer(hook, env, question, "autopilot")
    hits, assist = answer(hook, env, question, "assist")
    assert autopilot is None
    assert assist is not None and hits[0].source == "conversation"
    assert hits[0].visibility == "internal"
    assert assist.citations[0].url.startswith("https://app.intercom.com/a/inbox/")
