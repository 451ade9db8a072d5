"""The shadow-mode guard: the one place every action of a shadow turn passes through.

A turn in shadow mode gets a :class:`ShadowEffects` for ``turn.actions`` and a
:class:`ShadowIntercom` for ``turn.intercom``. The first withholds every action (reply, note,
tag, assignment, attributes) without calling the action hooks, whichever plugin asks, and
keeps what was withheld; the second answers Intercom reads and refuses every write. The one
write let through is deskmate's own internal note saying what the AI would have done, when the
workspace's ``shadow_note`` is on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html import escape
from typing import Any

from deskmate.core.domain import ActionResult, Turn
from deskmate.core.effects import Effects
from deskmate.core.intercom.errors import IntercomError

WITHHELD = "withheld: shadow mode sends nothing"
SHADOW_NOTE_KEY = "shadow-note"
READS = frozenset(
    {
        "me",
        "list_admins",
        "list_teams",
        "get_conversation",
        "get_conversation_item",
        "search_conversations",
        "search_conversations_page",
        "list_conversations",
        "list_tags",
        "get_contact",
        "contact_companies",
        "list_articles",
        "list_articles_page",
        "get_article",
    }
)
"""The Intercom client's calls that only read: the ones a shadow turn may make."""


class ShadowRefused(IntercomError):
    """A write to Intercom asked for during a shadow-mode turn."""


class ShadowIntercom:
    """An Intercom client for a shadow turn: reads pass through, every write is refused.

    Only :meth:`ShadowEffects.shadow_note` opens it, for one internal note.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._note_allowed = False

    @contextmanager
    def allowing_note(self) -> Iterator[None]:
        self._note_allowed = True
        try:
            yield
        finally:
            self._note_allowed = False

    def reply(self, conversation_id: str | int, body: str, **options: Any) -> Any:
        if self._note_allowed and options.get("message_type") == "note":
            return self._client.reply(conversation_id, body, **options)
        raise ShadowRefused("shadow mode: deskmate posts nothing to Intercom", endpoint="reply")

    def __getattr__(self, name: str) -> Any:
        if name in READS:
            return getattr(self._client, name)
        raise ShadowRefused(f"shadow mode: deskmate makes no {name} call", endpoint=name)


def shadow_client(client: Any) -> ShadowIntercom:
    """``client`` behind the shadow guard (once)."""
    return client if isinstance(client, ShadowIntercom) else ShadowIntercom(client)


class ShadowEffects(Effects):
    """The actions of a shadow turn: each is withheld (no hook called), kept in ``withheld``
    and in the audit (kind ``withheld``, as ``acted`` for a sent one); :meth:`shadow_note` is
    the only one performed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.withheld: list[dict[str, Any]] = []
        self._performing = False

    def _do(
        self,
        turn: Turn,
        kind: str,
        key: str,
        request: dict[str, Any],
        call: Callable[[], ActionResult | None],
    ) -> ActionResult:
        if self._performing:
            return super()._do(turn, kind, key, request, call)
        withheld = {"action": kind, **request}
        self.withheld.append(withheld)
        self.audit("withheld", withheld)
        return self._remember(ActionResult(kind, True, WITHHELD))

    def shadow_note(self, turn: Turn, body: str) -> ActionResult:
        """Post deskmate's internal note of what the AI would have done (once per message)."""
        intercom = turn.intercom
        if not isinstance(intercom, ShadowIntercom):
            raise TypeError("a shadow note needs the turn's shadow Intercom client")
        self._performing = True
        try:
            with intercom.allowing_note():
                return self.note(turn, body, key=SHADOW_NOTE_KEY)
        finally:
            self._performing = False


def shadow_note_html(record: dict[str, Any]) -> str:
    """The internal note of a shadow decision: what the AI would have done and why."""
    if record["would"] == "answer":
        lines = [
            f"<p><b>deskmate (shadow mode) would have answered</b> "
            f"(confidence {record.get('confidence') or 0:.0%}):</p>",
            record.get("reply") or "",
        ]
    else:
        reasons = ", ".join(escape(r["code"]) for r in record.get("reasons", []))
        lines = [f"<p><b>deskmate (shadow mode) would have handed off</b>: {reasons}</p>"]
    cited = "".join(f"<li>{escape(c.get('title') or '')}</li>" for c in record["citations"])
    if cited:
        lines.append(f"<p>Sources</p><ul>{cited}</ul>")
    lines.append("<p>Nothing was sent to the customer.</p>")
    return "".join(lines)
