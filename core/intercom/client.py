"""The Intercom REST client: the calls deskmate needs, on a pooled ``requests`` session.

Every request carries ``Authorization: Bearer …``, ``Accept: application/json`` and the
workspace's pinned ``Intercom-Version``, passes the workspace's shared :class:`RateLimiter`, and
is reported to an optional ``on_call(endpoint_template, status, seconds)`` callback for metrics.

Failures (docs/intercom-client.md has the full policy):

* 429 waits for ``Retry-After`` or ``X-RateLimit-Reset`` (bounded), then retries;
* 5xx, timeouts and dropped connections back off exponentially with jitter, a bounded number of
  times, on calls that are safe to repeat. On calls that change a conversation (reply, note,
  assign, close, open) they raise at once with ``ambiguous=True``: the post may have happened,
  so the engine re-reads the conversation before it tries again;
* other statuses raise the typed errors of :mod:`deskmate.core.intercom.errors`;
* a body that is not JSON, too large, or missing the keys we read raises
  :class:`InvalidResponse`.

The access token is sent and never shown: not in ``repr``, errors or logs.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

from deskmate import __version__
from deskmate.core.caches import cache
from deskmate.core.config import WorkspaceSettings
from deskmate.core.intercom import errors
from deskmate.core.intercom.errors import (
    ConnectionFailed,
    ContactMerged,
    IntercomError,
    InvalidResponse,
    RateLimited,
    ServerError,
    Timeout,
)
from deskmate.core.intercom.models import Conversation
from deskmate.core.intercom.parse import ShapeError, conversation_from_item
from deskmate.core.intercom.ratelimit import RateLimiter, limiter_for, reset_time

__all__ = [
    "MAX_PER_PAGE",
    "IntercomClient",
    "OnCall",
    "RetryPolicy",
    "article_translations",
    "base_url_for",
    "next_page_cursor",
    "page_items",
]

log = logging.getLogger(__name__)

MAX_PER_PAGE = 150
DEFAULT_TIMEOUT = (5.0, 30.0)
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_CONTACT_MERGE_HOPS = 3
MAX_ATTACHMENTS = 10
TAG_TTL = 24 * 3600.0
"""Seconds a tag's id is cached: ids don't change, but a tag deleted in Intercom is asked again."""

_TRANSPORT_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
"""Failures of the exchange itself: nothing, or only part of an answer, came back."""

OnCall = Callable[[str, int | None, float], None]
"""Metrics callback: endpoint template, HTTP status (``None`` when no answer came), seconds."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long the client retries before it raises."""

    max_retries: int = 4
    max_rate_limit_retries: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_rate_limit_wait: float = 120.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for retry ``attempt`` (1-based): in [d/2, d]."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def base_url_for(workspace: WorkspaceSettings) -> str:
    """The API host of ``workspace``: its ``base_url`` if set, else its region's."""
    url = workspace.api_base_url().rstrip("/")
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"Intercom base URL must start with https:// (got {url[:60]!r})")
    return url


