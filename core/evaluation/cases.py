"""Eval cases: what a customer says, what the AI needs to know, and what it should do.

A case file is YAML: an optional ``split`` and ``knowledge`` for every case in it, and ``cases``,
a list. Every problem is reported as ``FILE: case ID: FIELD: what is wrong`` and nothing runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from deskmate.core.channels import language_code

SANDBOX = "sandbox"
WORKSPACE = "workspace"
SPEAKERS = ("customer", "ai", "rep")
CHANNELS = ("messenger", "email")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TURNS = 30
MAX_TEXT = 10_000

Speaker = Literal["customer", "ai", "rep"]
Action = Literal["answer", "handoff", "no_reply"]


class CaseError(ValueError):
    """A case file that can't be used, with every problem found, each naming case and field."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Doc:
    """An inline knowledge document: an id, a title, a body and its language."""

    id: str
    title: str
    body: str
    locale: str = "en"


@dataclass(frozen=True)
class Knowledge:
    """Where a case's knowledge comes from: the sandbox help center, the workspace's own store,
    or inline documents."""

    kind: Literal["sandbox", "workspace", "inline"]
    docs: tuple[Doc, ...] = ()

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.kind, self.docs)


@dataclass(frozen=True)
class Said:
    """One message of a case: who says it and the text. An ``ai`` turn without text is
    played: the engine answers the customer messages before it, and its reply stays in the
    conversation."""

    speaker: Speaker
    text: str


@dataclass(frozen=True)
class Expected:
    """What the AI should do with the last customer message.

    ``answer``: reply citing one of ``cites`` (document ids or titles); ``handoff``: hand off,
    ideally with one of ``reasons``; ``no_reply``: neither answer again nor hand off.
    """

    action: Action
    cites: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    must_not_say: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    """One conversation to play and the outcome expected from it."""

    id: str
    category: str
    language: str
    split: str
    turns: tuple[Said, ...]
    expected: Expected
    knowledge: Knowledge = field(default_factory=lambda: Knowledge(SANDBOX))
    channel: str = "messenger"
    source: str = ""
    note: str = ""


@dataclass
class CaseSet:
    """Every case of one run, in file order, and the category groups the files define."""

    cases: list[Case]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


