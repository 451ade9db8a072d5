"""Past conversations → learned answers: what a human rep answered a customer, cleaned.

Closed conversations updated since the run's start are searched 150 a page and each is fetched
in full. A pair is learned when a human rep (not a bot, not the AI teammate, not a note, not a
part posted through the API) answered the customer, the conversation was never reopened, its
rating (when there is one) is good, and the answer is neither too short nor too long. Personal
data is redacted before anything is stored. Pairs with the same answer are merged into one
document that keeps up to five ways the question was asked. Learned answers are internal (assist
drafts and escalation context) unless ``learned_answers_in_autopilot`` is on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from deskmate.core.brain.language import classify
from deskmate.core.html import html_to_text
from deskmate.core.intercom.client import next_page_cursor, page_items
from deskmate.core.intercom.errors import BadRequest, NotFound
from deskmate.core.store.knowledge import DocumentInput, PassageText
from deskmate.plugins.knowledge_sync.context import MAX_PAGES, SyncContext
from deskmate.plugins.knowledge_sync.options import SyncOptions
from deskmate.plugins.knowledge_sync.redact import redact
from deskmate.plugins.knowledge_sync.writer import Batch

SOURCE = "conversation"
PER_PAGE = 150
FETCH_THREADS = 4
MAX_VARIANTS = 5
MAX_QUESTION_CHARS = 600
MIN_QUESTION_CHARS = 8
LANGUAGE_CONFIDENCE = 0.5
CUSTOMERS = frozenset({"user", "lead", "contact"})
INBOX_HOSTS = {"us": "app.intercom.com", "eu": "app.eu.intercom.com", "au": "app.au.intercom.com"}
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hallo|bonjour|hola|ciao|olá)"
    r"\b[^\n.!?,]{0,40}(?:[,!.]|\n)\s*",
    re.IGNORECASE,
)
_SEPARATOR = "\n\nA: "


class Skip(Exception):
    """A conversation that teaches nothing; the message is the reason counted in the report."""


@dataclass(frozen=True)
class LearnedPair:
    """A customer's question and a human rep's answer, redacted."""

    conversation_id: str
    question: str
    answer: str
    updated_at: int | None


def conversation_query(since: int | None) -> dict[str, Any]:
    """Closed conversations, updated at or after ``since`` (Intercom's ``>`` is inclusive)."""
    filters: list[dict[str, Any]] = [{"field": "state", "operator": "=", "value": "closed"}]
    if since is not None:
        filters.append({"field": "updated_at", "operator": ">", "value": since})
    return {"operator": "AND", "value": filters}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(body: Any) -> str:
    return html_to_text(body) if isinstance(body, str) and body else ""


def _one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def _is_human_answer(part: Mapping[str, Any], ai_admin_id: str) -> bool:
    author = _mapping(part.get("author"))
    return (
        part.get("part_type") == "comment"
        and author.get("type") == "admin"
        and str(author.get("id")) != ai_admin_id
        and not part.get("app_package_code")
        and not author.get("from_ai_agent")
        and not author.get("is_ai_answer")
    )


def _check_conversation(item: Mapping[str, Any], options: SyncOptions) -> list[Any]:
    """The conversation's parts once it passes the filters that need no reading; else Skip."""
    if item.get("state") != "closed":
        raise Skip("not closed")
    stats = _mapping(item.get("statistics"))
    if (_int(stats.get("count_reopens")) or 0) > 0:
        raise Skip("reopened")
    rating = _int(_mapping(item.get("conversation_rating")).get("rating"))
    if rating is not None and rating < options.min_rating:
        raise Skip("low rating")
    container = _mapping(item.get("conversation_parts"))
    parts = container.get("conversation_parts")
    if not isinstance(parts, list):
        raise Skip("unreadable conversation")
    counted = _int(stats.get("count_conversation_parts"))
    if counted is not None and counted - 1 > len(parts):
        raise Skip("over 500 parts (the start is missing)")
    source = _mapping(item.get("source"))
    if _mapping(source.get("author")).get("type") not in CUSTOMERS:
        raise Skip("not started by a customer")
    return parts


def extract_pair(item: Mapping[str, Any], ai_admin_id: str, options: SyncOptions) -> LearnedPair:
    """The first question a human rep answered in a conversation fetched in full; else Skip."""
    parts = _check_conversation(item, options)
    source = _mapping(item.get("source"))
    question, answer = [_text(source.get("body"))], []
    for part in parts:
        if not isinstance(part, Mapping):
            raise Skip("unreadable conversation")
        author_type = _mapping(part.get("author")).get("type")
        if part.get("part_type") == "comment" and author_type in CUSTOMERS:
            if answer:
                break
            question.append(_text(part.get("body")))
        elif _is_human_answer(part, ai_admin_id):
            answer.append(_text(part.get("body")))
    if not answer:
        raise Skip("no human answer")
    names = [str(_mapping(source.get("author")).get("name") or "")]
    asked = _one_line(redact("\n".join(q for q in question if q), names), MAX_QUESTION_CHARS)
    said = _GREETING.sub("", redact("\n\n".join(a for a in answer if a), names), count=1).strip()
    if len(asked) < MIN_QUESTION_CHARS:
        raise Skip("no question")
    if len(said) < options.min_answer_chars:
        raise Skip("answer too short")
    if len(said) > options.max_answer_chars:
        raise Skip("answer too long")
    return LearnedPair(str(item.get("id")), asked, said, _int(item.get("updated_at")))


def answer_signature(answer: str) -> str:
    """Equal for answers that differ only in case, punctuation, spacing or redacted details."""
    words = re.findall(r"\w+|\[\w+\]", answer.casefold())
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:24]