def article_translations(article: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{locale: content}`` from an article's ``translated_content`` (empty when none)."""
    content = article.get("translated_content")
    if not isinstance(content, Mapping):
        return {}
    return {
        locale: dict(value)
        for locale, value in content.items()
        if locale != "type" and isinstance(value, Mapping)
    }


@dataclass
class _Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes
    links: Mapping[str, Mapping[str, str]]


class IntercomClient:
    """One workspace's Intercom REST API.

    :param workspace: the workspace's settings (token, region or base URL, pinned version).
    :param session: a ``requests.Session`` to reuse; by default a pooled one of our own.
    :param limiter: the rate limiter to pass; by default the workspace's process-wide one.
    :param timeout: ``(connect, read)`` seconds per request.
    :param sleep: how to wait between retries (tests inject a recorder).
    :param on_call: metrics callback, called once per HTTP attempt.
    """

    def __init__(
        self,
        workspace: WorkspaceSettings,
        *,
        session: requests.Session | None = None,
        limiter: RateLimiter | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        on_call: OnCall | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.workspace = workspace
        self.base_url = base_url_for(workspace)
        self.limiter = limiter if limiter is not None else limiter_for(workspace)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.max_response_bytes = max_response_bytes
        self._sleep = sleep
        self._clock = clock
        self._on_call = on_call
        self._token = _checked_token(workspace)
        self._owns_session = session is None
        self._session = session if session is not None else _pooled_session()

    def __repr__(self) -> str:
        return (
            f"IntercomClient(app_id={self.workspace.app_id!r}, base_url={self.base_url!r}, "
            f"version={self.workspace.intercom_version!r})"
        )

    def close_session(self) -> None:
        """Close the HTTP session if this client created it (``close`` closes conversations)."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> IntercomClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_session()

    # -- workspace -------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """``GET /me``: the admin owning the token, with ``app`` (``id_code``, ``region``)."""
        data = self._call("GET", "/me")
        _require(data, "id", (str, int), "GET /me")
        return data

    def list_admins(self) -> list[dict[str, Any]]:
        """``GET /admins``: every teammate (ids are strings)."""
        return _items(self._call("GET", "/admins"), "admins", "GET /admins")

    def list_teams(self) -> list[dict[str, Any]]:
        """``GET /teams``: every team."""
        return _items(self._call("GET", "/teams"), "teams", "GET /teams")

    # -- conversations ---------------------------------------------------------------------

    def get_conversation(
        self, conversation_id: str | int, *, plaintext: bool = True
    ) -> Conversation:
        """``GET /conversations/{id}`` (``display_as=plaintext`` by default), parsed.

        Holds the 500 most recent parts, as Intercom returns no more.
        """
        data = self.get_conversation_item(conversation_id, plaintext=plaintext)
        try:
            return conversation_from_item(data)
        except ShapeError as exc:
            raise InvalidResponse(
                f"Intercom sent a conversation deskmate cannot read: {exc}",
                endpoint="/conversations/{id}",
            ) from None

    def get_conversation_item(
        self, conversation_id: str | int, *, plaintext: bool = True
    ) -> dict[str, Any]:
        """``GET /conversations/{id}`` as Intercom's JSON (statistics, rating and part counts
        included), for readers that need more than :class:`Conversation` keeps."""
        params = {"display_as": "plaintext"} if plaintext else None
        return self._call(
            "GET", "/conversations/{id}", id=_id(conversation_id, "conversation_id"), params=params
        )

    def reply(
        self,
        conversation_id: str | int,
        body: str,
        *,
        admin_id: str | int,
        message_type: Literal["comment", "note"] = "comment",
        attachment_urls: list[str] | None = None,
    ) -> dict[str, Any]:
        """Post a public reply (``comment``) or an internal ``note`` as ``admin_id``.

        Not retried on 5xx or timeout: those raise with ``ambiguous=True``.
        """
        if message_type not in ("comment", "note"):
            raise ValueError(f"message_type must be 'comment' or 'note', not {message_type!r}")
        if not isinstance(body, str) or not body.strip():
            raise ValueError("a reply or note needs a non-empty body")
        payload: dict[str, Any] = {
            "message_type": message_type,
            "type": "admin",
            "admin_id": _id(admin_id, "admin_id"),
            "body": body,
        }
        if attachment_urls:
            if len(attachment_urls) > MAX_ATTACHMENTS:
                raise ValueError(f"Intercom takes at most {MAX_ATTACHMENTS} attachment URLs")
            payload["attachment_urls"] = list(attachment_urls)
        return self._call(
            "POST",
            "/conversations/{id}/reply",
            id=_id(conversation_id, "conversation_id"),
            json_body=payload,
            idempotent=False,
        )

    def assign(
        self,
        conversation_id: str | int,
        *,
        admin_id: str | int,
        assignee_id: str | int,
        type: Literal["admin", "team"] = "admin",
        body: str | None = None,
    ) -> dict[str, Any]:
        """Assign to an admin or a team (``assignee_id`` ``"0"`` unassigns), acting as
        ``admin_id``."""
        if type not in ("admin", "team"):
            raise ValueError(f"assignee type must be 'admin' or 'team', not {type!r}")
        payload: dict[str, Any] = {
            "message_type": "assignment",
            "type": type,
            "admin_id": _id(admin_id, "admin_id"),
            "assignee_id": _id(assignee_id, "assignee_id"),
        }
        if body:
            payload["body"] = body
        return self._manage(conversation_id, payload)

    def unassign(self, conversation_id: str | int, *, admin_id: str | int) -> dict[str, Any]:
        """Leave the conversation unassigned (assignee ``"0"``)."""
        return self.assign(conversation_id, admin_id=admin_id, assignee_id="0")

    def close(
        self, conversation_id: str | int, *, admin_id: str | int, body: str | None = None
    ) -> dict[str, Any]:
        """Close the conversation, optionally with a last public message ``body``."""
        payload: dict[str, Any] = {
            "message_type": "close",
            "type": "admin",
            "admin_id": _id(admin_id, "admin_id"),
        }
        if body:
            payload["body"] = body
        return self._manage(conversation_id, payload)

    def open(self, conversation_id: str | int, *, admin_id: str | int) -> dict[str, Any]:
        """Reopen a closed or snoozed conversation."""
        return self._manage(
            conversation_id, {"message_type": "open", "admin_id": _id(admin_id, "admin_id")}
        )

    def _manage(self, conversation_id: str | int, payload: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            "POST",
            "/conversations/{id}/parts",
            id=_id(conversation_id, "conversation_id"),
            json_body=payload,
            idempotent=False,
        )

    def attach_tag(
        self, conversation_id: str | int, tag_id: str | int, admin_id: str | int
    ) -> dict[str, Any]:
        """Attach tag ``tag_id`` to the conversation; attaching twice changes nothing."""
        return self._call(
            "POST",
            "/conversations/{id}/tags",
            id=_id(conversation_id, "conversation_id"),
            json_body={"id": _id(tag_id, "tag_id"), "admin_id": _id(admin_id, "admin_id")},
        )

    def update_conversation_attributes(
        self, conversation_id: str | int, custom_attributes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``PUT /conversations/{id}`` with ``custom_attributes`` (the attributes must exist)."""
        if not isinstance(custom_attributes, Mapping) or not custom_attributes:
            raise ValueError("custom_attributes must be a non-empty mapping")
        if not all(isinstance(key, str) and key for key in custom_attributes):
            raise ValueError("custom attribute names must be non-empty strings")
        return self._call(
            "PUT",
            "/conversations/{id}",
            id=_id(conversation_id, "conversation_id"),
            json_body={"custom_attributes": dict(custom_attributes)},
        )

    def search_conversations(
        self,
        query: Mapping[str, Any],
        *,
        per_page: int = MAX_PER_PAGE,
        starting_after: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``POST /conversations/search``, yielding conversations (without parts) page by page."""
        if not isinstance(query, Mapping) or not query:
            raise ValueError("a search needs a query: a filter or an AND/OR group")

        def page(cursor: str | None) -> dict[str, Any]:
            return self.search_conversations_page(query, per_page=per_page, starting_after=cursor)

        return self._cursor_pages(page, starting_after, "POST /conversations/search")

    def search_conversations_page(
        self,
        query: Mapping[str, Any],
        *,
        per_page: int = MAX_PER_PAGE,
        starting_after: str | None = None,
    ) -> dict[str, Any]:
        """One page of ``POST /conversations/search`` as Intercom's JSON; :func:`page_items`
        and :func:`next_page_cursor` read it (a resumable sync keeps the cursor)."""
        if not isinstance(query, Mapping) or not query:
            raise ValueError("a search needs a query: a filter or an AND/OR group")
        pagination: dict[str, Any] = {"per_page": _per_page(per_page)}
        if starting_after:
            pagination["starting_after"] = starting_after
        body = {"query": dict(query), "pagination": pagination}
        return self._call("POST", "/conversations/search", json_body=body, idempotent=True)

    def list_conversations(
        self, *, per_page: int = MAX_PER_PAGE, starting_after: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """``GET /conversations``, yielding conversations (without parts) page by page."""

        def page(cursor: str | None) -> dict[str, Any]:
            params: dict[str, Any] = {"per_page": _per_page(per_page)}
            if cursor:
                params["starting_after"] = cursor
            return self._call("GET", "/conversations", params=params)

        return self._cursor_pages(page, starting_after, "GET /conversations")

    def _cursor_pages(
        self,
        fetch: Callable[[str | None], dict[str, Any]],
        cursor: str | None,
        where: str,
    ) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        while True:
            data = fetch(cursor)
            yield from _items(data, "conversations", where)
            cursor = _next_cursor(data, where)
            if cursor is None:
                return
            if cursor in seen:
                raise InvalidResponse(f"{where}: Intercom repeated a page cursor", endpoint=where)
            seen.add(cursor)

    # -- tags ------------------------------------------------------------------------------

    def find_or_create_tag(self, name: str) -> str:
        """The id of tag ``name`` (case-insensitive), created if missing.

        Kept for :data:`TAG_TTL` in the deployment's cache (Redis, when configured, so a
        process that starts finds the ids others already asked for)."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a tag needs a non-empty name")
        key = f"tag:{self.workspace.app_id}:{self.base_url}:{name.strip().casefold()}"
        cached = cache().get(key)
        if isinstance(cached, str):
            return cached
        data = self._call("POST", "/tags", json_body={"name": name.strip()}, idempotent=True)
        tag_id = _id(_require(data, "id", (str, int), "POST /tags"), "tag id")
        cache().put(key, tag_id, TAG_TTL)
        return tag_id

    def list_tags(self) -> list[dict[str, Any]]:
        """``GET /tags``: every tag of the workspace."""
        return _items(self._call("GET", "/tags"), "data", "GET /tags")

    # -- contacts and companies ------------------------------------------------------------

    def get_contact(self, contact_id: str | int, *, follow_merged: bool = True) -> dict[str, Any]:
        """``GET /contacts/{id}``; a contact merged into another (410 ``contact_merged``) is
        followed to the canonical contact, whose ``id`` then differs from ``contact_id``."""
        return self._follow_merged(
            contact_id, follow_merged, lambda cid: self._call("GET", "/contacts/{id}", id=cid)
        )

    def contact_companies(
        self, contact_id: str | int, *, per_page: int = 50, follow_merged: bool = True
    ) -> list[dict[str, Any]]:
        """The contact's companies, full objects with ``custom_attributes``, every page."""

        def companies(data: dict[str, Any]) -> list[dict[str, Any]]:
            key = "companies" if "companies" in data else "data"
            return _items(data, key, "GET /contacts/{id}/companies")

        def fetch(cid: str) -> list[dict[str, Any]]:
            pages = self._numbered_pages("/contacts/{id}/companies", per_page, companies, id=cid)
            return list(pages)

        return self._follow_merged(contact_id, follow_merged, fetch)

    def _follow_merged(
        self, contact_id: str | int, follow: bool, fetch: Callable[[str], Any]
    ) -> Any:
        current = _id(contact_id, "contact_id")
        for _ in range(MAX_CONTACT_MERGE_HOPS):
            try:
                return fetch(current)
            except ContactMerged as merged:
                if not follow or not merged.canonical_id:
                    raise
                log.info("Intercom contact %s was merged into %s", current, merged.canonical_id)
                current = merged.canonical_id
        raise InvalidResponse(
            f"contact {contact_id} was merged more than {MAX_CONTACT_MERGE_HOPS} times in a row",
            endpoint="/contacts/{id}",
        )

    # -- articles --------------------------------------------------------------------------

    def list_articles(self, *, per_page: int = 50) -> Iterator[dict[str, Any]]:
        """``GET /articles``, newest ``updated_at`` first, every page.

        Top-level fields hold the default locale; :func:`article_translations` gives the rest.
        """
        return self._numbered_pages(
            "/articles", per_page, lambda data: _items(data, "data", "GET /articles")
        )

    def _numbered_pages(
        self,
        template: str,
        per_page: int,
        items: Callable[[dict[str, Any]], list[dict[str, Any]]],
        **path: str,
    ) -> Iterator[dict[str, Any]]:
        """The items of a ``page``/``per_page`` listing, until ``pages.total_pages`` or an empty
        page (so a wrong total never loops for ever)."""
        page, total = 1, 1
        params = {"per_page": _per_page(per_page)}
        while page <= total:
            data = self._call("GET", template, params=params | {"page": page}, **path)
            found = items(data)
            if not found:
                return
            yield from found
            pages = data.get("pages")
            reported = pages.get("total_pages") if isinstance(pages, Mapping) else None
            if page == 1 and isinstance(reported, int) and not isinstance(reported, bool):
                total = reported
            page += 1

    def list_articles_page(self, page: int = 1, *, per_page: int = 50) -> dict[str, Any]:
        """One page of ``GET /articles`` as Intercom's JSON (``data``, ``pages``,
        ``total_count``), for a sync that checkpoints page by page."""
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise ValueError("page must be a whole number from 1")
        return self._call(
            "GET", "/articles", params={"page": page, "per_page": _per_page(per_page)}
        )

    def get_article(self, article_id: str | int) -> dict[str, Any]:
        """``GET /articles/{id}``: one article with its translations."""
        data = self._call("GET", "/articles/{id}", id=_id(article_id, "article_id"))
        _require(data, "id", (str, int), "GET /articles/{id}")
        return data

    # -- transport -------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        template: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        **path: str,
    ) -> dict[str, Any]:
        """One API call with rate limiting, retries and typed errors; returns the JSON object."""
        url = self.base_url + template.format(**{k: quote(v, safe="") for k, v in path.items()})
        safe_to_repeat = method in ("GET", "PUT", "DELETE") if idempotent is None else idempotent
        failures = rate_limited = 0
        while True:
            try:
                answer = self._send(method, url, template, params, json_body)
            except _TRANSPORT_ERRORS as exc:
                error = _transport_error(exc, method, template, safe_to_repeat, self.timeout)
            else:
                if 200 <= answer.status < 300:
                    return self._decode(answer, method, template)
                error = self._http_error(answer, method, template, safe_to_repeat)
            if isinstance(error, RateLimited) and rate_limited < self.retry.max_rate_limit_retries:
                rate_limited += 1
                wait = self._rate_limit_wait(error, rate_limited)
            elif _retryable(error) and failures < self.retry.max_retries:
                failures += 1
                wait = self.retry.backoff(failures)
            else:
                raise error
            log.warning("%s; retrying in %.1fs", error, wait)
            self._sleep(wait)

    def _send(
        self,
        method: str,
        url: str,
        template: str,
        params: Mapping[str, Any] | None,
        json_body: Mapping[str, Any] | None,
    ) -> _Answer:
        self.limiter.acquire()
        started = time.monotonic()
        status: int | None = None
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                json=json_body,
                headers=self._headers(),
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            )
            with response:
                status = response.status_code
                body = self._read(response, template)
            self.limiter.observe(response.headers)
            return _Answer(status, response.headers, body, response.links)
        except requests.RequestException as exc:
            if isinstance(exc, _TRANSPORT_ERRORS):
                raise
            raise IntercomError(
                f"the request to Intercom could not be made ({type(exc).__name__})",
                endpoint=template,
            ) from None
        finally:
            self._report(template, status, time.monotonic() - started)

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "Intercom-Version": self.workspace.intercom_version,
            "User-Agent": f"deskmate/{__version__}",
        }

    def _read(self, response: requests.Response, template: str) -> bytes:
        """The body, refusing more than ``max_response_bytes`` (declared or actual)."""
        declared = response.headers.get("Content-Length", "")
        too_large = InvalidResponse(
            f"Intercom's answer is larger than {self.max_response_bytes} bytes; refused",
            status=response.status_code,
            endpoint=template,
        )
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            raise too_large
        chunks, size = [], 0
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > self.max_response_bytes:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def _report(self, template: str, status: int | None, seconds: float) -> None:
        if self._on_call is None:
            return
        try:
            self._on_call(template, status, seconds)
        except Exception:
            log.exception("the on_call metrics callback failed")

    def _decode(self, answer: _Answer, method: str, template: str) -> dict[str, Any]:
        if not answer.body.strip():
            return {}
        data = _json_object(answer.body)
        if data is None:
            kind = answer.headers.get("Content-Type", "no content type")
            raise InvalidResponse(
                f"Intercom's answer to {method} {template} is not a JSON object ({kind[:60]}); "
                "is the base URL an Intercom API host?",
                status=answer.status,
                endpoint=template,
            )
        return data

    def _http_error(
        self, answer: _Answer, method: str, template: str, safe_to_repeat: bool
    ) -> IntercomError:
        data = _json_object(answer.body) or {}
        code, message = _first_error(data)
        request_id = data.get("request_id") if isinstance(data.get("request_id"), str) else None
        cls = errors.error_for_status(answer.status, code)
        text = self._scrub(message or f"Intercom answered {method} {template} with {answer.status}")
        common: dict[str, Any] = {
            "status": answer.status,
            "code": self._scrub(code) if code else None,
            "request_id": self._scrub(request_id) if request_id else None,
            "endpoint": template,
        }
        if cls is RateLimited:
            return RateLimited(text, retry_after=self._server_wait(answer.headers), **common)
        if cls is ContactMerged:
            return ContactMerged(text, canonical_id=_canonical_contact(answer.links), **common)
        if cls is ServerError:
            return ServerError(text, ambiguous=not safe_to_repeat, **common)
        return cls(text, **common)

    def _server_wait(self, headers: Mapping[str, str]) -> float | None:
        """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset``."""
        retry_after = headers.get("Retry-After", "").strip()
        if retry_after:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                try:
                    return max(0.0, parsedate_to_datetime(retry_after).timestamp() - self._clock())
                except (TypeError, ValueError, IndexError):
                    pass
        reset_at = reset_time(headers)
        return None if reset_at is None else max(0.0, reset_at - self._clock())

    def _rate_limit_wait(self, error: RateLimited, attempt: int) -> float:
        """How long to wait after a 429; too long a wait is raised to the caller instead."""
        wait = error.retry_after
        if not wait:
            return self.retry.backoff(attempt)
        if wait > self.retry.max_rate_limit_wait:
            raise error
        self.limiter.pause_until(self._clock() + wait)
        return wait

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[redacted]")[:500]


