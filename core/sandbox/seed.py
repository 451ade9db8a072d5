"""Seed data: the fixed workspace (admins, teams, Help Center) from ``data/*.json``, plus
deterministic generated articles and closed, human-answered conversations for sync benchmarks.

Generation is a pure function of ``SeedOptions``: timestamps count from a fixed epoch, never "now",
so two sandboxes seeded alike hold identical data.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from deskmate.core.sandbox.records import (
    Admin,
    Article,
    ArticleContent,
    Author,
    Contact,
    Conversation,
    Part,
    Source,
    Team,
)
from deskmate.core.sandbox.text import plain_to_html

MAX_SEED_ARTICLES = 100_000
MAX_SEED_CONVERSATIONS = 200_000
CONTACT_POOL = 500


@dataclass(frozen=True)
class SeedOptions:
    """What to put in a new sandbox beyond its fixed admins and teams."""

    help_center: bool = True
    articles: int = 0
    conversations: int = 0
    random_seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.articles <= MAX_SEED_ARTICLES:
            raise ValueError(f"seed articles must be between 0 and {MAX_SEED_ARTICLES}")
        if not 0 <= self.conversations <= MAX_SEED_CONVERSATIONS:
            raise ValueError(f"seed conversations must be between 0 and {MAX_SEED_CONVERSATIONS}")


@dataclass(frozen=True)
class Workspace:
    """The fixed part of every sandbox."""

    app: dict[str, Any]
    admins: list[Admin]
    teams: list[Team]
    me_id: str
    human_admin_id: str


class Ids:
    """Intercom-looking ids, allocated in order so runs are reproducible."""

    def __init__(self) -> None:
        self._counters: dict[str, Iterator[int]] = {}

    def _next(self, kind: str) -> int:
        return next(self._counters.setdefault(kind, itertools.count(1)))

    def conversation(self) -> str:
        return str(215_000_000_000_000 + self._next("conversation"))

    def part(self) -> str:
        return str(37_000_000_000 + self._next("part"))

    def source(self) -> str:
        return str(3_300_000_000 + self._next("source"))

    def contact(self) -> str:
        return f"6960{self._next('contact'):020x}"

    def company(self) -> str:
        return f"c0{self._next('company'):022x}"

    def tag(self) -> str:
        return str(9_000_000 + self._next("tag"))

    def article(self) -> str:
        return str(8_000_000 + self._next("article"))


@cache
def _data(name: str) -> dict[str, Any]:
    text = resources.files("deskmate.core.sandbox").joinpath("data", name).read_text("utf-8")
    return json.loads(text)


def load_workspace() -> Workspace:
    """Admins (the AI teammate "Deskmate AI" first, the token's owner) and teams."""
    data = _data("workspace.json")
    return Workspace(
        app=dict(data["app"]),
        admins=[Admin(**a) for a in data["admins"]],
        teams=[Team(**t) for t in data["teams"]],
        me_id=data["me"],
        human_admin_id=data["human_admin"],
    )


def help_center(ids: Ids) -> list[Article]:
    """The hand-written Help Center articles, with their translations."""
    data = _data("help_center.json")
    articles = []
    for offset, item in enumerate(data["articles"]):
        contents = {"en": ArticleContent(item["title"], item["body"], item["description"])}
        for locale, text in item["translations"].items():
            contents[locale] = ArticleContent(text["title"], text["body"])
        stamp = data["created_at"] + offset * 3600
        articles.append(
            Article(
                id=ids.article(),
                state=item.get("state", "published"),
                author_id=data["author_id"],
                created_at=stamp,
                updated_at=stamp,
                default_locale="en",
                contents=contents,
            )
        )
    return articles


def _fill(template: str, product: str, n: int) -> str:
    return template.format(product=product, n=n)


def generate_articles(count: int, rng: random.Random, ids: Ids, author_id: int) -> list[Article]:
    """``count`` published articles cycling through the corpus topics, some translated."""
    corpus = _data("corpus.json")
    topics, products = corpus["topics"], corpus["products"]
    combos = len(topics) * len(products)
    articles = []
    for i in range(count):
        topic = topics[i % len(topics)]
        product = products[(i // len(topics)) % len(products)]
        edition = i // combos
        n = rng.choice((14, 30, 45, 60))
        suffix = f" (guide {edition + 1})" if edition else ""
        contents = {
            "en": ArticleContent(
                _fill(topic["title"], product, n) + suffix,
                _fill(topic["body"], product, n),
                f"{product}: {topic['name']}",
            )
        }
        for locale, (title, body) in topic["translations"].items():
            if rng.random() < 0.6:
                contents[locale] = ArticleContent(
                    _fill(title, product, n) + suffix, _fill(body, product, n)
                )
        stamp = corpus["epoch"] + i * 300
        articles.append(
            Article(ids.article(), "published", author_id, stamp, stamp + 60, "en", contents)
        )
    return articles


def _contacts(count: int, rng: random.Random, ids: Ids, epoch: int) -> list[Contact]:
    corpus = _data("corpus.json")
    contacts = []
    for i in range(count):
        first, last = rng.choice(corpus["first_names"]), rng.choice(corpus["last_names"])
        email = f"{first.lower()}.{last.lower()}.{i}@example.com"
        contacts.append(Contact(ids.contact(), f"{first} {last}", email, epoch, "user"))
    return contacts


def generate_conversations(
    count: int,
    rng: random.Random,
    ids: Ids,
    admins: list[Admin],
) -> tuple[list[Contact], list[Conversation]]:
    """``count`` closed conversations: a customer question, a human admin's answer, a close."""
    corpus = _data("corpus.json")
    epoch, topics, products = corpus["epoch"], corpus["topics"], corpus["products"]
    contacts = _contacts(min(count, CONTACT_POOL), rng, ids, epoch)
    conversations = []
    for i in range(count):
        topic, product = rng.choice(topics), rng.choice(products)
        n = rng.choice((14, 30, 45, 60))
        contact = contacts[i % len(contacts)]
        human = rng.choice(admins)
        created = epoch + i * 600 + rng.randrange(300)
        make_conversation = _email_conversation if rng.random() < 0.2 else _chat_conversation
        conv = make_conversation(ids, contact, created, _fill(topic["question"], product, n))
        _answer_and_close(conv, ids, human, _fill(topic["answer"], product, n), rng)
        conversations.append(conv)
    return contacts, conversations


def _chat_conversation(ids: Ids, contact: Contact, created: int, question: str) -> Conversation:
    src = Source(
        ids.source(), "conversation", "customer_initiated", "", plain_to_html(question),
        Author.of_contact(contact), "https://app.example.com/",
    )  # fmt: skip
    return Conversation(ids.conversation(), created, created, src, [contact.id])


def _email_conversation(ids: Ids, contact: Contact, created: int, question: str) -> Conversation:
    src = Source(
        ids.source(), "email", "customer_initiated", question[:60], plain_to_html(question),
        Author.of_contact(contact),
    )  # fmt: skip
    return Conversation(ids.conversation(), created, created, src, [contact.id])


def _answer_and_close(
    conv: Conversation, ids: Ids, human: Admin, answer: str, rng: random.Random
) -> None:
    author = Author.of_admin(human)
    answered = conv.created_at + 60 + rng.randrange(7200)
    closed = answered + 60
    conv.parts.append(Part(ids.part(), "comment", answer, author, answered, "open"))
    conv.parts.append(Part(ids.part(), "close", None, author, closed, "closed"))
    conv.admin_assignee_id = human.id
    conv.state, conv.read, conv.updated_at = "closed", True, closed
    conv.last_contact_reply_at = conv.created_at
    conv.last_admin_reply_at, conv.last_close_at, conv.last_closed_by_id = (
        answered,
        closed,
        human.id,
    )
