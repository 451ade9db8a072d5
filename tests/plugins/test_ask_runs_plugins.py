"""``deskmate ask`` runs the engine's hooks, plugins included: an installed plugin's escalation
rule shows in its answer, as the live engine would hand the conversation off."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from deskmate.core.cli import cli

pytestmark = pytest.mark.usefixtures("clean_env")

ENV = {"T_TOKEN": "test-token", "T_SECRET": "test-client-secret"}
QUESTION = "How do I return a parcel for a refund?"
GUIDE = """# Returns

Send the parcel back within 30 days of delivery for a full refund. Print the prepaid label.
"""
RETURNS_DESK = """
from deskmate import hookimpl
from deskmate.core.domain import EscalationReason


@hookimpl
def escalation_reasons(turn):
    if "parcel" in turn.latest.text.lower():
        return [EscalationReason("returns_desk", "parcels are handled by the returns desk")]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "deskmate.toml"
    path.write_text(textwrap.dedent(f"""
        instance_path = "{tmp_path / 'instance'}"

        [workspaces.abc]
        access_token = {{ env = "T_TOKEN" }}
        client_secret = {{ env = "T_SECRET" }}
        ai_admin_id = "42"
    """))  # fmt: skip
    guide = tmp_path / "returns.md"
    guide.write_text(GUIDE)
    added = run(path, "knowledge", "add", str(guide))
    assert added.exit_code == 0, added.output
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], env=ENV)


def test_without_the_plugin_the_question_is_answered(config: Path) -> None:
    result = run(config, "ask", QUESTION)

    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("would answer")


def test_a_plugins_escalation_reason_shows_in_ask(
    config: Path, install_dist: Callable[[str, str, str], None]
) -> None:
    install_dist("returns_desk", "returns_desk_plugin", RETURNS_DESK)

    result = run(config, "ask", QUESTION)

    assert result.exit_code == 0, result.output
    assert "Send the parcel back within 30 days" in result.output
    assert "would hand off:" in result.output
    assert "  - returns_desk: parcels are handled by the returns desk" in result.output


def test_a_plugins_escalation_reason_shows_in_ask_json(
    config: Path, install_dist: Callable[[str, str, str], None]
) -> None:
    install_dist("returns_desk", "returns_desk_plugin", RETURNS_DESK)

    result = run(config, "ask", "--json", QUESTION)

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["escalates"] is True
    assert data["reasons"] == [
        {"code": "returns_desk", "detail": "parcels are handled by the returns desk"}
    ]
    assert data["hits"][0]["title"] == "Returns"