class _Problems:
    """Collects the problems of one file, each prefixed with where it is."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{self.label}: {where}: {message}")


def load_cases(paths: Sequence[Path]) -> CaseSet:
    """Read and check every case file; :class:`CaseError` lists every problem found."""
    problems: list[str] = []
    cases: list[Case] = []
    groups: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for path in paths:
        found = _Problems(str(path))
        data = _read(path, found)
        if data is not None:
            for case in _cases_of(data, path, found):
                if case.id in seen:
                    found.add(f"case {case.id}", f"id already used in {seen[case.id]}")
                seen[case.id] = str(path)
                cases.append(case)
            groups.update(_groups_of(data, found))
        problems += found.items
    if not problems and not cases:
        problems.append(f"{', '.join(map(str, paths))}: no cases")
    if problems:
        raise CaseError(problems)
    return CaseSet(cases, groups)


def _read(path: Path, problems: _Problems) -> Mapping[str, Any] | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.add("file", f"can't read it: {exc.strerror or exc}")
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        problems.add(where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}")
        return None
    if not isinstance(data, Mapping) or not isinstance(data.get("cases"), list):
        problems.add("file", "expected a mapping with a 'cases' list")
        return None
    unknown = set(data) - {"cases", "split", "knowledge", "groups"}
    if unknown:
        problems.add("file", f"unknown key(s): {', '.join(sorted(map(str, unknown)))}")
    return data


def _groups_of(data: Mapping[str, Any], problems: _Problems) -> dict[str, tuple[str, ...]]:
    raw = data.get("groups") or {}
    if not isinstance(raw, Mapping):
        problems.add("groups", "expected a mapping of group name to a list of categories")
        return {}
    groups = {}
    for name, categories in raw.items():
        names = categories if isinstance(categories, list) else None
        if not _NAME.match(str(name)) or not names or not all(_NAME.match(str(c)) for c in names):
            problems.add(f"groups: {name}", "expected a name and a list of category names")
            continue
        groups[str(name)] = tuple(str(c) for c in names)
    return groups


def _cases_of(data: Mapping[str, Any], path: Path, problems: _Problems) -> list[Case]:
    split = data.get("split", path.stem)
    if not isinstance(split, str) or not _NAME.match(split):
        problems.add("split", "expected a short lowercase name (tune, heldout…)")
        split = path.stem
    knowledge = _knowledge(data.get("knowledge", SANDBOX), "knowledge", problems)
    cases = []
    for position, raw in enumerate(data["cases"], 1):
        if not isinstance(raw, Mapping):
            problems.add(f"case #{position}", "expected a mapping")
            continue
        case = _case(raw, position, split, knowledge, path, problems)
        if case is not None:
            cases.append(case)
    return cases


def _case(
    raw: Mapping[str, Any],
    position: int,
    split: str,
    knowledge: Knowledge,
    path: Path,
    problems: _Problems,
) -> Case | None:
    case_id = raw.get("id")
    if not isinstance(case_id, str | int) or not _NAME.match(str(case_id)):
        problems.add(f"case #{position}", "id: expected a short name (letters, digits, - or _)")
        return None
    where = f"case {case_id}"
    before = len(problems.items)
    known = {
        "id",
        "category",
        "language",
        "split",
        "turns",
        "expect",
        "knowledge",
        "channel",
        "source",
        "note",
    }
    unknown = set(raw) - known
    if unknown:
        problems.add(where, f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    category = raw.get("category")
    if not isinstance(category, str) or not _NAME.match(category):
        problems.add(f"{where}: category", "expected a short lowercase name (direct, typo…)")
    language = raw.get("language")
    if not isinstance(language, str) or language_code(language) != language:
        problems.add(f"{where}: language", "expected a language code such as en, es, fr")
    case_split = raw.get("split", split)
    if not isinstance(case_split, str) or not _NAME.match(case_split):
        problems.add(f"{where}: split", "expected a short lowercase name (tune, heldout…)")
    channel = raw.get("channel", "messenger")
    if channel not in CHANNELS:
        problems.add(f"{where}: channel", f"expected one of {', '.join(CHANNELS)}")
    turns = _turns(raw.get("turns"), f"{where}: turns", problems)
    expected = _expected(raw.get("expect"), f"{where}: expect", problems)
    case_knowledge = (
        _knowledge(raw["knowledge"], f"{where}: knowledge", problems)
        if "knowledge" in raw
        else knowledge
    )
    if len(problems.items) > before:
        return None
    return Case(
        id=str(case_id),
        category=str(category),
        language=str(language),
        split=str(case_split),
        turns=turns,
        expected=expected,
        knowledge=case_knowledge,
        channel=str(channel),
        source=str(path),
        note=str(raw.get("note") or ""),
    )


def _turns(raw: Any, where: str, problems: _Problems) -> tuple[Said, ...]:
    if isinstance(raw, str):
        raw = [{"customer": raw}]
    if not isinstance(raw, list) or not raw:
        problems.add(where, "expected a list of {customer|ai|rep: text}")
        return ()
    if len(raw) > MAX_TURNS:
        problems.add(where, f"at most {MAX_TURNS} turns")
        return ()
    turns = []
    for number, item in enumerate(raw, 1):
        pair = list(item.items()) if isinstance(item, Mapping) else []
        speaker, text = pair[0] if len(pair) == 1 else (None, None)
        if speaker == "ai" and text is None:
            text = ""  # played: the AI answers the customer messages before it
        if speaker not in SPEAKERS or not isinstance(text, str):
            problems.add(f"{where} #{number}", "expected one of customer, ai, rep with a text")
            continue
        if not text.strip() and speaker != "ai":
            problems.add(f"{where} #{number}", f"the {speaker}'s text is empty")
            continue
        if len(text) > MAX_TEXT:
            problems.add(f"{where} #{number}", f"text over {MAX_TEXT} characters")
            continue
        if speaker == "ai" and not text.strip() and (not turns or turns[-1].speaker != "customer"):
            problems.add(f"{where} #{number}", "a played ai turn must follow a customer's")
            continue
        turns.append(Said(speaker, text))
    if turns and turns[0].speaker != "customer":
        problems.add(where, "the first turn must be the customer's (who opens the conversation)")
    if turns and turns[-1].speaker != "customer":
        problems.add(where, "the last turn must be the customer's (the one the outcome is for)")
    return tuple(turns)


def _strings(value: Any) -> tuple[str, ...] | None:
    """A string or a list of strings as a tuple; ``None`` for anything else."""
    items = [value] if isinstance(value, str | int) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str | int) for i in items):
        return None
    return tuple(str(i) for i in items)


def _expected(raw: Any, where: str, problems: _Problems) -> Expected:
    if raw == "no_reply":
        return Expected("no_reply")
    if not isinstance(raw, Mapping):
        problems.add(where, "expected no_reply, {answer: DOCUMENT} or {handoff: REASON}")
        return Expected("no_reply")
    actions = [key for key in ("answer", "handoff", "no_reply") if key in raw]
    unknown = set(raw) - {"answer", "handoff", "no_reply", "must_not_say"}
    if len(actions) != 1 or unknown:
        problems.add(where, "expected exactly one of answer, handoff, no_reply (and must_not_say)")
        return Expected("no_reply")
    action = actions[0]
    forbidden = _strings(raw.get("must_not_say", [])) if raw.get("must_not_say") else ()
    if forbidden is None:
        problems.add(f"{where}: must_not_say", "expected a text or a list of texts")
        forbidden = ()
    if action == "no_reply":
        return Expected("no_reply", must_not_say=forbidden)
    values = _strings(raw[action])
    if values is None:
        what = "a document id or title" if action == "answer" else "a reason code"
        problems.add(f"{where}: {action}", f"expected {what}, or a list of them")
        return Expected(action)
    if action == "handoff":
        bad = [v for v in values if v != "any" and not _CODE.match(v)]
        if bad:
            problems.add(f"{where}: handoff", f"not a reason code: {', '.join(bad)}")
        reasons = () if "any" in values else values
        return Expected("handoff", reasons=reasons, must_not_say=forbidden)
    return Expected("answer", cites=values, must_not_say=forbidden)


def _knowledge(raw: Any, where: str, problems: _Problems) -> Knowledge:
    if raw in (SANDBOX, WORKSPACE):
        return Knowledge(raw)
    if not isinstance(raw, list) or not raw:
        problems.add(where, "expected sandbox, workspace, or a list of {id, title, body}")
        return Knowledge(SANDBOX)
    docs = []
    for number, item in enumerate(raw, 1):
        values = item if isinstance(item, Mapping) else {}
        doc_id, title, body = (values.get(k) for k in ("id", "title", "body"))
        locale = values.get("locale", "en")
        if not all(isinstance(v, str | int) and str(v).strip() for v in (doc_id, title, body)):
            problems.add(f"{where} #{number}", "expected id, title and body")
            continue
        if not isinstance(locale, str) or not language_code(locale):
            problems.add(f"{where} #{number}: locale", "expected a language code")
            continue
        docs.append(Doc(str(doc_id), str(title), str(body), locale))
    return Knowledge("inline", tuple(docs))
