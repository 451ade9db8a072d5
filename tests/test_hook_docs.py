"""Meta-tests: every hook is specified with its calling rule, documented, and tested.

When one fails after you add a hook to ``hookspecs.py``: give the spec a docstring ending with
``Calling rule: **<kind>**``, add a ``## <name>`` section to docs/hooks.md (signature, kind,
arguments, return, example), and a test that implements or calls it.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from deskmate import hookspecs
from deskmate.core.plugins import PluginHost

ROOT = Path(__file__).resolve().parent.parent
HOOKS_DOC = ROOT / "docs" / "hooks.md"
TESTS = ROOT / "tests"
KINDS = ("event", "collector", "decider", "action")

HOOK_NAMES = PluginHost().hook_names()


def spec_function(name: str):  # type: ignore[no-untyped-def]
    return getattr(hookspecs, name)


def spec_kind(name: str) -> str | None:
    match = re.search(r"Calling rule: \*\*(\w+)\*\*", inspect.getdoc(spec_function(name)) or "")
    return match.group(1) if match else None


def doc_sections() -> dict[str, str]:
    """``## <hook>`` sections of docs/hooks.md, keyed by hook name."""
    parts = re.split(r"^## ", HOOKS_DOC.read_text(), flags=re.MULTILINE)[1:]
    sections = {}
    for part in parts:
        title, _, body = part.partition("\n")
        if re.fullmatch(r"[a-z_]+", title.strip()):
            sections[title.strip()] = body
    return sections


def test_hooks_are_found() -> None:
    assert len(HOOK_NAMES) >= 20
    assert "inbound_message" in HOOK_NAMES


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_hookspec_docstring_states_its_calling_rule(name: str) -> None:
    kind = spec_kind(name)

    assert kind in KINDS, f"{name}: end its docstring with 'Calling rule: **<one of {KINDS}>**'"
    firstresult = getattr(PluginHost().hook, name).spec.opts["firstresult"]
    assert firstresult == (kind in ("decider", "action")), f"{name}: firstresult vs {kind}"
    assert (name in hookspecs.EVENT_HOOKS) == (kind == "event"), f"{name}: EVENT_HOOKS vs {kind}"
    assert (name in hookspecs.ACTION_HOOKS) == (kind == "action"), f"{name}: ACTION_HOOKS vs {kind}"


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_hook_is_documented_with_its_signature_and_kind(name: str) -> None:
    sections = doc_sections()

    assert name in sections, f"docs/hooks.md has no '## {name}' section"
    body = sections[name]
    signature = re.search(rf"`{name}\(([^)]*)\)", body)
    assert signature, f"docs/hooks.md '## {name}' must start with `{name}(...)`"
    documented = re.findall(r"(\w+):", signature.group(1))
    assert documented == list(inspect.signature(spec_function(name)).parameters)
    heading = body.strip().split("\n\n")[0]
    assert heading.endswith(f"**{spec_kind(name)}**"), f"{name}: kind missing or wrong"
    assert "```python" in body, f"docs/hooks.md '## {name}' needs an example"


def test_docs_document_no_hook_that_does_not_exist() -> None:
    assert sorted(set(doc_sections()) - set(HOOK_NAMES)) == []


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_hook_is_exercised_by_a_test(name: str) -> None:
    used = re.compile(rf"hook\.{name}\(|@hookimpl[^\n]*\n(?:\s*@[^\n]*\n)*\s*def {name}\(")
    files = [path for path in TESTS.rglob("*.py") if path.name != Path(__file__).name]

    assert any(used.search(path.read_text()) for path in files), (
        f"no test implements ('@hookimpl def {name}(') or calls ('hook.{name}(') {name}"
    )
