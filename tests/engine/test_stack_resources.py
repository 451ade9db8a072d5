"""A stopped stack leaves no file of its instance folder open: the worker's database engine and
job queue, the intake's outbox connection, the host's engine, the rate limiter's windows and the
brain's knowledge engine are all closed (a test suite runs hundreds of stacks in one process)."""

from __future__ import annotations

import os
from pathlib import Path

from deskmate.core.stack import LocalStack, StackOptions

from .conftest import seed_knowledge


def open_files_under(folder: Path) -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


def test_a_stopped_stack_keeps_no_file_of_its_instance_open(tmp_path: Path) -> None:
    folders = [tmp_path / "first", tmp_path / "second"]
    for folder in folders:
        stack = LocalStack(folder, StackOptions(plugins={"messenger": {"initial_delay": 0}}))
        seed_knowledge(stack)
        with stack:
            conversation_id = stack.start_conversation("How do I reset my password?")
            assert stack.wait_settled()
            assert stack.parts_by_ai(conversation_id)
    # the brain keeps the knowledge engine of the configuration it serves now (the second)
    assert open_files_under(folders[0]) == []
