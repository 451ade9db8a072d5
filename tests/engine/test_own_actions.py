"""deskmate knows its own writes when Intercom announces them: by author and by the part ids
its actions recorded, so they are never taken for a rep's activity."""

from __future__ import annotations

from collections.abc import Callable

from deskmate.core.domain import ActionResult, Turn
from deskmate.core.stack import APP_ID, LocalStack
from deskmate.core.store.events import list_events
from deskmate.core.store.models import OWN_ACTION
from deskmate.core.store.sessions import get_session, history
from deskmate.hookspecs import hookimpl

TEAMMATE = "1000002"
"""A human teammate in the sandbox's seed, here the author of the handoff notes."""


class NotesAsTeammate:
    """Posts the AI's notes as a dedicated teammate and records the part it created."""

    @hookimpl(tryfirst=True)
    def post_note(self, turn: Turn, body: str) -> ActionResult:
        answer = turn.intercom.reply(
            turn.conversation.id, body, admin_id=TEAMMATE, message_type="note"
        )
        part_id = answer["conversation_parts"]["conversation_parts"][-1]["id"]
        return ActionResult("note", True, "posted as the teammate", response={"part_id": part_id})


def test_a_note_posted_as_another_teammate_is_known_by_its_part_id(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = make_stack(extra_plugins=[("notes_as_teammate", NotesAsTeammate())])
    conversation = stack.start_conversation("I want to speak to a human, this is a disgrace")
    assert stack.wait_settled(40)

    with stack.engine.sessions() as db:
        noted = [e for e in list_events(db) if e.topic == "conversation.admin.noted"]
        session = get_session(db, APP_ID, conversation)
        kept = [m for m in history(db, session) if m.kind == "note"]
    assert [(e.status, e.reason.startswith(OWN_ACTION)) for e in noted] == [("skipped", True)]
    assert len(kept) == 1 and kept[0].author.id == TEAMMATE, "kept in the history all the same"