def _checked_token(workspace: WorkspaceSettings) -> str:
    token = workspace.access_token.reveal()
    if not token or not token.isprintable() or any(ch.isspace() for ch in token):
        raise ValueError(
            f"the Intercom access token of workspace {workspace.app_id} "
            f"({workspace.access_token}) is empty or contains spaces or control characters; "
            "copy it again from Developer Hub > your app > Configure > Authentication"
        )
    return token


def _pooled_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _id(value: Any, name: str) -> str:
    """An id argument as a non-empty string (Intercom ids are strings or integers)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{name} must be a string or integer id")
    text = str(value).strip()
    if not text:
        raise ValueError(f"{name} must not be empty")
    return text


def _per_page(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    return value


def _json_object(body: bytes) -> dict[str, Any] | None:
    """``body`` as a JSON object, or ``None`` if it is not JSON or not an object."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _first_error(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The code and message of the first entry of an ``error.list`` body."""
    entries = data.get("errors")
    first = entries[0] if isinstance(entries, list) and entries else None
    if not isinstance(first, Mapping):
        return None, None
    code, message = first.get("code"), first.get("message")
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
    )


def _canonical_contact(links: Mapping[str, Mapping[str, str]]) -> str | None:
    """The contact id of ``Link: </contacts/{id}>; rel="canonical"``."""
    url = links.get("canonical", {}).get("url", "")
    path = urlsplit(url).path.rstrip("/")
    head, _, contact_id = path.rpartition("/")
    if not head.endswith("contacts") or not contact_id.isalnum():
        return None
    return contact_id