def answer_locale(answer: str) -> str:
    """The answer's language code when py3langid is confident, else ``""``."""
    code, confidence = classify(answer)
    return code if confidence >= LANGUAGE_CONFIDENCE else ""


def parse_learned(body: str) -> tuple[list[str], str]:
    """The question variants and the answer of a stored learned document."""
    head, _, answer = body.partition(_SEPARATOR)
    variants = [line[3:] for line in head.split("\n") if line.startswith("Q: ")]
    return variants, answer


def learned_document(
    variants: Sequence[str],
    answer: str,
    *,
    locale: str,
    url: str | None,
    updated_at: int | None,
    public: bool,
) -> DocumentInput:
    """The document of a merged pair: the first question as title, the others as heading."""
    body = "\n".join(f"Q: {v}" for v in variants) + _SEPARATOR + answer
    others = "; ".join(variants[1:])[:500] or None
    return DocumentInput(
        source=SOURCE,
        external_id=f"qa-{answer_signature(answer)}",
        title=variants[0][:200],
        body=body,
        passages=[PassageText(answer, others)],
        locale=locale,
        url=url,
        visibility="public" if public else "internal",
        updated_at=datetime.fromtimestamp(updated_at, UTC) if updated_at else None,
    )


class Learner:
    """Merges pairs into the store: same answer, same document, more ways to ask."""

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx
        host = INBOX_HOSTS.get(ctx.workspace.region, INBOX_HOSTS["us"])
        self.inbox = f"https://{host}/a/inbox/{ctx.workspace.app_id}/inbox/conversation/"

    def learn(self, batch: Batch, pair: LearnedPair) -> str:
        """Store ``pair`` (merged with its twin if there is one); returns the document key."""
        locale = answer_locale(pair.answer)
        external_id = f"qa-{answer_signature(pair.answer)}"
        stored = batch.document(SOURCE, external_id, locale)
        variants, answer, url, updated = [pair.question], pair.answer, None, pair.updated_at
        if stored is not None:
            body, url, old_updated = stored
            variants, answer = parse_learned(body)
            known = {answer_signature(v) for v in variants}
            if answer_signature(pair.question) not in known and len(variants) < MAX_VARIANTS:
                variants.append(pair.question)
            updated = max(filter(None, (old_updated, pair.updated_at)), default=None)
        url = url or self.inbox + pair.conversation_id
        doc = learned_document(
            variants, answer, locale=locale, url=url, updated_at=updated,
            public=self.ctx.options.learned_answers_in_autopilot,
        )  # fmt: skip
        result = batch.upsert(doc)
        if stored is not None and result == "unchanged":
            self.ctx.report.skip("near-duplicate, merged")
        else:
            self.ctx.report.count(result)
        return f"{external_id}\t{locale}"


def _fetch(ctx: SyncContext, conversation_id: str) -> Mapping[str, Any] | Skip:
    try:
        return ctx.client.get_conversation_item(conversation_id)
    except NotFound:
        return Skip("deleted before it was fetched")


def _search_page(ctx: SyncContext) -> dict[str, Any]:
    """The run's next search page; a cursor Intercom no longer accepts restarts the listing."""
    run = ctx.run
    query = conversation_query(run.since)
    try:
        return ctx.client.search_conversations_page(
            query, per_page=PER_PAGE, starting_after=run.cursor
        )
    except BadRequest:
        if run.cursor is None:
            raise
        run.cursor = None
        return ctx.client.search_conversations_page(query, per_page=PER_PAGE)


def sync_conversation_pages(ctx: SyncContext, done: Mapping[str, int]) -> None:
    """Search page by page from the run's cursor, fetch each conversation (a few at a time, at
    most the rate limit's share), learn its pair and checkpoint the page with its documents.
    ``done`` holds the conversations (id → updated_at) the last run already learned."""
    run = ctx.run
    learner = Learner(ctx)
    ai_admin_id = str(ctx.workspace.ai_admin_id)
    with ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="deskmate-sync") as pool:
        for _ in range(MAX_PAGES):
            data = _search_page(ctx)
            listed = page_items(data, "conversations", "POST /conversations/search")
            total = _int(data.get("total_count"))
            if total is not None and ctx.report.total is None:
                ctx.report.total = total
            fresh = [c for c in listed if done.get(str(c.get("id"))) != _int(c.get("updated_at"))]
            ctx.report.unchanged += len(listed) - len(fresh)  # learned before, not changed since
            ctx.advance(len(listed) - len(fresh))
            fetched = list(pool.map(lambda c: _fetch(ctx, str(c.get("id"))), fresh))
            with ctx.writer.batch() as batch:
                for summary, item in zip(fresh, fetched, strict=True):
                    _learn_one(ctx, learner, batch, summary, item, ai_admin_id)
                run.cursor = next_page_cursor(data, "POST /conversations/search")
                ctx.save(batch)
            if run.cursor is None:
                return


def _learn_one(
    ctx: SyncContext,
    learner: Learner,
    batch: Batch,
    summary: Mapping[str, Any],
    item: Mapping[str, Any] | Skip,
    ai_admin_id: str,
) -> None:
    updated = _int(summary.get("updated_at"))
    ctx.run.saw(updated)
    if updated is not None:
        ctx.run.recent[str(summary.get("id"))] = updated
    try:
        if isinstance(item, Skip):
            raise item
        pair = extract_pair(item, ai_admin_id, ctx.options)
    except Skip as skip:
        ctx.report.skip(str(skip))
    else:
        ctx.run.seen.append(learner.learn(batch, pair))
    ctx.advance()
