"""Seeds: a fixed workspace and deterministic generated articles and conversations."""

from __future__ import annotations

import time

import pytest

from deskmate.core.sandbox import SeedOptions
from deskmate.core.sandbox.shapes import View
from deskmate.core.sandbox.state import SandboxState


def _dump(state: SandboxState) -> tuple[list, list]:
    view = View()
    conversations = [state.render(c, view) for c in state.conversations.values()]
    articles = [(a.id, a.updated_at, a.contents) for a in state.articles.values()]
    return conversations, articles


def test_same_seed_same_data_other_seed_other_data():
    options = SeedOptions(articles=30, conversations=40, random_seed=5)
    assert _dump(SandboxState("a", options)) == _dump(SandboxState("a", options))
    other = SeedOptions(articles=30, conversations=40, random_seed=6)
    assert _dump(SandboxState("a", options)) != _dump(SandboxState("a", other))


def test_generated_conversations_are_closed_and_answered_by_a_human():
    state = SandboxState("a", SeedOptions(help_center=False, conversations=200))
    conversations = list(state.conversations.values())
    assert len(conversations) == 200
    for conv in conversations:
        assert conv.state == "closed" and conv.source.delivered_as == "customer_initiated"
        answer, close = conv.parts
        assert answer.part_type == "comment" and answer.author.type == "admin"
        assert answer.author.id != state.me_id and close.part_type == "close"
    emails = sum(c.source.type == "email" for c in conversations)
    assert 20 <= emails <= 60


def test_generated_articles_have_translations_and_the_help_center_is_optional():
    state = SandboxState("a", SeedOptions(help_center=False, articles=100))
    assert len(state.articles) == 100
    assert all(a.state == "published" and "en" in a.contents for a in state.articles.values())
    assert sum(len(a.contents) > 1 for a in state.articles.values()) > 30
    assert len({a.default.title for a in state.articles.values()}) == 100
    seeded = SandboxState("a")
    titles = [a.default.title for a in seeded.articles.values()]
    assert "Refund policy" in titles and len(seeded.conversations) == 0


def test_benchmark_sized_seed_is_fast():
    started = time.perf_counter()
    state = SandboxState("a", SeedOptions(articles=2_000, conversations=10_000))
    elapsed = time.perf_counter() - started
    assert len(state.articles) == 2_006 and len(state.conversations) == 10_000
    assert elapsed < 5, f"seeding took {elapsed:.2f} s"


@pytest.mark.parametrize("options", [{"articles": -1}, {"conversations": 10**9}])
def test_seed_options_refuse_out_of_range_counts(options):
    with pytest.raises(ValueError, match="between 0 and"):
        SeedOptions(**options)
