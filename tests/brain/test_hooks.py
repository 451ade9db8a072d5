"""The default brain through the plugin manager: every hook answers, and any plugin can go first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from deskmate.core.brain import runtime
from deskmate.core.brain.hooks import search_knowledge
from deskmate.core.brain.search import KnowledgeIndex, Passage
from deskmate.core.brain.settings import BrainSettings, load_brain_settings
from deskmate.core.config import Settings
from deskmate.core.domain import LanguageGuess, Sentiment
from deskmate.hookspecs import hookimpl
from deskmate.testing import TEST_APP_ID, make_host, make_turn, make_workspace


def flat(results: list) -> list:
    return [item for result in results for item in result]


def test_search_knowledge_returns_public_hits_in_autopilot(brain: runtime.BrainRuntime) -> None:
    turn = make_turn("Refund approval limits?")
    hits = flat(
        make_host().hook.search_knowledge(query=turn.latest.text, language="en", turn=turn, limit=5)
    )
    assert hits and all(h.visibility == "public" for h in hits)


def test_assist_drafts_may_use_internal_passages(brain: runtime.BrainRuntime) -> None:
    turn = make_turn("Refund approval limits?", mode="assist")
    hits = flat(
        make_host().hook.search_knowledge(query=turn.latest.text, language="en", turn=turn, limit=5)
    )
    assert hits[0].visibility == "internal"


def test_a_one_off_question_searches_the_default_workspace(brain: runtime.BrainRuntime) -> None:
    assert search_knowledge("password", None, None, 3) is None
    brain.default_workspace = TEST_APP_ID
    assert search_knowledge("password", None, None, 3)


def test_the_reply_and_its_reasons_come_from_the_brain(brain: runtime.BrainRuntime) -> None:
    host = make_host()
    turn = make_turn("How do I reset my password?", language=LanguageGuess("en", 0.96))
    hits = flat(
        host.hook.search_knowledge(query=turn.latest.text, language="en", turn=turn, limit=5)
    )
    draft = host.hook.generate_reply(turn=turn, hits=hits)
    assert draft.confidence >= 0.45 and "Reset password" in draft.text
    assert host.hook.escalation_reasons(turn=turn, draft=draft) == []
    worried = make_turn("This is ridiculous, I want to talk to a human")
    codes = [r.code for r in flat(host.hook.escalation_reasons(turn=worried, draft=None))]
    assert codes == ["human_requested", "frustration", "no_knowledge"]


def test_language_sentiment_and_summary_hooks_answer(brain: runtime.BrainRuntime) -> None:
    hook = make_host().hook
    guess = hook.detect_language(text="Wann wird meine Bestellung geliefert?", turn=None)
    assert guess.code == "de"
    assert (
        hook.analyze_sentiment(text="Nadie responde", language="es", turn=None).label == "negative"
    )
    assert hook.summarize(turn=make_turn("Where is my order #123?")).startswith("Customer needs:")


def test_a_plugin_decides_before_the_default_brain(brain: runtime.BrainRuntime) -> None:
    class Override:
        @hookimpl
        def detect_language(self, text: str) -> LanguageGuess:
            return LanguageGuess("xx", 1.0, "plugin")

        @hookimpl
        def analyze_sentiment(self, text: str) -> Sentiment:
            return Sentiment("positive", 1.0)

    hook = make_host(("override", Override())).hook
    assert hook.detect_language(text="Hello there, how are you?", turn=None).code == "xx"
    assert hook.analyze_sentiment(text="worst ever", language="en", turn=None).label == "positive"


def test_without_knowledge_there_are_no_hits_and_no_draft() -> None:
    previous = runtime.install(runtime.BrainRuntime())
    try:
        host = make_host()
        turn = make_turn("How do I reset my password?")
        assert (
            flat(host.hook.search_knowledge(query="password", language=None, turn=turn, limit=5))
            == []
        )
        assert host.hook.generate_reply(turn=turn, hits=[]) is None
    finally:
        runtime.install(previous)


def test_startup_reads_the_brain_options_and_an_unmigrated_store_is_survived(
    tmp_path: Path,
) -> None:
    settings = Settings(
        workspaces={TEST_APP_ID: make_workspace()},
        instance_path=tmp_path,
        brain=load_brain_settings({"confidence_threshold": 0.7, "triggers": {"loop": False}}),
    )
    previous = runtime.current()
    try:
        make_host().hook.startup(settings=settings, app=None)
        configured = runtime.current()
        assert configured.settings.confidence_threshold == 0.7
        assert not configured.settings.enabled("loop")
        assert configured.default_workspace == TEST_APP_ID
        assert search_knowledge("password", None, make_turn("password"), 5) is None
    finally:
        runtime.install(previous)


def test_the_brain_knowledge_fixture_feeds_the_default_brain(
    brain_knowledge: Callable[..., KnowledgeIndex],
) -> None:
    brain_knowledge(
        [Passage("1", "vpn", "VPN set-up", "Install the VPN profile from the admin console.")],
        BrainSettings(max_reply_sentences=1),
    )
    host = make_host()
    turn = make_turn("How do I install the VPN profile?")
    hits = flat(
        host.hook.search_knowledge(query=turn.latest.text, language="en", turn=turn, limit=5)
    )
    assert [h.doc_id for h in hits] == ["vpn"]
    assert host.hook.generate_reply(turn=turn, hits=hits).text.startswith("Install the VPN")