def _require(data: Mapping[str, Any], key: str, kinds: tuple[type, ...], where: str) -> Any:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise InvalidResponse(f"{where}: Intercom's answer has no usable {key!r}", endpoint=where)
    return value


def _items(data: Mapping[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """The list of objects under ``key``; anything else is an unexpected shape."""
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidResponse(
            f"{where}: expected a list of objects under {key!r} in Intercom's answer",
            endpoint=where,
        )
    return value


def page_items(data: Mapping[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """The objects of a page under ``key``; :class:`InvalidResponse` for any other shape."""
    return _items(data, key, where)


def next_page_cursor(data: Mapping[str, Any], where: str) -> str | None:
    """The ``pages.next.starting_after`` cursor of a page, ``None`` on the last page."""
    return _next_cursor(data, where)


def _next_cursor(data: Mapping[str, Any], where: str) -> str | None:
    pages = data.get("pages")
    following = pages.get("next") if isinstance(pages, Mapping) else None
    if not following:
        return None
    cursor = following.get("starting_after") if isinstance(following, Mapping) else None
    if cursor is None:
        return None
    if not isinstance(cursor, str):
        raise InvalidResponse(f"{where}: the next-page cursor is not a string", endpoint=where)
    return cursor


def _retryable(error: IntercomError) -> bool:
    return isinstance(error, ServerError | Timeout | ConnectionFailed) and not error.ambiguous


def _transport_error(
    exc: requests.RequestException,
    method: str,
    template: str,
    safe_to_repeat: bool,
    timeout: float | tuple[float, float],
) -> IntercomError:
    """A timeout or dropped connection as a typed error; ambiguous if a change may have landed."""
    never_sent = isinstance(exc, requests.ConnectTimeout) or _refused(exc)
    ambiguous = not safe_to_repeat and not never_sent
    after = " (it may have been applied: re-read before retrying)" if ambiguous else ""
    if isinstance(exc, requests.Timeout):
        limit = timeout[1] if isinstance(timeout, tuple) else timeout
        return Timeout(
            f"Intercom did not answer {method} {template} within {limit}s{after}",
            endpoint=template,
            ambiguous=ambiguous,
        )
    return ConnectionFailed(
        f"could not reach Intercom for {method} {template}{after}",
        endpoint=template,
        ambiguous=ambiguous,
    )


def _refused(exc: requests.RequestException) -> bool:
    """Whether the connection was never made (DNS failure, refused), so nothing was sent."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)
